"""The learner queries are served from Redis and forgotten after every committed change.

The tests about the Redis layer itself turn the process's local copy off (`redis_layer_only`:
CATALOG_LOCAL_CACHE_MAX_AGE_S=0); test_local_cache.py tests the copy.
"""

from collections.abc import Iterator

import pytest
from academy_catalog.app import create_app
from academy_catalog.cache import CatalogCache, process_cache
from academy_catalog.courses.schemas import CoursePage
from academy_catalog.models import Course
from redis.asyncio import Redis
from redis.crc import key_slot
from sqlalchemy import update

from .conftest import cache_requests

pytestmark = pytest.mark.integration


@pytest.fixture
def redis_layer_only(resources) -> Iterator[CatalogCache]:
    """The process's cache with its local copy off, as with CATALOG_LOCAL_CACHE_MAX_AGE_S=0: every read
    goes to Redis."""
    cache = process_cache(resources)
    saved = cache.local_max_age_s
    cache.local_max_age_s = 0
    cache.drop_local_copy()
    yield cache
    cache.local_max_age_s = saved


async def _rename_behind_the_cache(resources, course_id: int, title: str) -> None:
    async with resources.sessionmaker() as session, session.begin():
        await session.execute(update(Course).where(Course.id == course_id).values(title=title))


async def test_the_second_read_is_served_from_redis(api, resources, new_course, redis_layer_only):
    """Local copy off: the Redis layer alone serves the second read."""
    course = await new_course(publish=True)
    misses, hits = cache_requests("course", "miss"), cache_requests("course", "hit")

    first = await api.get(f"/internal/courses/{course['id']}")
    # Changed in PostgreSQL without the API: only a cached answer still shows the old title.
    await _rename_behind_the_cache(resources, course["id"], "Изменено в обход API")
    second = await api.get(f"/internal/courses/{course['id']}")

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second.json()["title"] == course["title"]
    assert cache_requests("course", "miss") == misses + 1
    assert cache_requests("course", "hit") == hits + 1


@pytest.mark.parametrize(
    ("path", "params"),
    [("/internal/courses", {"category": "manicure"}), ("/internal/courses/top", {})],
)
async def test_lists_and_the_top_course_are_cached_too(api, resources, new_course, path, params):
    course = await new_course(publish=True)

    first = await api.get(path, params=params)
    await _rename_behind_the_cache(resources, course["id"], "Изменено в обход API")
    second = await api.get(path, params=params)

    assert first.status_code == 200, first.text
    assert second.json() == first.json()


async def test_an_operator_edit_invalidates_every_cached_answer(api, new_course):
    course = await new_course(publish=True)
    await api.get(f"/internal/courses/{course['id']}")
    await api.get("/internal/courses", params={"category": "manicure"})

    edited = await api.patch(f"/internal/courses/{course['id']}", json={"title": "Новое название"})
    detail = await api.get(f"/internal/courses/{course['id']}")
    listing = await api.get("/internal/courses", params={"category": "manicure"})

    assert edited.status_code == 200
    assert detail.json()["title"] == "Новое название"
    assert listing.json()["items"][0]["title"] == "Новое название"


async def test_publishing_and_archiving_show_at_once(api, new_course):
    draft = await new_course()
    assert (await api.get("/internal/courses")).json()["total"] == 0

    await api.post(f"/internal/courses/{draft['id']}/publish")
    assert (await api.get("/internal/courses")).json()["total"] == 1

    await api.post(f"/internal/courses/{draft['id']}/archive")
    assert (await api.get("/internal/courses")).json()["total"] == 0
    assert (await api.get(f"/internal/courses/{draft['id']}")).status_code == 404


async def test_a_new_category_and_a_new_community_show_at_once(api):
    await api.get("/internal/categories")
    await api.get("/internal/communities", params={"city": "Москва"})

    await api.post("/internal/categories", json={"slug": "hair", "title_ru": "Волосы", "title_en": "Hair"})
    await api.post(
        "/internal/communities",
        json={"title": "Мастера Москвы", "type": "city", "city": "Москва", "telegram_link": "https://t.me/msk"},
    )

    assert "hair" in [c["slug"] for c in (await api.get("/internal/categories")).json()]
    assert len((await api.get("/internal/communities", params={"city": "Москва"})).json()) == 1


@pytest.mark.parametrize(
    ("course_path", "body", "status"),
    [
        ("{id}", {"price": "-1"}, 422),  # refused before the endpoint runs
        ("2147483647", {"title": "Нет такого курса"}, 404),  # refused by the service: its transaction rolls back
    ],
)
async def test_a_failed_command_does_not_invalidate(api, resources, new_course, course_path, body, status):
    course = await new_course(publish=True)
    generation_key = CatalogCache(resources).generation_key
    before = await resources.redis.get(generation_key)
    assert before is not None  # the conftest's invalidation made one

    response = await api.patch(f"/internal/courses/{course_path.format(id=course['id'])}", json=body)

    assert response.status_code == status, response.text
    assert await resources.redis.get(generation_key) == before


async def test_without_redis_the_catalog_answers_from_postgresql(api, resources, new_course):
    course = await new_course(publish=True)
    errors = cache_requests("course", "error")
    working = resources.redis
    # Nothing listens on port 1: every Redis call fails at once.
    resources.redis = Redis.from_url("redis://127.0.0.1:1/0", decode_responses=True)
    try:
        detail = await api.get(f"/internal/courses/{course['id']}")
        edited = await api.patch(f"/internal/courses/{course['id']}", json={"title": "Без Redis"})
        listing = await api.get("/internal/courses")
    finally:
        await resources.redis.aclose()
        resources.redis = working

    assert detail.status_code == 200
    assert detail.json()["title"] == course["title"]
    assert edited.status_code == 200
    assert listing.status_code == 200
    assert listing.json()["items"][0]["title"] == "Без Redis"
    assert cache_requests("course", "error") == errors + 1


async def test_cache_keys_live_in_the_deployment_namespace(api, resources, new_course):
    course = await new_course(publish=True)

    await api.get(f"/internal/courses/{course['id']}")

    # `[{]catalog[}]`: the braces of the hash tag, matched literally.
    pattern = f"{resources.settings.redis_prefix}[{{]catalog[}}]:cache:*"
    keys = [key async for key in resources.redis.scan_iter(match=pattern)]
    assert any(key.endswith(f":course:{course['id']}") for key in keys)
    assert all(key.startswith(resources.settings.redis_prefix) for key in keys)


async def test_every_key_of_the_cache_shares_one_redis_cluster_slot(resources):
    """One MGET reads the generation and an answer: both keys must hash to the same slot of a cluster."""
    cache = CatalogCache(resources)
    slots = {key_slot(key.encode()) for key in (cache.generation_key, cache.answer_key("courses", ("*", 1, 20)))}
    assert len(slots) == 1


async def test_a_cached_read_is_one_redis_round_trip(api, new_course, redis_commands, redis_layer_only):
    """Local copy off: a read the process's memory does not answer costs one MGET."""
    await new_course(publish=True)
    await api.get("/internal/courses", params={"category": "manicure"})  # stored
    redis_commands.clear()
    hits = cache_requests("courses", "hit")

    response = await api.get("/internal/courses", params={"category": "manicure"})

    assert response.status_code == 200
    assert cache_requests("courses", "hit") == hits + 1
    assert redis_commands == ["MGET"]


async def test_an_answer_stored_under_an_older_generation_is_not_served(api, resources, new_course, redis_layer_only):
    """A reader that read generation N, then PostgreSQL before a change committed, stores the old answer
    marked N after the change bumped the generation to N+1: nobody serves it. (Local copy off: this is
    the Redis layer's rule.)"""
    course = await new_course(publish=True)
    cache = CatalogCache(resources)
    first = await api.get(f"/internal/courses/{course['id']}")
    key = cache.answer_key("course", (course["id"],))
    old_generation = await resources.redis.get(cache.generation_key)
    await _rename_behind_the_cache(resources, course["id"], "Переименовано")
    await cache.invalidate()
    # The raced reader's late write: the old answer, marked with the generation it read.
    await resources.redis.set(key, f"{old_generation}\n{first.text}")
    misses = cache_requests("course", "miss")

    second = await api.get(f"/internal/courses/{course['id']}")

    assert second.json()["title"] == "Переименовано"
    assert cache_requests("course", "miss") == misses + 1
    assert (await resources.redis.get(key)).startswith(f"{await resources.redis.get(cache.generation_key)}\n")


async def test_a_cached_answer_is_what_the_response_model_gives(api, new_course):
    """Served as stored, unvalidated: the bytes are those of the response model's own serialisation."""
    await new_course(publish=True)
    await api.get("/internal/courses", params={"page_size": 5})

    cached = await api.get("/internal/courses", params={"page_size": 5})

    assert cached.headers["content-type"] == "application/json"
    assert cached.content == CoursePage.model_validate_json(cached.content).model_dump_json().encode()
    assert cached.json()["items"]


def test_the_openapi_document_names_the_response_models_of_the_cached_reads():
    document = create_app().openapi()
    for path, model in [
        ("/internal/courses", "CoursePage"),
        ("/internal/courses/top", "CourseDetail"),
        ("/internal/courses/{course_id}", "CourseDetail"),
    ]:
        schema = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{model}"}, path
    categories = document["paths"]["/internal/categories"]["get"]["responses"]["200"]["content"]
    assert categories["application/json"]["schema"]["items"] == {"$ref": "#/components/schemas/CategoryOut"}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/internal/categories", {}),
        ("/internal/communities", {}),
        ("/internal/courses", {"category": "manicure"}),
        ("/internal/courses/top", {}),
        ("/internal/courses/{id}", {}),
        ("/internal/courses/{id}", {"include_archived": "true"}),
    ],
)
async def test_callers_may_keep_a_learner_query_answer_for_the_configured_seconds(api, new_course, path, params):
    """`Cache-Control: max-age=CATALOG_CLIENT_MAX_AGE_S` (2 s by default): the bot keeps the answer that long
    (academy_runtime.http_cache), which is how late a learner may see an operator's change."""
    course = await new_course(publish=True)

    for _ in range(2):  # loaded, then from the cache: the same header
        response = await api.get(path.format(id=course["id"]), params=params)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "max-age=2"


async def test_what_only_operators_read_and_errors_are_not_for_callers_to_keep(api, new_course):
    draft = await new_course(publish=False)

    operators = await api.get(f"/internal/courses/{draft['id']}", params={"include_drafts": "true"})
    missing = await api.get(f"/internal/courses/{draft['id']}")

    assert operators.status_code == 200
    assert "cache-control" not in operators.headers
    assert missing.status_code == 404
    assert "cache-control" not in missing.headers


async def test_with_client_caching_off_callers_are_told_to_ask_every_time(resources, new_course, api):
    """CATALOG_CLIENT_MAX_AGE_S=0: `no-cache`, which academy_runtime.http_cache never keeps."""
    cache = process_cache(resources)
    saved = cache.cache_control
    course = await new_course(publish=True)
    settings = resources.settings.model_copy(update={"catalog_client_max_age_s": 0})
    cache.cache_control = CatalogCache.cache_control_for(settings)
    try:
        response = await api.get(f"/internal/courses/{course['id']}")
    finally:
        cache.cache_control = saved

    assert response.headers["cache-control"] == "no-cache"
