"""Answers from memory ahead of FastAPI's routing (`academy_runtime.fast_answers`, issue 11): given only
when the endpoint would give the same, with the caller, the parameters and the rate limit checked as the
endpoint checks them, and counted in the request metrics under the route's template."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

import httpx
import pytest
from academy_runtime import metrics
from academy_runtime.auth import Caller, accepts, dev_signing_key, issue_service_token
from academy_runtime.fast_answers import FastAnswer
from academy_runtime.http import create_app
from academy_runtime.resources import Resources
from academy_runtime.settings import ServiceSettings
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import TypeAdapter, ValidationError

from .conftest import test_service
from .test_rate_limits import AUDIENCE, bearer, operator_token, redis_only_settings, service_token

Shelf = Annotated[int, Query(ge=1, le=5)]
_SHELF: TypeAdapter[int] = TypeAdapter(Shelf)


@dataclass
class Memory:
    """What the endpoint answered, by shelf, and how often each path answered."""

    answers: dict[int, bytes] = field(default_factory=dict)
    endpoint_calls: int = 0
    fast_calls: int = 0


MEMORY = Memory()
router = APIRouter()


@router.get("/internal/shelves")
async def read_shelf(
    caller: Annotated[Caller, accepts("gateway-bot", roles=("support",))], shelf: Shelf = 1
) -> Response:
    MEMORY.endpoint_calls += 1
    body = MEMORY.answers.setdefault(shelf, f'{{"shelf": {shelf}, "serial": {secrets.randbelow(10**9)}}}'.encode())
    return Response(body, media_type="application/json", headers={"cache-control": "max-age=2"})


def read_shelf_from_memory(request: Request) -> Response | None:
    MEMORY.fast_calls += 1
    try:
        shelf = _SHELF.validate_python(request.query_params.get("shelf", 1))
    except ValidationError:
        return None
    body = MEMORY.answers.get(shelf)
    return (
        None if body is None else Response(body, media_type="application/json", headers={"cache-control": "max-age=2"})
    )


@router.get("/internal/shelves/{shelf_id}")
async def read_shelf_by_id(
    _: Annotated[Caller, accepts("gateway-bot")], shelf_id: Annotated[int, Path()]
) -> dict[str, int]:
    return {"shelf": shelf_id}


@router.get("/open")
async def open_endpoint() -> dict[str, bool]:
    return {"ok": True}


@pytest.fixture(autouse=True)
def memory() -> Memory:
    MEMORY.answers.clear()
    MEMORY.endpoint_calls = MEMORY.fast_calls = 0
    return MEMORY


@pytest.fixture
def settings() -> ServiceSettings:
    """As test_rate_limits' (no database, development keys), with room for every test's requests."""
    return redis_only_settings(rate_limit_service="1000/second")


@asynccontextmanager
async def client_of(settings: ServiceSettings, *, fast: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    answers = [FastAnswer(read_shelf, read_shelf_from_memory)] if fast else []
    resources = Resources.open(settings)
    try:
        app = create_app(replace(test_service, name=AUDIENCE, routers=[router], fast_answers=answers), settings)
        app.state.resources = resources
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://fa") as client:
            yield client
    finally:
        await resources.close()


GATEWAY = service_token("gateway-bot")


async def test_an_answer_held_in_memory_is_given_without_the_endpoint(settings: ServiceSettings, memory: Memory):
    async with client_of(settings) as client:
        first = await client.get("/internal/shelves?shelf=2", headers=bearer(GATEWAY))
        assert memory.endpoint_calls == 1  # nothing held yet: the endpoint answered
        again = [await client.get("/internal/shelves?shelf=2", headers=bearer(GATEWAY)) for _ in range(3)]
    assert memory.endpoint_calls == 1
    for answer in again:
        assert answer.status_code == 200
        assert answer.content == first.content
        assert answer.headers["content-type"] == first.headers["content-type"] == "application/json"
        assert answer.headers["cache-control"] == "max-age=2"


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        pytest.param("?shelf=2", {}, id="no token"),
        pytest.param("?shelf=2", bearer("not.a.token"), id="a forged token"),
        pytest.param(
            "?shelf=2",
            bearer(service_token("billing")),
            id="a service the endpoint does not admit",
        ),
        pytest.param(
            "?shelf=2",
            bearer(issue_service_token(dev_signing_key("gateway-bot"), caller="gateway-bot", audience="users")),
            id="a token for another service",
        ),
        pytest.param(
            "?shelf=2",
            bearer(operator_token("eve", "finance")),
            id="an operator without the role",
        ),
        pytest.param("?shelf=2&shelf=2", bearer(GATEWAY), id="a parameter given twice"),
        pytest.param("?shelf=2%00", bearer(GATEWAY), id="a NUL in the query"),
        pytest.param("?shelf=2&note=%00", bearer(GATEWAY), id="a NUL in another parameter"),
        pytest.param("?shelf=0", bearer(GATEWAY), id="a value out of range"),
        pytest.param("?shelf=two", bearer(GATEWAY), id="a value of the wrong type"),
        pytest.param("?shelf=02", bearer(GATEWAY), id="a value written otherwise"),
        pytest.param("?shelf=2&other=1", bearer(GATEWAY), id="an unknown parameter"),
        pytest.param(
            "?shelf=2",
            bearer(operator_token("sam", "support")),
            id="an admitted operator",
        ),
    ],
)
async def test_every_request_is_answered_as_the_endpoint_answers_it(
    settings: ServiceSettings, memory: Memory, query: str, headers: dict[str, str]
):
    """Whatever the fast path checks or skips, the answer is the endpoint's: the same request to the same
    app without the fast answer gets the same status and body."""
    async with client_of(settings) as client:
        await client.get("/internal/shelves?shelf=2", headers=bearer(GATEWAY))  # now held in memory
        fast = await client.get(f"/internal/shelves{query}", headers=headers)
    async with client_of(settings, fast=False) as client:
        endpoint = await client.get(f"/internal/shelves{query}", headers=headers)
    assert (fast.status_code, fast.json()) == (endpoint.status_code, endpoint.json())
    assert fast.headers.get("www-authenticate") == endpoint.headers.get("www-authenticate")


async def test_the_rate_limit_counts_fast_answers_once_each(settings: ServiceSettings, memory: Memory):
    run = settings.model_copy(update={"rate_limit_service": "5/minute"})
    async with client_of(run) as client:
        answers = [await client.get("/internal/shelves", headers=bearer(GATEWAY)) for _ in range(7)]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    assert memory.endpoint_calls == 1  # the first; four fast answers, then two refusals by the router's path
    refused = answers[-1]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Remaining"] == "0"


async def test_fast_answers_are_counted_under_the_routes_template(settings: ServiceSettings, memory: Memory):
    def answered() -> float:
        sample: Any = metrics.HTTP_REQUESTS.labels(AUDIENCE, "GET", "/internal/shelves", "200")
        return float(sample._value.get())

    before = answered()
    async with client_of(settings) as client:
        for _ in range(4):
            assert (await client.get("/internal/shelves?shelf=3", headers=bearer(GATEWAY))).status_code == 200
    assert memory.fast_calls == 4
    assert memory.endpoint_calls == 1
    assert answered() - before == 4


async def test_other_routes_and_methods_never_reach_the_fast_answer(settings: ServiceSettings, memory: Memory):
    async with client_of(settings) as client:
        await client.get("/internal/shelves?shelf=1", headers=bearer(GATEWAY))
        assert (await client.get("/internal/shelves/1", headers=bearer(GATEWAY))).json() == {"shelf": 1}
        assert (await client.post("/internal/shelves?shelf=1", headers=bearer(GATEWAY))).status_code == 405
        assert (await client.get("/open")).json() == {"ok": True}
    assert memory.fast_calls == 1  # the first request's, which found nothing held


@pytest.mark.parametrize(
    ("endpoint", "problem"),
    [(read_shelf_by_id, "path parameters"), (open_endpoint, "declares no callers")],
)
def test_a_fast_answer_a_route_cannot_have_fails_when_the_app_is_made(
    settings: ServiceSettings, endpoint: Any, problem: str
):
    service = replace(test_service, routers=[router], fast_answers=[FastAnswer(endpoint, lambda request: None)])
    with pytest.raises(ValueError, match=problem):
        create_app(service, settings)
