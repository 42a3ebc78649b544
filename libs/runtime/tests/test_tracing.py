"""Every request of every service is traced with one server span, which continues the caller's trace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import pytest
from academy_runtime.settings import ServiceSettings
from academy_runtime.telemetry import configure_tracing, tracer
from fastapi import APIRouter, Depends
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from .conftest import serving

router = APIRouter()


async def _a_dependency() -> int:
    return 1


@router.get("/traced/{name}")
async def traced(name: str, one: Annotated[int, Depends(_a_dependency)]) -> dict[str, str]:
    with tracer("rt-test").start_as_current_span("inside the handler"):
        return {"name": name}


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    configure_tracing("rt-test").add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # the provider is the process's: the processor stays, and records nothing more


async def test_one_server_span_per_request_continuing_the_callers_trace(spans):
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    async with serving(router, settings=ServiceSettings(_env_file=None)) as client:
        response = await client.get("/traced/x", headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    assert response.status_code == 200

    finished = spans.get_finished_spans()
    servers = [span for span in finished if span.kind == SpanKind.SERVER]
    assert [span.name for span in servers] == ["GET /traced/{name}"]
    (server,) = servers
    assert format(server.context.trace_id, "032x") == trace_id
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/traced/{name}"
    assert server.attributes["http.response.status_code"] == 200
    # No spans of FastAPI's own for dependencies, the endpoint or serialisation: only the handler's.
    assert sorted(span.name for span in finished if span is not server) == ["inside the handler"]
    (inner,) = (span for span in finished if span is not server)
    assert inner.parent is not None
    assert inner.parent.span_id == server.context.span_id


async def test_health_probes_are_not_traced(spans):
    async with serving(router, settings=ServiceSettings(_env_file=None)) as client:
        await client.get("/healthz")
    assert spans.get_finished_spans() == ()
