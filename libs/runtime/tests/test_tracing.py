"""Every request of every service is traced with one server span, which continues the caller's trace, and
counted in the request metrics by its route template."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import pytest
from academy_runtime.errors import NotFoundError
from academy_runtime.settings import ServiceSettings
from academy_runtime.telemetry import configure_tracing, tracer
from fastapi import APIRouter, Depends
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import REGISTRY

from .conftest import serving

router = APIRouter(prefix="/traced")


async def _a_dependency() -> int:
    return 1


@router.get("/{name}")
async def traced(name: str, one: Annotated[int, Depends(_a_dependency)]) -> dict[str, str]:
    with tracer("rt-test").start_as_current_span("inside the handler"):
        if name == "missing":
            raise NotFoundError("no such name")
        if name == "broken":
            raise RuntimeError("a bug")
        return {"name": name}


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    configure_tracing("rt-test").add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # the provider is the process's: the processor stays, and records nothing more


def _server_span(spans: InMemorySpanExporter):
    servers = [span for span in spans.get_finished_spans() if span.kind == SpanKind.SERVER]
    assert len(servers) == 1, [span.name for span in servers]
    return servers[0]


def _requests(route: str, status: str) -> float:
    labels = {"service": "rt-test", "method": "GET", "route": route, "status": status}
    return REGISTRY.get_sample_value("academy_http_requests_total", labels) or 0.0


async def test_one_server_span_per_request_continuing_the_callers_trace(spans):
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    counted = _requests("/traced/{name}", "200")
    async with serving(router, settings=ServiceSettings(_env_file=None, service_name="rt-test")) as client:
        response = await client.get("/traced/x?q=1", headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    assert response.status_code == 200

    server = _server_span(spans)
    assert server.name == "GET /traced/{name}"
    assert format(server.context.trace_id, "032x") == trace_id
    assert server.parent is not None
    assert format(server.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert dict(server.attributes or {}) == {
        "http.request.method": "GET",
        "url.scheme": "http",
        "url.path": "/traced/x",
        "network.protocol.version": "1.1",
        "http.route": "/traced/{name}",
        "http.response.status_code": 200,
    }
    assert server.status.status_code == StatusCode.UNSET
    # No spans of FastAPI's own for dependencies, the endpoint or serialisation: only the handler's,
    # a child of the server span.
    others = [span for span in spans.get_finished_spans() if span is not server]
    assert [span.name for span in others] == ["inside the handler"]
    assert others[0].parent is not None
    assert others[0].parent.span_id == server.context.span_id
    assert _requests("/traced/{name}", "200") == counted + 1


async def test_without_a_traceparent_a_request_starts_a_trace(spans):
    async with serving(router, settings=ServiceSettings(_env_file=None)) as client:
        await client.get("/traced/x")
    server = _server_span(spans)
    assert server.parent is None
    assert server.context.is_valid


async def test_a_refusal_is_no_error_and_a_failure_is(spans):
    async with serving(router, settings=ServiceSettings(_env_file=None)) as client:
        assert (await client.get("/traced/missing")).status_code == 404
        refused = _server_span(spans)
        spans.clear()
        assert (await client.get("/traced/broken")).status_code == 500
        failed = _server_span(spans)

    assert refused.attributes is not None
    assert refused.attributes["http.response.status_code"] == 404
    assert refused.status.status_code == StatusCode.UNSET
    assert failed.attributes is not None
    assert failed.attributes["http.response.status_code"] == 500
    assert failed.attributes["error.type"] == "RuntimeError"
    assert failed.status.status_code == StatusCode.ERROR


async def test_an_unknown_path_is_traced_without_a_route(spans):
    async with serving(router, settings=ServiceSettings(_env_file=None)) as client:
        assert (await client.get("/nowhere")).status_code == 404
    server = _server_span(spans)
    assert server.name == "GET"
    assert server.attributes is not None
    assert "http.route" not in server.attributes


async def test_health_probes_are_not_traced(spans):
    async with serving(router, settings=ServiceSettings(_env_file=None)) as client:
        await client.get("/healthz")
    assert spans.get_finished_spans() == ()
