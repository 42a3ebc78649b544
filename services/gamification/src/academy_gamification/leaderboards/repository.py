from __future__ import annotations

from collections.abc import Mapping

from academy_runtime.db import table_of
from academy_runtime.repository import Repository
from sqlalchemy import Integer, Select, bindparam, func, or_, select

from academy_gamification.leaderboards.board import OVERALL, Board, BoardSlice, RankedEntry
from academy_gamification.models import LearnerCategoryScore, LearnerProfile, LearnerScore

_CATEGORY_SCORES = table_of(LearnerCategoryScore)
_PROFILES = table_of(LearnerProfile)
_SCORES = table_of(LearnerScore)

# Built once: read after every award (see points.repository).
_STANDING = (
    select(_SCORES.c.total_points, _PROFILES.c.city_key, _CATEGORY_SCORES.c.category, _CATEGORY_SCORES.c.points)
    .select_from(_SCORES)
    .outerjoin(_PROFILES, _PROFILES.c.user_id == _SCORES.c.user_id)
    .outerjoin(
        _CATEGORY_SCORES,
        (_CATEGORY_SCORES.c.user_id == _SCORES.c.user_id) & (_CATEGORY_SCORES.c.points > 0),
    )
    .where(_SCORES.c.user_id == bindparam("user_id", type_=Integer))
    .order_by(_CATEGORY_SCORES.c.category)
)


def standing_of(total_points: int, city_key: str | None, category_points: Mapping[str, int]) -> list[tuple[Board, int]]:
    """The boards a learner belongs to, with their points on each: overall and their city's with their total,
    each category's where they have points (`category_points`, only those > 0 count). None with 0 points."""
    if total_points <= 0:
        return []
    standing = [(OVERALL, total_points)]
    if city_key is not None:
        standing.append((Board("city", city_key), total_points))
    categories = sorted(category_points.items())
    standing += [(Board("category", category), points) for category, points in categories if points > 0]
    return standing


class LeaderboardRepository(Repository):
    """The leaderboards as PostgreSQL holds them: the source Redis is rebuilt from, and its fallback."""

    def _scores(self, board: Board) -> Select[int, int]:
        if board.scope == "category":
            return select(LearnerCategoryScore.user_id, LearnerCategoryScore.points).where(
                LearnerCategoryScore.category == board.value, LearnerCategoryScore.points > 0
            )
        stmt = select(LearnerScore.user_id, LearnerScore.total_points.label("points")).where(
            LearnerScore.total_points > 0
        )
        if board.scope == "city":
            stmt = stmt.join(LearnerProfile, LearnerProfile.user_id == LearnerScore.user_id).where(
                LearnerProfile.city_key == board.value
            )
        return stmt

    async def rows(self, board: Board) -> list[tuple[int, int]]:
        """Every (user_id, points) of the board, for a rebuild."""
        return [(row.user_id, row.points) for row in await self.session.execute(self._scores(board))]

    async def slice(self, board: Board, *, limit: int, user_id: int | None) -> BoardSlice:
        """The same answer as the Redis board, computed in SQL (when Redis is down)."""
        scores = self._scores(board).subquery()
        ranked = select(
            scores.c.user_id,
            scores.c.points,
            func.row_number().over(order_by=(scores.c.points.desc(), scores.c.user_id)).label("rank"),
        ).subquery()
        my_rank = select(ranked.c.rank).where(ranked.c.user_id == (user_id or 0)).scalar_subquery()
        stmt = (
            select(ranked)
            .where(or_(ranked.c.rank <= limit, ranked.c.rank.between(my_rank - 1, my_rank + 1)))
            .order_by(ranked.c.rank)
        )
        entries = [
            RankedEntry(rank=row.rank, user_id=row.user_id, points=row.points)
            for row in await self.session.execute(stmt)
        ]
        return BoardSlice.from_ranked(entries, limit=limit, user_id=user_id)

    async def boards(self) -> list[Board]:
        """Every board that has at least one learner with points."""
        cities = await self.session.scalars(
            select(LearnerProfile.city_key)
            .join(LearnerScore, LearnerScore.user_id == LearnerProfile.user_id)
            .where(LearnerProfile.city_key.is_not(None), LearnerScore.total_points > 0)
            .distinct()
        )
        categories = await self.session.scalars(
            select(LearnerCategoryScore.category).where(LearnerCategoryScore.points > 0).distinct()
        )
        return [OVERALL, *(Board("city", c) for c in cities), *(Board("category", c) for c in categories)]

    async def standing(self, user_id: int) -> list[tuple[Board, int]]:
        """Where one learner belongs and with how many points: overall, their city, their categories.

        One statement (it runs after every award): the score row, joined to the profile's city and to the
        categories with points; read past the session's identity map, as the totals were just upserted.
        """
        rows = (await self.session.execute(_STANDING, {"user_id": user_id})).all()
        if not rows:
            return []
        return standing_of(
            rows[0].total_points,
            rows[0].city_key,
            {row.category: row.points for row in rows if row.category is not None},
        )

    async def profiles(self, user_ids: set[int]) -> dict[int, LearnerProfile]:
        if not user_ids:
            return {}
        rows = await self.session.scalars(select(LearnerProfile).where(LearnerProfile.user_id.in_(user_ids)))
        return {profile.user_id: profile for profile in rows}
