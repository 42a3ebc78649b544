from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SetLeaderboardVisibility(BaseModel):
    """Command: show the learner on the leaderboards by their display name, or anonymously."""

    model_config = ConfigDict(extra="forbid")

    anonymous: bool = Field(
        description="True: other learners see «Участник №<rank>» instead of the display name.", examples=[True]
    )


class LeaderboardVisibilityOut(BaseModel):
    user_id: int
    anonymous: bool
