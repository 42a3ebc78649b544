from __future__ import annotations

from typing import Annotated

from academy_runtime.db import SessionDep
from academy_runtime.dependencies import ResourcesDep
from academy_runtime.ids import UserId
from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from academy_gamification.dependencies import LearnerStandingReader, SettingsDep
from academy_gamification.leaderboards import service
from academy_gamification.leaderboards.board import Board, Scope
from academy_gamification.leaderboards.schemas import LeaderboardOut
from academy_gamification.learners.service import city_key
from academy_gamification.settings import MAX_LEADERBOARD_LIMIT

router = APIRouter(prefix="/internal/leaderboards", tags=["leaderboards"])


class LeaderboardQuery(BaseModel):
    scope: Scope = "overall"
    city: str | None = Field(default=None, min_length=1, max_length=100, description="Required with scope=city.")
    category: str | None = Field(
        default=None, pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=100, description="Required with scope=category."
    )
    user_id: UserId | None = Field(default=None, description="Whose rank and neighbours.")
    limit: int = Field(
        default=10,
        ge=1,
        le=MAX_LEADERBOARD_LIMIT,
        description="Places from the top; a deployment may allow fewer (LEADERBOARD_MAX_LIMIT).",
    )


def _invalid(field: str, message: str, kind: str = "missing") -> RequestValidationError:
    # Rendered by the runtime's handler like any other 422: {"field": "query.<field>", "message": ...}.
    return RequestValidationError([{"loc": ("query", field), "msg": message, "type": kind}])


def _board(query: LeaderboardQuery) -> Board:
    if query.scope == "city":
        key = city_key(query.city)
        if key is None:
            raise _invalid("city", "city is required when scope is city")
        return Board("city", key)
    if query.scope == "category":
        if query.category is None:
            raise _invalid("category", "category is required when scope is category")
        return Board("category", query.category)
    return Board("overall")


@router.get("", response_model=LeaderboardOut)
async def get_leaderboard(
    query: Annotated[LeaderboardQuery, Query()],
    session: SessionDep,
    resources: ResourcesDep,
    settings: SettingsDep,
    _: LearnerStandingReader,
) -> LeaderboardOut:
    """Top `limit` of the board and, with `user_id`, that learner's own rank and neighbours."""
    if query.limit > settings.leaderboard_max_limit:
        raise _invalid("limit", f"limit must be at most {settings.leaderboard_max_limit}", "less_than_equal")
    board = _board(query)
    return await service.leaderboard(
        session,
        resources,
        board,
        limit=query.limit,
        user_id=query.user_id,
        city=query.city.strip() if board.scope == "city" and query.city else None,
        category=query.category if board.scope == "category" else None,
    )
