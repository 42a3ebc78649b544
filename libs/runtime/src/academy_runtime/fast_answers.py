"""Answers a service already holds in memory, given ahead of FastAPI's routing and dependencies (issue 11).

A cached catalog page costs its process about 0.3 ms of CPU, and the catalog bench's profile put almost
half of it in FastAPI's routing and dependency resolution (the app-wide checks, the route's callers, its
query parameters validated one by one) for an answer that is a dict lookup. A `FastAnswer` names an
endpoint and a function that may answer its GET requests from memory; `FastAnswerMiddleware`, which the
app factory installs when a service declares one, calls it before the router, and the router answers
whenever the function does not.

Nothing the endpoint checks is skipped. Before the function is asked, the request must pass, in this
order, what the endpoint's own path would check, with the same code:
- the app-wide input checks (`academy_runtime.http.refuse_malformed_input`: no U+0000 in the path or the
  query, no parameter that takes one value given twice);
- the route's callers (`academy_runtime.auth.Callers`, found in the route's dependencies): a valid token
  of an admitted caller, with `request.state.caller` and `caller_identity` set as the dependency sets them;
and after the function answers, the caller's rate limit is counted (`enforce_rate_limit`, as the
app-wide dependency counts it). Any failure, and any answer the function does not give, goes to the
router unchanged, which answers it (401, 403, 422, 429...) the way it always does: this path never
refuses anything itself, so it cannot answer differently from the endpoint; it can only answer sooner.
A request refused by the rate limit here was not counted (`limits` counts admitted hits only), so the
router's count of it is its only one.

The function gets the request (its `query_params`, `app.state.resources`) and returns a `Response`, or
None to leave the request to the endpoint. It must answer only what the endpoint would answer for the
same request, byte for byte: in practice, an answer the endpoint itself stored under a key made from
its validated parameters, and only for parameters written the way the endpoint's validation would have
produced them (see the catalog's `courses.endpoints.list_courses_from_memory`).

The request span and the HTTP metrics (`RequestTelemetryMiddleware`, outside this one) see the route's
template (`scope["route"]` is set to the route), as for any other request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.types import ASGIApp, Receive, Scope, Send

from academy_runtime.auth import Callers, route_callers
from academy_runtime.errors import DomainError
from academy_runtime.ratelimit import RateLimitedError, enforce_rate_limit

AnswerFromMemory = Callable[[Request], Response | None]
"""Reads the answer of a GET request from memory: a Response, or None (the endpoint answers)."""


@dataclass(frozen=True)
class FastAnswer:
    """`answer` may answer the GET requests of the route whose endpoint is `endpoint` (a route without
    path parameters), ahead of FastAPI's routing and dependencies: see the module docstring."""

    endpoint: Callable[..., Any]
    answer: AnswerFromMemory


@dataclass(frozen=True)
class FastRoute:
    """A `FastAnswer` resolved: its route, the callers the route admits, the answering function."""

    route: APIRoute
    callers: Callers
    answer: AnswerFromMemory


def resolve_fast_answers(app: FastAPI, answers: Sequence[FastAnswer]) -> dict[str, FastRoute]:
    """The routes of `answers` by path, for `FastAnswerMiddleware`. The app factory calls it once its routers
    are included, so that a mistake fails at start-up, not at a request. Raises ValueError for an endpoint
    the app does not route by GET, one with path parameters, or one that declares no callers (a public
    endpoint has no use for it)."""
    resolved: dict[str, FastRoute] = {}
    for answer in answers:
        # FastAPI (0.165+) nests included routers: the route contexts carry each route's effective path.
        found = [
            context
            for context in iter_route_contexts(app.routes)
            if context.endpoint is answer.endpoint and "GET" in (context.methods or ())
        ]
        if len(found) != 1 or not isinstance(found[0].original_route, APIRoute) or found[0].path_format is None:
            raise ValueError(f"{answer.endpoint.__qualname__} is not routed once by GET in this app")
        path, route = found[0].path_format, found[0].original_route
        if "{" in path:
            raise ValueError(f"{path} has path parameters: a fast answer is matched by its exact path")
        callers = route_callers(route)
        if callers is None:
            raise ValueError(f"{path} declares no callers")
        resolved[path] = FastRoute(route, callers, answer.answer)
    return resolved


class FastAnswerMiddleware:
    """Gives the `FastAnswer`s' answers before the router (installed by `academy_runtime.http.create_app`,
    inside the request telemetry and the body limit). See the module docstring."""

    def __init__(
        self, app: ASGIApp, routes: dict[str, FastRoute], checks: Callable[[Request], Awaitable[None]]
    ) -> None:
        self.app = app
        self._routes = routes
        self._checks = checks
        """The app-wide input checks (`academy_runtime.http.refuse_malformed_input`): DomainError to refuse."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            entry = self._routes.get(scope["path"])
            if entry is not None:
                response = await self._answer(Request(scope, receive), entry)
                if response is not None:
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _answer(self, request: Request, entry: FastRoute) -> Response | None:
        # What the router sets: the span, the metrics, the rate limit and the repeated-parameter check read it.
        request.scope["route"] = entry.route
        try:
            await self._checks(request)  # the app's input checks: NUL characters, a parameter given twice
            await entry.callers(request)
        except DomainError:
            return None  # 422 / 401 / 403, rendered by the router's path
        response = entry.answer(request)
        if response is None:
            return None
        try:
            await enforce_rate_limit(request)
        except RateLimitedError:
            return None  # 429 with its headers, rendered (and counted) by the router's path
        return response
