"""The FastAPI app factory: lifespan-owned resources, health, metrics, errors, tracing."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Mapping, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security.base import SecurityBase
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from academy_runtime import metrics
from academy_runtime.bodylimit import BodySizeLimitMiddleware, route_body_limit
from academy_runtime.dlq_api import dead_letters_router
from academy_runtime.errors import ErrorBody, ValidationFailedError, error_responses, install_error_handlers
from academy_runtime.fast_answers import FastAnswerMiddleware, resolve_fast_answers
from academy_runtime.gc_tuning import tune_garbage_collector
from academy_runtime.health import router as health_router
from academy_runtime.logs import configure_logging
from academy_runtime.ratelimit import enforce_rate_limit, install_rate_limits
from academy_runtime.service import ServiceDefinition
from academy_runtime.settings import ServiceSettings
from academy_runtime.telemetry import configure_tracing

log = logging.getLogger(__name__)

_UNTRACED = frozenset({"/healthz", "/readyz", "/metrics"})
"""Operational paths: neither traced nor counted in the request metrics."""


def _is_operational(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in _UNTRACED


class _RawHeaderGetter(Getter[list[tuple[bytes, bytes]]]):
    """Reads propagation headers (`traceparent`, `tracestate`, `baggage`...) from an ASGI scope's raw
    header list, without building a `Headers` for them."""

    def get(self, carrier: list[tuple[bytes, bytes]], key: str) -> list[str] | None:
        name = key.lower().encode("latin-1")
        values = [value.decode("latin-1") for header, value in carrier if header == name]
        if not values:
            return None
        # The baggage propagator reads only the first value.
        return [",".join(values)] if name == b"baggage" else values

    def keys(self, carrier: list[tuple[bytes, bytes]]) -> list[str]:
        return [header.decode("latin-1") for header, _ in carrier]


_HEADER_GETTER = _RawHeaderGetter()
_SERVER_ERROR = 500


class RequestTelemetryMiddleware:
    """One server span per request, and the request metrics, by route template (not the raw path, which
    would explode cardinality). Operational paths (`_UNTRACED`) get neither.

    The span continues the caller's trace (W3C trace context and baggage, through the global propagator),
    is current while the app handles the request (the handler's spans are its children, logs carry its
    ids, outgoing calls propagate it), and is named and attributed as OpenTelemetry's HTTP server spans
    are: `GET /internal/courses/{course_id}`, `http.request.method`, `url.scheme`, `url.path`,
    `network.protocol.version`, `http.route`, `http.response.status_code`, and `error.type` with an
    error status for a 5xx or an exception. The query string is not recorded.

    It replaces FastAPI's native request tracing (disabled in `create_app`), which cost a cached catalog
    read about 130 us of CPU for the same span: its own ASGI layers, the query string parsed and
    re-encoded, the authority parsed, attributes set and cleaned twice.
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        self.tracer = trace.get_tracer("academy_runtime.http")
        self._counters: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _UNTRACED:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method: str = scope["method"]
        parent = propagate.extract(scope["headers"], getter=_HEADER_GETTER)
        span = self.tracer.start_span(
            method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "url.scheme": scope.get("scheme", "http"),
                "url.path": scope["path"],
                "network.protocol.version": scope.get("http_version", "1.1"),
            },
        )
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        status = 500
        error: BaseException | None = None

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException as exc:
            error = exc
            raise
        finally:
            template = getattr(scope.get("route"), "path", None)
            self._record(method, template or "unmatched", status, time.perf_counter() - started)
            attributes: dict[str, Any] = {"http.response.status_code": status}
            if template is not None:
                attributes["http.route"] = template
                span.update_name(f"{method} {template}")
            if error is not None or status >= _SERVER_ERROR:
                attributes["error.type"] = type(error).__qualname__ if error is not None else str(status)
                span.set_status(StatusCode.ERROR)
            span.set_attributes(attributes)
            span.end()
            otel_context.detach(token)

    def _record(self, method: str, template: str, status: int, seconds: float) -> None:
        key = (method, template, str(status))
        counters = self._counters.get(key)
        if counters is None:
            counters = self._counters[key] = (
                metrics.HTTP_REQUESTS.labels(self.service, method, template, key[2]),
                metrics.HTTP_LATENCY.labels(self.service, method, template),
            )
        counters[0].inc()
        counters[1].observe(seconds)


# JSON's escape of U+0000 (a raw NUL byte is not valid JSON and fails parsing already).
_JSON_NUL = re.compile(rb"\\u0000", re.IGNORECASE)
# JSON's escape of a UTF-16 surrogate: a pair is one character, a lone one is no character at all.
_JSON_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _has_lone_surrogate(value: object) -> bool:
    """Whether a parsed JSON value holds a string with an unpaired surrogate (U+D800..U+DFFF)."""
    if isinstance(value, str):
        return any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _read_as_json(content_type: str | None) -> bool:
    """Whether FastAPI reads a body of this Content-Type as JSON: none given, `application/json` or
    `application/*+json`. Any other body (an image upload's bytes) is not text, and is not looked into."""
    if not content_type:
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


async def refuse_nul_characters(request: Request) -> None:
    """Refuse U+0000 anywhere in a request's path, query or JSON body, and an unpaired UTF-16 surrogate
    escape in a JSON body, with 422. A body of another media type (raw image bytes, which may hold the
    six bytes of a `\\u0000` escape by chance) is left to its endpoint.

    PostgreSQL's text types cannot store it (`invalid byte sequence for encoding "UTF8": 0x00`), so a
    NUL that reached a query would fail as a 500 after the work had begun; refusing it here, for every
    endpoint of every service, answers before anything is done. Raises ValidationFailedError.
    """
    if "\x00" in request.url.path or any("\x00" in value for value in request.query_params.values()):
        raise ValidationFailedError("the request contains the NUL character (U+0000), which text cannot hold")
    if request.method not in _BODY_METHODS or not _read_as_json(request.headers.get("content-type")):
        return
    body = await request.body()
    if _JSON_NUL.search(body):
        raise ValidationFailedError("the body contains the NUL character (\\u0000), which text cannot hold")
    if _JSON_SURROGATE.search(body):
        # `"\ud800"` is valid JSON but no text: UTF-8 (and PostgreSQL) cannot encode it. A pair of
        # escapes (an emoji written as `"\ud83d\ude00"`) is one character and passes.
        with contextlib.suppress(ValueError):
            if _has_lone_surrogate(json.loads(body)):
                raise ValidationFailedError(
                    "the body contains an unpaired UTF-16 surrogate escape (\\ud800-\\udfff), which is not text"
                )


def _takes_many(schema: Mapping[str, Any]) -> bool:
    """Whether a parameter's JSON Schema admits an array (`type: array`, or one in `anyOf`/`oneOf`)."""
    if schema.get("type") == "array":
        return True
    return any(_takes_many(option) for key in ("anyOf", "oneOf") for option in schema.get(key, ()))


def _single_value_query_parameters(app: FastAPI, route: APIRoute, method: str) -> frozenset[str]:
    """The query parameters of `route` that take one value, as the app's OpenAPI document describes them
    (cached on the app per route and method)."""
    cache: dict[tuple[str, str], frozenset[str]] | None = getattr(app.state, "single_value_query", None)
    if cache is None:
        cache = app.state.single_value_query = {}
    key = (route.path_format, method)
    names = cache.get(key)
    if names is None:
        try:
            document = app.openapi()
        except Exception:  # an app whose document cannot be built: the rule stands aside, nothing fails
            log.warning("no OpenAPI document: repeated query parameters are not checked", exc_info=True)
            document = {}
        operation = document.get("paths", {}).get(route.path_format, {}).get(method.lower(), {})
        names = frozenset(
            parameter["name"]
            for parameter in operation.get("parameters", ())
            if parameter.get("in") == "query" and not _takes_many(parameter.get("schema", {}))
        )
        cache[key] = names
    return names


def refuse_repeated_query_parameters(request: Request) -> None:
    """Refuse with 422 a query that repeats a parameter taking one value (`?city=A&city=B`): FastAPI
    would keep the last and drop the others without a word, answering for a request the client did not
    make. A parameter declared as a list may repeat. Raises ValidationFailedError."""
    query = request.query_params
    if len(query) == len(query.multi_items()):  # no name twice: the usual request costs this comparison
        return
    route = request.scope.get("route")
    app = request.scope.get("app")
    if not isinstance(route, APIRoute) or not isinstance(app, FastAPI):
        return
    for name in sorted(_single_value_query_parameters(app, route, request.method)):
        given = len(query.getlist(name))
        if given > 1:
            raise ValidationFailedError(f"the query parameter {name!r} takes one value, and was given {given}")


async def refuse_malformed_input(request: Request) -> None:
    """`refuse_nul_characters` and `refuse_repeated_query_parameters`: the app-wide checks of a request's
    input (ValidationFailedError), also run by the fast answers (`academy_runtime.fast_answers`)."""
    await refuse_nul_characters(request)
    refuse_repeated_query_parameters(request)


async def _request_checks(request: Request) -> None:
    """The app-wide checks of every request, in one dependency (FastAPI's resolution of each dependency
    costs as much as a cheap check itself): the rate limit first (a refused request costs one Redis round
    trip and nothing else), then `refuse_malformed_input`."""
    await enforce_rate_limit(request)
    await refuse_malformed_input(request)


_SECURITY_SCHEME = "ServiceToken"
_AUTH_MODULE = "academy_runtime.auth"


def _is_authenticated(dependant: Dependant) -> bool:
    """Whether a route's dependency tree checks a token: a dependency of `academy_runtime.auth` (the
    service caller and the caller lists built on it) or any FastAPI security scheme."""
    for sub in dependant.dependencies:
        call = sub.call
        if isinstance(call, SecurityBase) or getattr(call, "__module__", None) == _AUTH_MODULE:
            return True
        if _is_authenticated(sub):
            return True
    return False


def _error_schemas() -> dict[str, Any]:
    """ErrorBody and the models it refers to, as OpenAPI components."""
    schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components: dict[str, Any] = schema.pop("$defs", {})
    components[ErrorBody.__name__] = schema
    return components


def document_errors(app: FastAPI, openapi: dict[str, Any]) -> dict[str, Any]:
    """Make an app's OpenAPI document tell the answers every route really gives besides its own.

    - 422 in the house error shape (`ErrorBody`), never FastAPI's `HTTPValidationError`: the handler
      in errors.py renders every validation failure, and `refuse_nul_characters` applies to every route;
    - on every route whose dependencies check a service token (anything from `academy_runtime.auth`, or
      a FastAPI security scheme): the bearer security scheme, so `/docs` can authorise, and 401 and 403;
    - on every route that takes a body (a POST, PUT or PATCH, or a documented request body): 413, the
      body limit of `academy_runtime.bodylimit` (MAX_REQUEST_BODY_BYTES, or the route's own `body_limit`).

    Routes add their own 404/409/... with `responses=error_responses(404, 409)`. Returns `openapi`,
    changed in place.
    """
    components = openapi.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(_error_schemas())
    error_ref = {"$ref": f"#/components/schemas/{ErrorBody.__name__}"}
    documented = {
        status: {"description": spec["description"], "content": {"application/json": {"schema": error_ref}}}
        for status, spec in error_responses(401, 403, 413, 422).items()
    }
    # The scheme FastAPI derived from a security dependency, if any; else ours, added below.
    schemes = components.get("securitySchemes") or {}
    scheme = next(iter(schemes), _SECURITY_SCHEME)
    secured = False
    # FastAPI (0.165+) nests included routers; its own route contexts carry each route's effective
    # path and dependencies (the app's and the routers' included).
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        authenticated = _is_authenticated(route.dependant)
        for method in route.methods or ():
            operation = openapi.get("paths", {}).get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            responses["422"] = documented[422]
            if method in _BODY_METHODS or "requestBody" in operation:
                own_limit = route_body_limit(route)
                responses.setdefault(
                    "413",
                    documented[413] if own_limit is None else {**documented[413], "description": own_limit.describe()},
                )
            if authenticated:
                secured = True
                operation.setdefault("security", [{scheme: []}])
                responses.setdefault("401", documented[401])
                responses.setdefault("403", documented[403])
    if secured and not schemes:
        components["securitySchemes"] = {
            _SECURITY_SCHEME: {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "A short-lived token the calling service signs for this service (audience).",
            }
        }
    # FastAPI's own validation models are no longer referred to.
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{unused}" not in json.dumps(openapi):
            schemas.pop(unused, None)
    return openapi


def _install_openapi(app: FastAPI) -> None:
    generate = app.openapi
    documented: list[int] = []  # id of the last document completed (FastAPI rebuilds it when routes change)

    def openapi() -> dict[str, Any]:
        schema = generate()
        if documented[-1:] != [id(schema)]:
            document_errors(app, schema)
            documented[:] = [id(schema)]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(service: ServiceDefinition, settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or service.settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service_name, settings.log_level)
        resources = await service.open_resources(settings)
        for hook in service.on_api_startup:
            await hook(resources)
        app.state.resources = resources
        tune_garbage_collector()
        try:
            yield
        finally:
            await resources.close()

    configure_tracing(settings.service_name, settings.otel_exporter_otlp_endpoint)
    app = FastAPI(
        title=f"Beauty Academy {service.name} service",
        description=service.description,
        version="1.0.0",
        lifespan=lifespan,
        # One server span per request, RequestTelemetryMiddleware's: FastAPI's own request tracing (a
        # server span, plus operation spans for the dependencies, the endpoint and the serialisation)
        # is off, and no other instrumentation may be added (it would double every span).
        telemetry={"exclude": _is_operational, "tracing": False, "metrics": False},
        dependencies=[Depends(_request_checks)],
    )
    install_error_handlers(app)
    app.include_router(health_router)
    for router in service.routers:
        app.include_router(router)
    # Every service's consumers' dead letters, for the operators' console (academy_runtime.dlq_api).
    app.include_router(dead_letters_router([consumer.purpose for consumer in service.consumers]))
    # Ahead of the router and its dependencies, inside everything else (a fast answer is counted, traced
    # and under the body limit like any answer).
    if service.fast_answers:
        app.add_middleware(
            FastAnswerMiddleware, routes=resolve_fast_answers(app, service.fast_answers), checks=refuse_malformed_input
        )
    # Inside the metrics and the span, so that a 413 is counted and traced; outside everything else, so
    # that a body over the limit by its Content-Length is refused before routing, the rate limit or any
    # dependency.
    # A route's own limit (`body_limit`) is found among the app's routes, matched as the router does.
    app.add_middleware(
        BodySizeLimitMiddleware, max_bytes=settings.max_request_body_bytes, routes=app.router.routes, settings=settings
    )
    app.add_middleware(RequestTelemetryMiddleware, service=settings.service_name)
    _install_openapi(app)
    install_rate_limits(app)
    return app
