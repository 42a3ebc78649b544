"""Leaderboards in Redis sorted sets: a cache of PostgreSQL, rebuilt from it whenever it is missing.

A member is the zero-padded user id and its score is minus the points, so the ascending order of a
sorted set (score, then member bytes) is: most points first, and among equal points the smaller user
id first. ZRANK is then the 0-based rank, with the same tie rule as the SQL fallback.
"""

from __future__ import annotations

import secrets
from typing import Any

from academy_runtime.resources import Resources

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
_REBUILD_CHUNK = 1000
_STAGING_TTL_S = 300


def member(user_id: int) -> str:
    return f"{user_id:010d}"


class LeaderboardCache:
    def __init__(self, resources: Resources) -> None:
        self.redis = resources.redis
        self._rkey = resources.rkey
        self._add_if_board_exists = self.redis.register_script(_ADD_IF_BOARD_EXISTS)

    def key(self, board: Board) -> str:
        parts = ("gamification", "leaderboard", board.scope, *((board.value,) if board.value is not None else ()))
        return self._rkey(*parts)

    async def set_points(self, updates: list[tuple[Board, int, int]]) -> None:
        """(board, user_id, points) for boards that exist; others wait for their rebuild."""
        if not updates:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for board, user_id, points in updates:
                await self._add_if_board_exists(keys=[self.key(board)], args=[-points, member(user_id)], client=pipe)
            await pipe.execute()

    async def remove(self, board: Board, user_id: int) -> None:
        await self.redis.zrem(self.key(board), member(user_id))

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
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rename(staging, key)
            pipe.persist(key)
            await pipe.execute()

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
