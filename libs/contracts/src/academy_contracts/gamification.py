"""Events published by the gamification service: points and achievements."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar, Literal, Self

from pydantic import Field

from academy_contracts.base import EventData
from academy_contracts.primitives import Count, DbId, ExternalId, PositiveCount, Slug, Title, UtcDatetime

__all__ = ["AchievementUnlockedV1", "PointsAwardedV1", "PointsReason"]

_SERVICE = "gamification"

PointsReason = Literal["welcome", "lesson_completed", "course_completed", "achievement", "streak"]


class PointsAwardedV1(EventData):
    """Points were added to a learner's total (one row of the points ledger)."""

    event_type: ClassVar[str] = "gamification.points_awarded.v1"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "awarded_at"

    user_id: DbId = Field(description="The learner.")
    award_id: DbId = Field(description="Id of the points ledger entry; unique per award.")
    points: PositiveCount = Field(description="Points added by this award (always positive).")
    reason: PointsReason = Field(
        description="Why the points were given: `welcome` bonus, `lesson_completed`, `course_completed`, "
        "`achievement` unlocked, or a learning `streak`."
    )
    source_event_id: ExternalId | None = Field(
        default=None, description="Id of the CloudEvent that caused the award (e.g. a lesson_completed), if any."
    )
    total_points: Count = Field(description="The learner's point total after this award.")
    awarded_at: UtcDatetime = Field(description="When the points were awarded.")

    @classmethod
    def example(cls) -> Self:
        return cls(
            user_id=42,
            award_id=9001,
            points=10,
            reason="lesson_completed",
            source_event_id="6f1c2a7e-2d1b-4b7a-9d8e-0c4f5e6a7b8c",
            total_points=160,
            awarded_at=datetime(2025, 3, 4, 20, 15, 2, tzinfo=UTC),
        )


class AchievementUnlockedV1(EventData):
    """A learner earned an achievement (each achievement at most once per learner)."""

    event_type: ClassVar[str] = "gamification.achievement_unlocked.v1"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "unlocked_at"

    user_id: DbId = Field(description="The learner.")
    achievement_id: DbId = Field(description="Achievement id.")
    code: Slug = Field(description="Stable code of the achievement, e.g. `first_course_completed`.")
    title: Title = Field(description="Achievement title as shown to learners.")
    points: Count = Field(description="Points the achievement is worth (awarded in a separate points_awarded).")
    category: Slug | None = Field(
        default=None, description="Course category the achievement belongs to, e.g. `manicure`; null if general."
    )
    unlocked_at: UtcDatetime = Field(description="When the achievement was earned.")

    @classmethod
    def example(cls) -> Self:
        return cls(
            user_id=42,
            achievement_id=3,
            code="nail_master",
            title="Мастер ногтей",
            points=100,
            category="manicure",
            unlocked_at=datetime(2025, 3, 20, 19, 45, 3, tzinfo=UTC),
        )
