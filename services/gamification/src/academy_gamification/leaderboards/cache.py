"""Leaderboards in Redis sorted sets: a cache of PostgreSQL, rebuilt from it whenever it is missing.

A member is the zero-padded user id and its score is minus the points, so the ascending order of a
sorted set (score, then member bytes) is: most points first, and among equal points the smaller user
id first. ZRANK is then the 0-based rank, with the same tie rule as the SQL fallback.

Keys (all under `REDIS_PREFIX`): `gamification:leaderboard:{overall}`, `...:{city:<city key>}`,
`...:{category:<slug>}`, and a rebuild's staging copy `<board key>:rebuild:<hex>` (expires in 5 minutes).
Members are user ids, scores points: no names or cities other than the city key in a board's name.

The braces are the board's hash tag: on a Redis Cluster (`REDIS_CLUSTER=true`) a board and its staging
copies share one slot, so the rebuild's swap (RENAME and PERSIST in one script) stays on one node, while the
boards spread over the cluster. The staging key starts with the board's key, so it has the same tag
whatever the city key holds. Until the tags (issue 11) the names had none (`...:leaderboard:overall`):
after a rollout the boards are rebuilt from PostgreSQL at the workers' start (`service.rebuild_all`, which
also deletes the old keys: keys of the pattern no board has) or on their first read; nothing reads the old.

Updates run one script per (board, learner). On a single Redis they go in one pipeline; redis-py refuses
scripts in a cluster pipeline, so on a cluster they run concurrently instead, each on its board's node.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from academy_runtime.resources import Resources
from redis.asyncio.cluster import RedisCluster

from academy_gamification.leaderboards.board import Board, BoardSlice, RankedEntry

# Updates only touch a board that exists: a missing board is rebuilt whole from PostgreSQL on the
# next read, and one learner's update must not turn it into a one-member board that looks complete.
# LT keeps the lowest score, i.e. the most points: points only grow, so an update that arrives after
# a newer one (two tasks racing) cannot lower a learner's standing.
_ADD_IF_BOARD_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('ZADD', KEYS[1], 'LT', ARGV[1], ARGV[2])
end
return -1
"""
# The swap of a rebuilt board: atomic like MULTI/RENAME/PERSIST/EXEC, which a redis-py cluster pipeline
# refuses (RENAME is among its blocked commands); both keys carry the board's tag, so one slot.
_SWAP_IN = """
redis.call('RENAME', KEYS[1], KEYS[2])
return redis.call('PERSIST', KEYS[2])
"""
_REBUILD_CHUNK = 1000
_STAGING_TTL_S = 300


def member(user_id: int) -> str:
    return f"{user_id:010d}"


class LeaderboardCache:
    def __init__(self, resources: Resources) -> None:
        self.redis = resources.redis
        self._rkey = resources.rkey
        self._add_if_board_exists = self.redis.register_script(_ADD_IF_BOARD_EXISTS)
        self._swap_in = self.redis.register_script(_SWAP_IN)

    def key(self, board: Board) -> str:
        """The board's key, hash-tagged by the board: `<prefix>gamification:leaderboard:{<scope>[:<value>]}`."""
        name = board.scope if board.value is None else f"{board.scope}:{board.value}"
        return self._rkey("gamification", "leaderboard", f"{{{name}}}")

    @property
    def every_key(self) -> str:
        """The SCAN pattern of every key this cache writes: every board of every scope, city and category,
        and the staging copies of rebuilds in flight."""
        return _glob_escape(self._rkey("gamification", "leaderboard", "")) + "*"

    async def set_points(self, updates: list[tuple[Board, int, int]]) -> None:
        """(board, user_id, points) for boards that exist; others wait for their rebuild."""
        if not updates:
            return
        if isinstance(self.redis, RedisCluster):
            await asyncio.gather(
                *(
                    self._add_if_board_exists(keys=[self.key(board)], args=[-points, member(user_id)])
                    for board, user_id, points in updates
                )
            )
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for board, user_id, points in updates:
                await self._add_if_board_exists(keys=[self.key(board)], args=[-points, member(user_id)], client=pipe)
            await pipe.execute()

    async def remove(self, board: Board, user_id: int) -> None:
        await self.redis.zrem(self.key(board), member(user_id))

    async def remove_everywhere(self, user_id: int) -> int:
        """Take the learner off every key of `every_key` (boards and staging copies alike, whichever city
        or category they are of); how many keys held them."""
        removed = 0
        async for key in self.redis.scan_iter(match=self.every_key, count=500):
            removed += int(await self.redis.zrem(key, member(user_id)) > 0)
        return removed

    async def replace(self, board: Board, rows: list[tuple[int, int]]) -> None:
        """Swap in a board built from `rows` (user_id, points) at once (RENAME), or drop it when empty."""
        key = self.key(board)
        if not rows:
            await self.redis.delete(key)
            return
        staging = f"{key}:rebuild:{secrets.token_hex(4)}"
        for start in range(0, len(rows), _REBUILD_CHUNK):
            chunk = rows[start : start + _REBUILD_CHUNK]
            await self.redis.zadd(staging, {member(user_id): -points for user_id, points in chunk})
            await self.redis.expire(staging, _STAGING_TTL_S)  # a crashed rebuild leaves nothing behind
        await self._swap_in(keys=[staging, key])

    async def read(self, board: Board, *, limit: int, user_id: int | None) -> BoardSlice | None:
        """The top `limit`, me and my neighbours; None when the board is not in Redis (rebuild it)."""
        key = self.key(board)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.exists(key)
            pipe.zrange(key, 0, limit - 1, withscores=True)
            pipe.zrank(key, member(user_id or 0))
            exists, top_rows, my_index = await pipe.execute()
        if not exists:
            return None
        entries = _ranked(top_rows, first_index=0)
        if user_id is not None and my_index is not None:
            first = max(my_index - 1, 0)
            entries += _ranked(await self.redis.zrange(key, first, my_index + 1, withscores=True), first_index=first)
        return BoardSlice.from_ranked(entries, limit=limit, user_id=user_id)


def _ranked(rows: Any, *, first_index: int) -> list[RankedEntry]:
    """ZRANGE ... WITHSCORES rows (member, score) starting at the 0-based `first_index`."""
    return [
        RankedEntry(rank=first_index + i + 1, user_id=int(name), points=int(-score))
        for i, (name, score) in enumerate(rows)
    ]


def _glob_escape(text: str) -> str:
    """`text` as a literal in a SCAN / KEYS pattern (a prefix or city key may hold `*`, `?`, `[`)."""
    return "".join("\\" + char if char in "*?[]\\" else char for char in text)
