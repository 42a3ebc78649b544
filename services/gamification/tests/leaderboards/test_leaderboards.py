"""Leaderboards overall, by city and by category: Redis first, rebuilt from PostgreSQL when missing,
PostgreSQL alone when Redis is down, with the same ranks either way."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from academy_gamification.leaderboards import service as leaderboards
from academy_gamification.leaderboards.board import Board
from academy_gamification.leaderboards.cache import LeaderboardCache, member
from redis.asyncio import Redis

pytestmark = pytest.mark.integration

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
LEARNERS = {  # user_id: (display_name, city), as the users service publishes them
    41: ("Анна П.", "Москва"),
    42: ("Борис", "москва "),
    43: ("Вера", "Казань"),
    44: ("Галина", "Москва"),
    45: ("Дарья", "Казань"),
}


@pytest.fixture
async def boards(gamification):
    """41: 200, 45: 200, 42: 70, 43: 50, 44: 50 (welcome 50 each, plus courses and lessons)."""
    for user_id, (name, city) in LEARNERS.items():
        await gamification.publish(gamification.registered(user_id, display_name=name, city=city, at=T0))
    await gamification.publish(gamification.course(41, 1, category="manicure", at=T0))
    await gamification.publish(gamification.lesson(42, 7, course_id=2, category="pedicure", at=T0))
    await gamification.publish(gamification.course(45, 2, category="pedicure", at=T0))
    await gamification.wait_handled("welcome-points", 5)
    await gamification.wait_handled("learner-profiles", 5)
    await gamification.wait_handled("learning-progress", 3)
    return gamification


def entries(rows):
    return [(row["rank"], row["user_id"], row["points"]) for row in rows]


async def test_overall_board_ranks_ties_by_user_id_with_my_rank_and_neighbours(api, boards):
    response = await api.get("/internal/leaderboards", params={"scope": "overall", "user_id": 42, "limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert entries(body["top"]) == [(1, 41, 200), (2, 45, 200)]
    assert (body["top"][0]["display_name"], body["top"][0]["anonymous"]) == ("Анна П.", False)
    assert "Петрова" not in response.text  # the full name never leaves the service
    assert body["me_anonymous"] is False
    assert (body["me"]["rank"], body["me"]["user_id"], body["me"]["points"]) == (3, 42, 70)
    assert entries(body["neighbours"]) == [(2, 45, 200), (4, 43, 50)]

    last = (await api.get("/internal/leaderboards", params={"user_id": 44})).json()
    assert entries(last["top"]) == [(1, 41, 200), (2, 45, 200), (3, 42, 70), (4, 43, 50), (5, 44, 50)]
    assert last["me"]["rank"] == 5
    assert entries(last["neighbours"]) == [(4, 43, 50)]


async def test_a_learner_not_on_the_board_has_no_rank(api, boards):
    body = (await api.get("/internal/leaderboards", params={"user_id": 777})).json()
    assert body["me"] is None
    assert body["neighbours"] == []


async def test_city_board_matches_the_city_whatever_its_case_and_spaces(api, boards):
    body = (await api.get("/internal/leaderboards", params={"scope": "city", "city": " МОСКВА", "user_id": 44})).json()
    assert (body["scope"], body["city"], body["category"]) == ("city", "МОСКВА", None)
    assert entries(body["top"]) == [(1, 41, 200), (2, 42, 70), (3, 44, 50)]
    assert entries(body["neighbours"]) == [(2, 42, 70)]
    kazan = (await api.get("/internal/leaderboards", params={"scope": "city", "city": "Казань"})).json()
    assert entries(kazan["top"]) == [(1, 45, 200), (2, 43, 50)]


async def test_category_board_counts_only_points_of_that_category(api, boards):
    pedicure = (await api.get("/internal/leaderboards", params={"scope": "category", "category": "pedicure"})).json()
    assert entries(pedicure["top"]) == [(1, 45, 100), (2, 42, 10)]  # welcome and achievement points excluded
    manicure = (await api.get("/internal/leaderboards", params={"scope": "category", "category": "manicure"})).json()
    assert entries(manicure["top"]) == [(1, 41, 100)]
    assert (await api.get("/internal/leaderboards", params={"scope": "category", "category": "podology"})).json()[
        "top"
    ] == []


async def test_a_cached_board_is_updated_after_each_commit(api, boards):
    await api.get("/internal/leaderboards")  # the board is now in Redis
    cache = LeaderboardCache(boards.resources)
    key = cache.key(Board("overall"))
    assert await boards.resources.redis.zscore(key, member(43)) == -50

    await boards.publish(boards.course(43, 3, category="eyebrows", at=T0))
    await boards.wait_handled("learning-progress", 4)
    assert await boards.resources.redis.zscore(key, member(43)) == -200  # updated in place, no rebuild
    body = (await api.get("/internal/leaderboards", params={"user_id": 43})).json()
    assert entries(body["top"])[:3] == [(1, 41, 200), (2, 43, 200), (3, 45, 200)]
    eyebrows = cache.key(Board("category", "eyebrows"))
    assert not await boards.resources.redis.exists(eyebrows)  # never read: left for a rebuild on read


async def test_boards_are_rebuilt_from_postgresql_when_redis_lost_them(api, boards):
    params = {"scope": "city", "city": "Москва", "user_id": 42}
    before = (await api.get("/internal/leaderboards", params=params)).json()
    keys = [key async for key in boards.resources.redis.scan_iter(match=boards.resources.rkey("gamification", "*"))]
    assert keys
    await boards.resources.redis.delete(*keys)

    after = (await api.get("/internal/leaderboards", params=params)).json()
    assert after == before
    assert await boards.resources.redis.exists(LeaderboardCache(boards.resources).key(Board("city", "москва")))


async def test_without_redis_the_same_board_comes_from_postgresql(api, boards):
    expected = (await api.get("/internal/leaderboards", params={"user_id": 43, "limit": 3})).json()
    unreachable = dataclasses.replace(boards.resources, redis=Redis.from_url("redis://127.0.0.1:1/0"))
    try:
        async with boards.resources.sessionmaker() as session:
            answer = await leaderboards.leaderboard(
                session, unreachable, Board("overall"), limit=3, user_id=43, city=None, category=None
            )
    finally:
        await unreachable.redis.aclose()
    assert answer.model_dump(mode="json") == expected
    assert entries(expected["neighbours"]) == [(3, 42, 70), (5, 44, 50)]


async def test_moving_city_moves_the_learner_between_city_boards(api, boards):
    moscow = {"scope": "city", "city": "Москва"}
    assert 44 in [row["user_id"] for row in (await api.get("/internal/leaderboards", params=moscow)).json()["top"]]
    await boards.publish(boards.profile_updated(44, display_name="Галина", city="Казань", at=T0 + timedelta(days=1)))
    await boards.wait_handled("learner-profiles", 6)

    assert entries((await api.get("/internal/leaderboards", params=moscow)).json()["top"]) == [
        (1, 41, 200),
        (2, 42, 70),
    ]
    kazan = (await api.get("/internal/leaderboards", params={"scope": "city", "city": "казань"})).json()
    assert entries(kazan["top"]) == [(1, 45, 200), (2, 43, 50), (3, 44, 50)]


async def test_a_learner_without_a_name_has_no_display_name(api, gamification):
    # The caller shows a placeholder in the reader's language; the service sends no text of its own.
    await gamification.publish(gamification.lesson(46, 1, at=T0))
    await gamification.wait_handled("learning-progress", 1)
    top = (await api.get("/internal/leaderboards")).json()["top"]
    assert [(row["user_id"], row["display_name"], row["anonymous"]) for row in top] == [(46, None, False)]


async def test_an_anonymous_learner_is_on_every_board_without_a_name(api, boards):
    before = (await api.get("/internal/leaderboards", params={"user_id": 42})).json()  # the board is cached now
    assert before["top"][0]["display_name"] == "Анна П."

    response = await api.put("/internal/learners/41/leaderboard-visibility", json={"anonymous": True})
    assert response.status_code == 200
    assert response.json() == {"user_id": 41, "anonymous": True}

    for params in ({"user_id": 41}, {"scope": "city", "city": "Москва", "user_id": 41}):
        response = await api.get("/internal/leaderboards", params=params)
        body = response.json()
        assert entries(body["top"])[0] == (1, 41, 200)  # same rank and points
        assert (body["top"][0]["display_name"], body["top"][0]["anonymous"]) == (None, True)
        assert (body["me"]["display_name"], body["me"]["anonymous"]) == (None, True)
        assert body["me_anonymous"] is True
        assert "Анна" not in response.text
    others = (await api.get("/internal/leaderboards", params={"user_id": 42})).json()
    assert others["me_anonymous"] is False
    assert [row["display_name"] for row in others["top"]][:3] == [None, "Дарья", "Борис"]

    back = await api.put("/internal/learners/41/leaderboard-visibility", json={"anonymous": False})
    assert back.json() == {"user_id": 41, "anonymous": False}
    assert (await api.get("/internal/leaderboards")).json()["top"][0]["display_name"] == "Анна П."


async def test_an_anonymous_learner_off_the_board_still_learns_their_choice(api, boards):
    await api.put("/internal/learners/43/leaderboard-visibility", json={"anonymous": True})
    body = (
        await api.get("/internal/leaderboards", params={"scope": "category", "category": "manicure", "user_id": 43})
    ).json()
    assert (body["me"], body["me_anonymous"]) == (None, True)


async def test_visibility_of_an_unknown_or_erased_learner_is_refused(api, gamification):
    from academy_contracts.users import UserErasedV2

    unknown = await api.put("/internal/learners/4040/leaderboard-visibility", json={"anonymous": True})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "learner_not_found"

    await gamification.publish(UserErasedV2(user_id=4041, erased_at=T0))
    await gamification.wait_handled("learner-profiles", 1)
    erased = await api.put("/internal/learners/4041/leaderboard-visibility", json={"anonymous": True})
    assert (erased.status_code, erased.json()["error"]["code"]) == (404, "learner_not_found")


async def test_the_worker_job_rebuilds_every_board_and_drops_stale_ones(boards):
    redis, cache = boards.resources.redis, LeaderboardCache(boards.resources)
    stale = cache.key(Board("city", "атлантида"))
    await redis.zadd(stale, {member(99): -10})
    await redis.delete(cache.key(Board("overall")))

    rebuilt = await leaderboards.rebuild_all(boards.resources)

    assert rebuilt == 5  # overall, Москва, Казань, manicure, pedicure
    assert not await redis.exists(stale)
    assert await redis.zrange(cache.key(Board("overall")), 0, -1) == [member(u) for u in (41, 45, 42, 43, 44)]
    assert await redis.zrange(cache.key(Board("category", "pedicure")), 0, -1) == [member(45), member(42)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"scope": "city"}, "query.city"),
        ({"scope": "city", "city": "   "}, "query.city"),
        ({"scope": "category"}, "query.category"),
        ({"scope": "category", "category": "Not A Slug"}, "query.category"),
        ({"scope": "planet"}, "query.scope"),
        ({"limit": 0}, "query.limit"),
        ({"limit": 1000}, "query.limit"),
        ({"user_id": -3}, "query.user_id"),
    ],
)
async def test_bad_queries_get_422_naming_the_field(api, params, field):
    response = await api.get("/internal/leaderboards", params=params)
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]
