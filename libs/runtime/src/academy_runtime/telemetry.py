"""OpenTelemetry: one tracer provider a process, W3C trace context across HTTP and AMQP.

Where spans come from, one trace from a Telegram update to the last notification it causes (issue 12):
- the gateway's update span (`academy_gateway_bot.middlewares.update_span`), a root in long polling and the
  child of the webhook request's server span;
- one server span per HTTP request (`academy_runtime.http.RequestTelemetryMiddleware`, continuing the
  caller's `traceparent`). FastAPI (0.16x) would trace requests itself once a tracer provider exists; the app
  factory turns that off, so a request has one server span, not two;
- one client span per ServiceClient call (`academy_runtime.client`), whose `traceparent` header the callee
  continues (`inject_headers`);
- events written to the outbox keep the `traceparent` current when they were published
  (`academy_runtime.messaging`, `current_traceparent`), so the relay's message carries the request's
  trace, and a consumer's span continues it (`academy_runtime.consumer`, `extract_context`).
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
    """Flush and stop the process's tracer provider (the exporter's queue is sent); a no-op without one."""
    provider = _configured.pop("provider", None)
    if provider is not None:
        provider.shutdown()


def tracer(name: str = "academy") -> trace.Tracer:
    """A tracer of the global provider, named for the instrumenting module (`academy.consumer`...)."""
    return trace.get_tracer(name)


def inject_headers(carrier: MutableMapping[str, Any] | None = None) -> MutableMapping[str, Any]:
    """Write the current trace context (`traceparent`, `tracestate`) into headers."""
    carrier = {} if carrier is None else carrier
    propagate.inject(carrier)
    return carrier


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the current span (`00-<trace id>-<span id>-<flags>`), None outside any span."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def extract_context(headers: Mapping[str, Any] | None) -> otel_context.Context:
    """The trace context that `headers` (HTTP or AMQP; values of other types than text are ignored) carry,
    to start a span as its child; an empty context when they carry none."""
    carrier = {str(k): str(v) for k, v in (headers or {}).items() if isinstance(v, str | bytes)}
    return propagate.extract(carrier)
