from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from academy_runtime.after_commit import run_after_commit
from academy_runtime.db import transaction
from academy_runtime.resources import Resources
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from academy_gamification import metrics
from academy_gamification.leaderboards.board import Board, BoardSlice, RankedEntry
from academy_gamification.leaderboards.cache import LeaderboardCache
from academy_gamification.leaderboards.repository import LeaderboardRepository
from academy_gamification.leaderboards.schemas import LeaderboardEntryOut, LeaderboardOut
from academy_gamification.learners.repository import ErasedLearnerRepository
from academy_gamification.models import LearnerProfile

log = logging.getLogger(__name__)


async def leaderboard(
    session: AsyncSession,
    resources: Resources,
    board: Board,
    *,
    limit: int,
    user_id: int | None,
    city: str | None,
    category: str | None,
) -> LeaderboardOut:
    repo = LeaderboardRepository(session)
    try:
        board_slice = await _read_cached(LeaderboardCache(resources), repo, board, limit=limit, user_id=user_id)
        metrics.LEADERBOARD_READS.labels("redis").inc()
    except RedisError as exc:
        # Redis is a cache: without it the same ranking comes from PostgreSQL, only slower.
        log.warning("leaderboard cache unavailable; reading PostgreSQL", extra={"error": repr(exc)})
        metrics.LEADERBOARD_READS.labels("sql_fallback").inc()
        board_slice = await repo.slice(board, limit=limit, user_id=user_id)
    profiles = await repo.profiles(board_slice.user_ids() | ({user_id} if user_id is not None else set()))

    def out(entry: RankedEntry) -> LeaderboardEntryOut:
        profile = profiles.get(entry.user_id)
        anonymous = profile is not None and profile.leaderboard_anonymous
        # An anonymous learner's name never leaves the service, not even to the learner themselves.
        name = profile.display_name if profile is not None and not anonymous else None
        return LeaderboardEntryOut(
            rank=entry.rank, user_id=entry.user_id, display_name=name, anonymous=anonymous, points=entry.points
        )

    me_profile = profiles.get(user_id) if user_id is not None else None

    return LeaderboardOut(
        scope=board.scope,
        city=city,
        category=category,
        top=[out(entry) for entry in board_slice.top],
        me=out(board_slice.me) if board_slice.me else None,
        neighbours=[out(entry) for entry in board_slice.neighbours],
        me_anonymous=me_profile is not None and me_profile.leaderboard_anonymous,
    )


async def _read_cached(
    cache: LeaderboardCache, repo: LeaderboardRepository, board: Board, *, limit: int, user_id: int | None
) -> BoardSlice:
    found = await cache.read(board, limit=limit, user_id=user_id)
    if found is not None and board.scope == "city":
        # A learner who moved while an update for the old city was in flight can linger on that
        # city's board; the profiles say so, and the board is rebuilt.
        profiles = await repo.profiles(found.user_ids())
        if any(_city_key(profiles.get(user)) != board.value for user in found.user_ids()):
            found = None
    if found is not None and await ErasedLearnerRepository(repo.session).erased_among(found.user_ids()):
        # An update of the learner's points committed just before their erasure, written to Redis only
        # after the erasure took them off: the board is rebuilt without them.
        found = None
    if found is None:
        metrics.LEADERBOARD_REBUILDS.labels(board.scope).inc()
        await _rebuild(cache, repo, board)
        found = await cache.read(board, limit=limit, user_id=user_id)
    return found or BoardSlice()


async def _rebuild(cache: LeaderboardCache, repo: LeaderboardRepository, board: Board) -> str:
    """Replace the board in Redis with PostgreSQL's rows; its key.

    A learner erased while the rows were on their way to Redis is taken off again: their erasure's own
    removal may have run before the new board replaced the old one. The tombstones are read after the
    swap, so either they show the erasure or its removal (after its commit) comes after the swap."""
    rows = await repo.rows(board)
    await cache.replace(board, rows)
    for erased in await ErasedLearnerRepository(repo.session).erased_among([user for user, _ in rows]):
        await cache.remove(board, erased)
    return cache.key(board)


def _city_key(profile: LearnerProfile | None) -> str | None:
    return profile.city_key if profile else None


@dataclass
class _BoardUpdates:
    """The leaderboard writes a transaction owes Redis once it commits: each learner's latest standing and
    the city boards they left. Written in one round trip, however many events the transaction handled."""

    transaction: object
    standing: dict[int, list[tuple[Board, int]]] = field(default_factory=dict)
    left: list[tuple[Board, int]] = field(default_factory=list)

    def updates(self) -> tuple[list[tuple[Board, int]], list[tuple[Board, int, int]]]:
        """(removals, set_points updates): a board a learner left is not removed when their latest standing
        puts them back on it (they moved away and back within the transaction)."""
        removals = [
            (board, user) for board, user in self.left if board not in {b for b, _ in self.standing.get(user, [])}
        ]
        points = [(board, user, value) for user, boards in self.standing.items() for board, value in boards]
        return removals, points


_UPDATES = "academy_gamification.leaderboard_updates"


async def refresh_after_commit(
    session: AsyncSession,
    resources: Resources,
    user_id: int,
    *,
    left_city_key: str | None = None,
    standing: list[tuple[Board, int]] | None = None,
) -> None:
    """After the commit, put the learner's committed standing on the cached boards they belong to
    (and take them off the board of the city they left). `standing`: as the caller read it after its last
    change in this transaction (`leaderboards.repository.standing_of`); else it is read now.

    A transaction that handles several events (a batch) writes once, after its commit: each learner's last
    standing, in one Redis round trip."""
    if standing is None:
        standing = await LeaderboardRepository(session).standing(user_id)
    current_city = next((board.value for board, _ in standing if board.scope == "city"), None)
    transaction = session.sync_session.get_transaction()
    pending = session.info.get(_UPDATES)
    if not isinstance(pending, _BoardUpdates) or pending.transaction is not transaction:
        pending = session.info[_UPDATES] = _BoardUpdates(transaction)
        cache = LeaderboardCache(resources)
        owed = pending

        async def update_cache() -> None:
            removals, points = owed.updates()
            for board, user in removals:
                await cache.remove(board, user)
            await cache.set_points(points)

        run_after_commit(session, update_cache)
    if left_city_key is not None and left_city_key != current_city:
        pending.left.append((Board("city", left_city_key), user_id))
    pending.standing[user_id] = standing


def remove_after_commit(session: AsyncSession, resources: Resources, user_id: int) -> None:
    """After the commit (of the learner's erasure), take the learner off every cached board: overall,
    every city's and every category's, and any rebuild in flight (`LeaderboardCache.remove_everywhere`).
    A failure is logged; the boards then still list the id with its points (never a name: those are read
    from PostgreSQL), until a read that shows them or the worker's next start rebuilds the board."""
    cache = LeaderboardCache(resources)

    async def remove() -> None:
        await cache.remove_everywhere(user_id)

    run_after_commit(session, remove)


async def rebuild_all(resources: Resources) -> int:
    """Rebuild every board from PostgreSQL and drop cached boards nobody belongs to any more."""
    cache = LeaderboardCache(resources)
    async with transaction(resources.sessionmaker) as session:
        repo = LeaderboardRepository(session)
        boards = await repo.boards()
        rebuilt = set()
        for board in boards:
            rebuilt.add(await _rebuild(cache, repo, board))
    async for key in cache.redis.scan_iter(match=cache.every_key, count=500):
        if key not in rebuilt and ":rebuild:" not in key:
            await cache.redis.delete(key)
    return len(boards)


async def rebuild_leaderboards(resources: Resources) -> None:
    """Worker job: rebuild the cached boards at start (Redis may have lost them), retrying while the
    stores are unreachable. Reads rebuild a missing board on their own too."""
    delay = 1.0
    while True:
        try:
            boards = await rebuild_all(resources)
        except (RedisError, SQLAlchemyError, OSError) as exc:
            log.warning("cannot rebuild leaderboards yet; retrying", extra={"error": repr(exc)})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)
        else:
            log.info("leaderboards rebuilt", extra={"boards": boards})
            return
