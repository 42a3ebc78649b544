"""REDIS_CLUSTER=true (issue 11): the leaderboards on a local three-node Redis Cluster answer as on one Redis.

The cluster is the session's `redis_cluster_url` (academy_runtime.testing): started from the machine's
`redis-server` unless TEST_REDIS_CLUSTER_URL names one. The service's own resources stay on the run's single
Redis; the boards are read, rebuilt, updated and cleaned through a copy of them whose Redis is the cluster.
"""

import dataclasses
from collections.abc import AsyncIterator

import pytest
from academy_gamification.leaderboards import service as leaderboards
from academy_gamification.leaderboards.board import Board
from academy_gamification.leaderboards.cache import LeaderboardCache, member
from academy_runtime.resources import Resources, open_redis
from academy_runtime.testing import cleanup_redis, on_redis_cluster
from redis.asyncio.cluster import RedisCluster
from redis.cluster import key_slot

from .test_leaderboards import boards, entries

__all__ = ["boards"]  # the five learners' boards, a fixture of test_leaderboards

pytestmark = pytest.mark.integration

READS = [  # (board, the API's query)
    (Board("overall"), {"scope": "overall", "user_id": 42, "limit": 2}),
    (Board("city", "москва"), {"scope": "city", "city": "Москва", "user_id": 44}),
    (Board("category", "pedicure"), {"scope": "category", "category": "pedicure"}),
    (Board("category", "manicure"), {"scope": "category", "category": "manicure"}),
]


@pytest.fixture
async def clustered(boards, redis_cluster_url: str) -> AsyncIterator[Resources]:
    settings = on_redis_cluster(boards.resources.settings, redis_cluster_url)
    resources = dataclasses.replace(boards.resources, settings=settings, redis=open_redis(settings), extras={})
    assert isinstance(resources.redis, RedisCluster)
    try:
        yield resources
    finally:
        await cleanup_redis(settings.redis_url, settings.redis_prefix, cluster=True)
        await resources.redis.aclose()


async def read(resources: Resources, board: Board, query: dict) -> dict:
    async with resources.sessionmaker() as session:
        answer = await leaderboards.leaderboard(
            session,
            resources,
            board,
            limit=query.get("limit", 10),
            user_id=query.get("user_id"),
            city=query.get("city"),
            category=query.get("category"),
        )
    return answer.model_dump(mode="json")


async def cached_keys(cache: LeaderboardCache) -> set[str]:
    return {str(key) async for key in cache.redis.scan_iter(match=cache.every_key, count=500)}


async def test_boards_on_a_cluster_are_rebuilt_read_updated_and_cleaned_as_on_one_redis(api, boards, clustered):
    cache = LeaderboardCache(clustered)
    # A board and its rebuild's staging copy share the board's tag: the swap (RENAME in MULTI) is one slot's.
    for board, _query in READS:
        key = cache.key(board)
        assert key.endswith("}")
        assert "{" in key
        assert key_slot(key.encode()) == key_slot(f"{key}:rebuild:0a1b2c3d".encode())

    # Missing in the cluster: rebuilt from PostgreSQL (the swap on one slot), then read, ranked as on one Redis.
    for board, query in READS:
        expected = (await api.get("/internal/leaderboards", params=query)).json()
        on_cluster = await read(clustered, board, query)
        assert on_cluster == expected, board
    assert await cached_keys(cache) == {cache.key(board) for board, _query in READS}
    nodes = {clustered.redis.get_node_from_key(cache.key(board)).name for board, _query in READS}
    assert len(nodes) > 1, "the four boards all hashed to one node: spread them by their tags"

    # An update after a commit: one script per board (no cluster pipeline runs scripts), each on its board's
    # node; a board not cached stays missing (it is rebuilt whole on its next read).
    await cache.set_points(
        [(Board("overall"), 43, 500), (Board("category", "pedicure"), 43, 120), (Board("city", "казань"), 43, 500)]
    )
    assert await clustered.redis.zscore(cache.key(Board("overall")), member(43)) == -500
    assert await clustered.redis.zscore(cache.key(Board("category", "pedicure")), member(43)) == -120
    assert not await clustered.redis.exists(cache.key(Board("city", "казань")))
    top = await read(clustered, Board("overall"), {"limit": 2})
    assert entries(top["top"]) == [(1, 43, 500), (2, 41, 200)]

    # An erasure's clean-up finds the learner on every board, whichever node holds it (SCAN of every primary).
    assert await cache.remove_everywhere(41) == 3
    assert await clustered.redis.zscore(cache.key(Board("category", "manicure")), member(41)) is None

    # The workers' start rebuilds every board and drops the keys no board has any more (a renamed scheme's).
    stale = clustered.rkey("gamification", "leaderboard", "overall")
    await clustered.redis.zadd(stale, {member(41): -1})
    rebuilt = await leaderboards.rebuild_all(clustered)
    assert rebuilt >= len(READS)
    assert not await clustered.redis.exists(stale)
    assert entries((await read(clustered, Board("overall"), {"limit": 2}))["top"]) == [(1, 41, 200), (2, 45, 200)]
