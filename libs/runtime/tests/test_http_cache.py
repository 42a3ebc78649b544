"""A caller's private cache of GET answers (`academy_runtime.http_cache`): kept as long as the callee says,
through a ServiceClient talking to a real callee over a socket."""

from collections import Counter
from collections.abc import AsyncIterator

import pytest
from academy_runtime.auth import TokenCache
from academy_runtime.client import ServiceClient
from academy_runtime.errors import NotFoundError
from academy_runtime.http_cache import ResponseCache, freshness_lifetime
from academy_runtime.metrics import SERVICE_CLIENT_CACHE
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from .conftest import RuntimeTestSettings
from .helpers import under_uvicorn


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _callee(asked: Counter[str]) -> FastAPI:
    """Answers `/doc?cc=<Cache-Control>` with that header (none when `cc` is empty) and counts each request
    by its query parameters (decoded, sorted)."""
    app = FastAPI()

    @app.get("/doc")
    async def doc(request: Request) -> Response:
        query = "&".join(f"{name}={value}" for name, value in sorted(request.query_params.items()))
        asked[query] += 1
        cc = request.query_params.get("cc", "")
        return JSONResponse({"n": asked[query], "items": [1, 2]}, headers={"cache-control": cc} if cc else None)

    @app.get("/gone")
    async def gone() -> Response:
        asked["gone"] += 1
        return JSONResponse(
            {"error": {"code": "not_found", "message": "no"}}, status_code=404, headers={"cache-control": "max-age=60"}
        )

    @app.post("/doc")
    async def post_doc() -> Response:
        asked["post"] += 1
        return JSONResponse({"n": asked["post"]}, headers={"cache-control": "max-age=60"})

    return app


@pytest.fixture
async def client() -> AsyncIterator[tuple[ServiceClient, Counter[str], Clock]]:
    asked: Counter[str] = Counter()
    clock = Clock()
    async with under_uvicorn(_callee(asked)) as port:
        tokens = TokenCache.from_settings(RuntimeTestSettings(_env_file=None))
        cache = ResponseCache(clock=clock, max_entries=3, max_age_s=30)
        service = ServiceClient("callee", f"http://127.0.0.1:{port}", tokens, cache=cache)
        try:
            yield service, asked, clock
        finally:
            await service.aclose()


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("max-age=2", 2.0),
        ("public, MAX-AGE=5", 5.0),
        ('max-age="7"', 7.0),
        ("max-age=0", 0.0),
        ("private, max-age=3", 3.0),  # a private cache may keep a private answer
        ("no-store, max-age=5", None),
        ("max-age=5, no-cache", None),
        ("max-age=soon", None),
        ("must-revalidate", None),
        ("", None),
    ],
)
def test_the_freshness_lifetime_is_the_callees_max_age_unless_it_forbids_keeping_the_answer(
    header: str, seconds: float | None
) -> None:
    assert freshness_lifetime(header) == seconds


async def test_an_answer_the_callee_lets_callers_keep_is_served_from_memory_until_it_is_stale(client) -> None:
    service, asked, clock = client
    hits = SERVICE_CLIENT_CACHE.labels("rt-test", "callee", "hit")
    hits_before = hits._value.get()

    first = await service.get("/doc", params={"cc": "max-age=2"})
    first["items"].append(3)  # what a caller does with its copy is its own business
    clock.now += 1.9
    second = await service.get("/doc", params={"cc": "max-age=2"})
    clock.now += 0.2
    third = await service.get("/doc", params={"cc": "max-age=2"})

    assert asked["cc=max-age=2"] == 2
    assert second == {"n": 1, "items": [1, 2]}
    assert third == {"n": 2, "items": [1, 2]}
    assert hits._value.get() == hits_before + 1


async def test_answers_the_callee_does_not_let_callers_keep_are_asked_for_every_time(client) -> None:
    service, asked, _ = client

    for _ in range(2):
        await service.get("/doc", params={"cc": "no-store, max-age=60"})
        await service.get("/doc", params={"cc": "max-age=0"})
        await service.get("/doc")  # no Cache-Control
        with pytest.raises(NotFoundError):
            await service.get("/gone")  # an error, whatever its header
        await service.post("/doc")  # not a GET

    assert asked["cc=no-store, max-age=60"] == 2
    assert asked["cc=max-age=0"] == 2
    assert asked[""] == 2
    assert asked["gone"] == 2
    assert asked["post"] == 2


async def test_answers_are_kept_by_path_and_parameters_in_any_order_and_the_least_used_goes_first(client) -> None:
    service, asked, _ = client

    await service.get("/doc", params={"cc": "max-age=9", "page": 1, "size": 5})
    await service.get("/doc", params={"size": 5, "page": 1, "cc": "max-age=9"})  # the same answer
    await service.get("/doc", params={"cc": "max-age=9", "page": 2})
    await service.get("/doc", params={"cc": "max-age=9", "page": 3})
    await service.get("/doc", params={"cc": "max-age=9", "page": 1, "size": 5})  # used again: kept
    await service.get("/doc", params={"cc": "max-age=9", "page": 4})  # the fourth: page 2 goes
    await service.get("/doc", params={"cc": "max-age=9", "page": 2})

    assert asked["cc=max-age=9&page=1&size=5"] == 1
    assert asked["cc=max-age=9&page=2"] == 2
    assert asked["cc=max-age=9&page=3"] == 1


async def test_a_call_with_headers_of_its_own_is_never_answered_from_memory(client) -> None:
    service, asked, _ = client

    await service.get("/doc", params={"cc": "max-age=9"})
    await service.get("/doc", params={"cc": "max-age=9"}, headers={"x-audit-reason": "check"})

    assert asked["cc=max-age=9"] == 2


async def test_a_cache_keeps_an_answer_no_longer_than_its_own_bound(client) -> None:
    service, asked, clock = client

    await service.get("/doc", params={"cc": "max-age=3600"})
    clock.now += 31  # the cache's max_age_s is 30
    await service.get("/doc", params={"cc": "max-age=3600"})

    assert asked["cc=max-age=3600"] == 2
