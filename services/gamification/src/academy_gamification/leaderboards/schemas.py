from __future__ import annotations

from pydantic import BaseModel, Field

from academy_gamification.leaderboards.board import Scope


class LeaderboardEntryOut(BaseModel):
    rank: int
    user_id: int
    display_name: str | None = Field(
        description="First name and the initial of the last name («Анна П.»); null when the learner chose to "
        "appear anonymously (`anonymous`) or gamification knows no name for them: the caller shows a "
        "placeholder of its own, e.g. «Участник №<rank>»."
    )
    anonymous: bool = Field(description="The learner chose to appear anonymously on the leaderboards.")
    points: int


class LeaderboardOut(BaseModel):
    scope: Scope
    city: str | None
    category: str | None
    top: list[LeaderboardEntryOut]
    me: LeaderboardEntryOut | None
    neighbours: list[LeaderboardEntryOut]  # the entries just above and just below me
    me_anonymous: bool = Field(
        description="Whether the learner of `user_id` chose to appear anonymously (false without `user_id`), "
        "also when they are not on this board."
    )
