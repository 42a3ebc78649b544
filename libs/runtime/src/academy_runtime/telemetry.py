"""OpenTelemetry: one tracer provider a process, W3C trace context across HTTP and AMQP.

FastAPI emits its own server spans once a global tracer provider exists, so HTTP servers need no
extra instrumentation here (adding one would duplicate every span). Outgoing HTTP calls and AMQP
messages carry `traceparent` through the helpers below.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_configured: dict[str, TracerProvider] = {}


def configure_tracing(service: str, otlp_endpoint: str = "") -> TracerProvider:
    """Install the global tracer provider once; export over OTLP/HTTP when an endpoint is set."""
    if "provider" in _configured:
        return _configured["provider"]
    provider = TracerProvider(resource=Resource.create({"service.name": f"beauty-academy-{service}"}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{otlp_endpoint.rstrip('/')}/v1/traces"))
        )
    trace.set_tracer_provider(provider)
    _configured["provider"] = provider
    return provider


def shutdown_tracing() -> None:
    provider = _configured.pop("provider", None)
    if provider is not None:
        provider.shutdown()


def tracer(name: str = "academy") -> trace.Tracer:
    return trace.get_tracer(name)


def inject_headers(carrier: MutableMapping[str, Any] | None = None) -> MutableMapping[str, Any]:
    """Write the current trace context (`traceparent`, `tracestate`) into headers."""
    carrier = {} if carrier is None else carrier
    propagate.inject(carrier)
    return carrier


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def extract_context(headers: Mapping[str, Any] | None) -> otel_context.Context:
    carrier = {str(k): str(v) for k, v in (headers or {}).items() if isinstance(v, str | bytes)}
    return propagate.extract(carrier)
