"""The process's copy of hot answers: served without Redis while the process is subscribed to the
invalidation channel, dropped when it is not, bounded, and invalidated from any process (cache.py)."""

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from academy_catalog.cache import CatalogCache, process_cache
from academy_catalog.models import Course
from academy_catalog.settings import CatalogSettings
from academy_runtime.resources import Resources
from academy_runtime.testing import api_client, cleanup_redis, on_redis_cluster, operator_token, service_token
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from sqlalchemy import update

from .conftest import cache_requests

pytestmark = pytest.mark.integration


def _subscribed() -> float | None:
    return REGISTRY.get_sample_value("academy_catalog_cache_subscribed")


@pytest.fixture
async def cache(resources, api, eventually) -> AsyncIterator[CatalogCache]:
    """The process's cache, subscribed (its first read started the listener), its settings restored after."""
    cache = process_cache(resources)
    saved = cache.local_max_age_s, cache.local_entries
    await api.get("/internal/categories")
    await eventually(lambda: _true(cache.known_generation is not None), timeout=5)
    yield cache
    cache.local_max_age_s, cache.local_entries = saved


async def _true(value: bool) -> bool:
    return value


async def _rename_behind_the_cache(resources, course_id: int, title: str) -> None:
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(update(Course).where(Course.id == course_id).values(title=title))


async def _title(api, course_id: int) -> str:
    response = await api.get(f"/internal/courses/{course_id}")
    assert response.status_code == 200, response.text
    return str(response.json()["title"])


async def test_a_repeated_read_is_served_from_memory_without_any_redis_command(api, new_course, cache, redis_commands):
    course = await new_course(publish=True)
    first = await api.get(f"/internal/courses/{course['id']}")  # loaded, stored in Redis and in memory
    redis_commands.clear()
    local_hits, redis_hits = cache_requests("course", "local_hit"), cache_requests("course", "hit")

    second = await api.get(f"/internal/courses/{course['id']}")

    assert second.status_code == 200
    assert second.content == first.content
    assert redis_commands == []
    assert cache_requests("course", "local_hit") == local_hits + 1  # counted as a local hit...
    assert cache_requests("course", "hit") == redis_hits  # ...not a Redis one
    assert _subscribed() == 1


async def test_an_edit_is_seen_at_once_by_the_process_that_made_it(api, new_course, cache, redis_commands, monkeypatch):
    """Read-your-writes on the replica that made the change, without waiting for its own pub/sub message:
    the message is sent where nobody listens, and the edit still shows on the next read."""
    cache.local_max_age_s = 60.0  # only the invalidation can end the local answer within the test
    course = await new_course(publish=True)
    await api.get(f"/internal/courses/{course['id']}")
    redis_commands.clear()
    assert await _title(api, course["id"]) == course["title"]
    assert redis_commands == []  # served from memory
    monkeypatch.setattr(cache, "invalidated_channel", f"{cache.invalidated_channel}:nobody")

    edited = await api.patch(f"/internal/courses/{course['id']}", json={"title": "Новое название"})

    assert edited.status_code == 200
    assert await _title(api, course["id"]) == "Новое название"


async def test_a_bump_by_another_process_is_heard_through_pub_sub(api, resources, new_course, cache, eventually):
    """Another replica commits a change (simulated: the row renamed in PostgreSQL, then INCR and PUBLISH
    through a client of its own): this process stops serving its copy once the message arrives, long
    before the local max age, and never serves the old answer after that."""
    cache.local_max_age_s = 60.0
    course = await new_course(publish=True)
    await api.get(f"/internal/courses/{course['id']}")
    await _rename_behind_the_cache(resources, course["id"], "Изменено другим процессом")
    assert await _title(api, course["id"]) == course["title"]  # the local copy, as expected until the bump
    other = Redis.from_url(resources.settings.redis_url)
    try:
        generation = await other.incr(cache.generation_key)
        await other.publish(cache.invalidated_channel, generation)

        async def fresh() -> bool:
            return await _title(api, course["id"]) == "Изменено другим процессом"

        await eventually(fresh, timeout=2)
        for _ in range(5):
            assert await _title(api, course["id"]) == "Изменено другим процессом"
    finally:
        await other.aclose()


async def _kill_subscription(resources: Resources, cache: CatalogCache) -> None:
    """CLIENT KILL of this process's pub/sub connection only (by its address: other test runs may share the
    Redis server)."""
    host, port = cache._pubsub.connection._writer.get_extra_info("sockname")[:2]
    assert await resources.redis.execute_command("CLIENT", "KILL", "ADDR", f"{host}:{port}") in (True, b"OK", "OK")


async def test_nothing_is_served_locally_while_not_subscribed(
    api, resources, new_course, cache, redis_commands, eventually, monkeypatch
):
    cache.local_max_age_s = 60.0
    course = await new_course(publish=True)
    await api.get(f"/internal/courses/{course['id']}")
    # The listener cannot subscribe again until the test lets it.
    real_pubsub = resources.redis.pubsub
    unreachable = Redis.from_url("redis://127.0.0.1:1/0")
    monkeypatch.setattr(resources.redis, "pubsub", unreachable.pubsub)
    try:
        await _kill_subscription(resources, cache)
        await eventually(lambda: _true(cache.known_generation is None), timeout=5)
        assert _subscribed() == 0
        redis_commands.clear()

        assert await _title(api, course["id"]) == course["title"]
        assert redis_commands[:1] == ["MGET"]  # the memory no longer answers
        # A change made while nobody could tell this process (no message): seen at once all the same.
        await _rename_behind_the_cache(resources, course["id"], "Пока никто не слушал")
        await resources.redis.incr(cache.generation_key)
        assert await _title(api, course["id"]) == "Пока никто не слушал"
        assert await _title(api, course["id"]) == "Пока никто не слушал"
        assert cache.known_generation is None
    finally:
        monkeypatch.setattr(resources.redis, "pubsub", real_pubsub)
        await unreachable.aclose()

    await eventually(lambda: _true(cache.known_generation is not None), timeout=10)
    await api.get(f"/internal/courses/{course['id']}")  # copied to memory under the re-read generation
    redis_commands.clear()
    assert await _title(api, course["id"]) == "Пока никто не слушал"
    assert redis_commands == []


async def test_the_local_copy_is_bounded(api, new_course, cache, redis_commands):
    """Query strings choose the keys: the process keeps `local_entries` answers, dropping the oldest."""
    cache.local_entries = 3
    await new_course(publish=True)
    for size in range(1, 6):
        await api.get("/internal/courses", params={"page_size": size})
    redis_commands.clear()

    await api.get("/internal/courses", params={"page_size": 5})
    assert redis_commands == []  # among the three newest
    await api.get("/internal/courses", params={"page_size": 1})
    assert redis_commands == ["MGET"]  # dropped
    assert len(cache._local) == 3


async def test_a_change_through_another_client_reaches_the_local_copy_on_a_redis_cluster(
    settings, redis_cluster_url, eventually
):
    """REDIS_CLUSTER=true: two processes' caches on one cluster. A bump by one, and a message published
    through each primary in turn (classic PUBLISH is cluster-wide), reach the other's subscription."""
    cluster = on_redis_cluster(settings, redis_cluster_url).model_copy(
        update={"redis_prefix": f"{settings.redis_prefix}cluster-{secrets.token_hex(3)}:"}
    )
    assert isinstance(cluster, CatalogSettings)
    here, there = Resources.open(cluster), Resources.open(cluster)
    reader, writer = CatalogCache(here), CatalogCache(there)
    reader.local_max_age_s = 60.0
    answer = {"value": b'"old"'}
    loads: list[bytes] = []

    async def load(_session: Any) -> bytes:
        loads.append(answer["value"])
        return answer["value"]

    async def read() -> bytes:
        return await reader.get_or_load("probe", (1,), load)

    try:
        await read()
        await eventually(lambda: _true(reader.known_generation is not None), timeout=5)
        await read()  # under the generation the process knows: kept in memory
        answer["value"] = b'"new"'
        assert await read() == b'"old"'
        loads.clear()

        await writer.invalidate()
        bumped = int(await there.redis.get(writer.generation_key) or 0)

        await eventually(lambda: _true(reader.known_generation == bumped), timeout=2)
        assert await read() == b'"new"'
        assert loads == [b'"new"']
        assert isinstance(there.redis, RedisCluster)
        for node in there.redis.get_primaries():
            answer["value"] = node.name.encode()
            generation = await there.redis.incr(writer.generation_key)
            await there.redis.execute_command("PUBLISH", writer.invalidated_channel, generation, target_nodes=node)

            async def heard(expected: int = generation) -> bool:
                return reader.known_generation == expected

            await eventually(heard, timeout=2)
            assert await read() == node.name.encode()
    finally:
        await reader.aclose()
        await writer.aclose()
        await cleanup_redis(redis_cluster_url, cluster.redis_prefix, cluster=True)
        await here.close()
        await there.close()


# -- the learner queries answered ahead of FastAPI (academy_runtime.fast_answers, app.py's fast_answers) ------


@pytest.fixture
def answered_ahead(resources, monkeypatch) -> list[str]:
    """The queries the catalog's fast answers found in memory (and so answered ahead of the endpoint)."""
    cache = process_cache(resources)
    answered: list[str] = []
    real = cache.response_from_memory

    def spy(query: str, params: tuple[object, ...]) -> Any:
        response = real(query, params)
        if response is not None:
            answered.append(query)
        return response

    monkeypatch.setattr(cache, "response_from_memory", spy)
    return answered


@pytest.mark.parametrize(
    ("path", "params", "query"),
    [
        ("/internal/courses", {"category": "manicure"}, "courses"),
        ("/internal/courses", {}, "courses"),
        ("/internal/courses", {"page": 1, "page_size": 10}, "courses"),
        ("/internal/courses/top", {}, "top"),
        ("/internal/categories", {}, "categories"),
    ],
)
async def test_a_learner_query_held_in_memory_is_answered_ahead_of_the_endpoint_with_its_bytes(
    api, new_course, cache, redis_commands, answered_ahead, path, params, query
):
    await new_course(publish=True)
    first = await api.get(path, params=params)  # the endpoint's answer, now held in memory
    redis_commands.clear()
    local_hits = cache_requests(query, "local_hit")

    again = await api.get(path, params=params)

    assert first.status_code == again.status_code == 200
    assert answered_ahead == [query]
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["cache-control"] == first.headers["cache-control"]
    assert redis_commands == []
    assert cache_requests(query, "local_hit") == local_hits + 1


async def test_a_list_answered_ahead_shows_an_edit_at_once(api, new_course, cache, answered_ahead):
    cache.local_max_age_s = 60.0  # only the invalidation can end the local answer within the test
    course = await new_course(publish=True)
    await api.get("/internal/courses", params={"category": course["category"]})
    held = await api.get("/internal/courses", params={"category": course["category"]})
    assert answered_ahead == ["courses"]

    assert (await api.patch(f"/internal/courses/{course['id']}", json={"title": "Новое название"})).status_code == 200
    listed = await api.get("/internal/courses", params={"category": course["category"]})

    assert [item["title"] for item in held.json()["items"]] == [course["title"]]
    assert [item["title"] for item in listed.json()["items"]] == ["Новое название"]
    assert answered_ahead == ["courses"]  # the edit's answer came from the endpoint, loaded anew


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("category=manicure&page=0", 422),
        ("category=manicure&page=1&page=1", 422),
        ("category=manicure&page_size=101", 422),
        ("category=Manicure", 422),
        ("category=", 422),
        ("category=manicure%00", 422),
        ("category=manicure&page=01", 200),
    ],
)
async def test_the_lists_parameters_are_checked_as_the_endpoint_checks_them_while_pages_are_held(
    api, new_course, cache, answered_ahead, query, status
):
    """Page 1 of the lists is held in memory; a request the endpoint refuses is still refused (the fast
    answer leaves it to the endpoint), and one it reads otherwise (`page=01`) is still page 1."""
    await new_course(publish=True)
    held = await api.get("/internal/courses?category=manicure&page=1")
    await api.get("/internal/courses?page=1")
    answered_ahead.clear()

    response = await api.get(f"/internal/courses?{query}")

    assert response.status_code == status, response.text
    if status == 200:
        assert response.content == held.content
        assert answered_ahead == ["courses"]
    else:
        assert response.json()["error"]["code"] == "validation_failed"
        assert answered_ahead == []


async def test_a_held_list_is_not_given_to_a_caller_the_endpoint_refuses(
    service, resources, platform, api, new_course, cache, answered_ahead
):
    await new_course(publish=True)
    await api.get("/internal/courses")
    await api.get("/internal/courses")
    assert answered_ahead == ["courses"]
    answered_ahead.clear()

    finance = operator_token(platform, name="fay", roles=("finance",), audience="catalog")
    billing = service_token(platform, caller="billing", audience="catalog")
    for token, status in [(finance, 403), (billing, 403), ("not-a-token", 401)]:
        async with api_client(service, resources, token) as client:
            assert (await client.get("/internal/courses")).status_code == status
    assert answered_ahead == []
