from __future__ import annotations

from pydantic import BaseModel

from academy_gamification.leaderboards.board import Scope


class LeaderboardEntryOut(BaseModel):
    rank: int
    user_id: int
    display_name: str
    points: int


class LeaderboardOut(BaseModel):
    scope: Scope
    city: str | None
    category: str | None
    top: list[LeaderboardEntryOut]
    me: LeaderboardEntryOut | None
    neighbours: list[LeaderboardEntryOut]  # the entries just above and just below me
