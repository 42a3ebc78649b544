"""Events published by the gamification service: points and achievements.

Version 2 of `points_awarded` and `achievement_unlocked` carries everything a learner is told about
them, so nobody has to ask gamification back: what the points are for (the course or achievement, by
name), the level before and after, an achievement's texts in Russian and English with the points and
level it brought. Each v2 event also names the one gamification published about the same learner just
before it (`follows_event_id`): delivery is not in order, and a consumer that tells the learner handles
them in that order. During the transition both versions of each fact are published.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from academy_contracts.base import ContractModel, EventData
from academy_contracts.primitives import (
    Count,
    DbId,
    Explanation,
    ExternalId,
    PositiveCount,
    Slug,
    Title,
    UtcDatetime,
)

__all__ = [
    "AchievementUnlockedV1",
    "AchievementUnlockedV2",
    "Level",
    "PointsAwardedFor",
    "PointsAwardedV1",
    "PointsAwardedV2",
    "PointsReason",
    "PointsSubjectKind",
]

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


# --- version 2 ------------------------------------------------------------------------------------

PointsSubjectKind = Literal["course", "lesson", "achievement"]

# The subject each reason names; `welcome` and `streak` have none.
_SUBJECT_OF_REASON: dict[str, str] = {
    "course_completed": "course",
    "lesson_completed": "lesson",
    "achievement": "achievement",
}

_FOLLOWS_DESCRIPTION = (
    "Id of the event gamification published about this learner just before this one (a "
    "`gamification.points_awarded.v2` or `gamification.achievement_unlocked.v2`); null for the first. "
    "Delivery is not in order: a consumer that tells the learner about points and achievements in the "
    "order they happened handles that event first (waiting a bounded time for it)."
)


class Level(ContractModel):
    """A level of the points scale (the levels table: Новичок/Beginner from 0 points, Ученик/Apprentice...)."""

    level: PositiveCount = Field(description="Level number, 1 for the first.")
    title: Title = Field(description="Title of the level in Russian, e.g. `Мастер`.")
    title_en: Title = Field(description="Title of the level in English, e.g. `Master`.")
    min_points: Count = Field(description="Points total from which the level is reached.")

    @classmethod
    def example(cls) -> Self:
        return cls(level=2, title="Ученик", title_en="Apprentice", min_points=100)


class PointsAwardedFor(ContractModel):
    """What an award of points is for, with its name, so the learner can be told the reason."""

    kind: PointsSubjectKind = Field(
        description="`course` (a completed course), `lesson` (a completed lesson) or `achievement` (unlocked)."
    )
    id: DbId = Field(description="The course, lesson or achievement id.")
    title: Title | None = Field(
        default=None,
        description="Its title as learners see it (Russian for achievements, the catalog's title for courses); "
        "null when gamification does not know it (lessons).",
    )
    title_en: Title | None = Field(
        default=None, description="Its English title where it has one (achievements); otherwise show `title`."
    )

    @classmethod
    def example(cls) -> Self:
        return cls(kind="course", id=7, title="Аппаратный маникюр: базовый курс")


class PointsAwardedV2(EventData):
    """Points were added to a learner's total (one row of the points ledger), with what they are for and the
    level before and after. Version 2 adds `awarded_for`, `level_before`, `level_after` and
    `follows_event_id`."""

    event_type: ClassVar[str] = "gamification.points_awarded.v2"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "awarded_at"

    user_id: DbId = Field(description="The learner.")
    award_id: DbId = Field(description="Id of the points ledger entry; unique per award (v1 and v2 share it).")
    points: PositiveCount = Field(description="Points added by this award (always positive).")
    reason: PointsReason = Field(
        description="Why the points were given: `welcome` bonus, `lesson_completed`, `course_completed`, "
        "`achievement` unlocked, or a learning `streak`."
    )
    awarded_for: PointsAwardedFor | None = Field(
        default=None,
        description="The course, lesson or achievement the points are for (its `kind` matches `reason`); "
        "null for `welcome` and `streak`.",
    )
    source_event_id: ExternalId | None = Field(
        default=None, description="Id of the CloudEvent that caused the award (e.g. a lesson_completed), if any."
    )
    total_points: Count = Field(description="The learner's point total after this award.")
    level_before: Level = Field(description="The learner's level before this award.")
    level_after: Level = Field(
        description="The learner's level after this award: a higher `level` than `level_before` means this "
        "award reached a new level (once per level: points only grow)."
    )
    follows_event_id: ExternalId | None = Field(default=None, description=_FOLLOWS_DESCRIPTION)
    awarded_at: UtcDatetime = Field(description="When the points were awarded.")

    @model_validator(mode="after")
    def _subject_matches_reason(self) -> Self:
        if self.awarded_for is not None and _SUBJECT_OF_REASON.get(self.reason) != self.awarded_for.kind:
            raise ValueError(f"points for {self.reason!r} cannot be for a {self.awarded_for.kind}")
        if self.level_after.level < self.level_before.level:
            raise ValueError("points only grow: level_after cannot be below level_before")
        return self

    @classmethod
    def example(cls) -> Self:
        return cls(
            user_id=42,
            award_id=9002,
            points=100,
            reason="course_completed",
            awarded_for=PointsAwardedFor(kind="course", id=7, title="Аппаратный маникюр: базовый курс"),
            source_event_id="1d2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b",
            total_points=180,
            level_before=Level(level=1, title="Новичок", title_en="Beginner", min_points=0),
            level_after=Level(level=2, title="Ученик", title_en="Apprentice", min_points=100),
            follows_event_id="6f1c2a7e-2d1b-4b7a-9d8e-0c4f5e6a7b8c",
            awarded_at=datetime(2025, 3, 20, 19, 45, 2, tzinfo=UTC),
        )


class AchievementUnlockedV2(EventData):
    """A learner earned an achievement (each achievement at most once per learner), with its texts in both
    languages and the points and level it brought. Version 2 adds `title_en`, the descriptions,
    `award_id`, `total_points`, `level_before`, `level_after` and `follows_event_id`."""

    event_type: ClassVar[str] = "gamification.achievement_unlocked.v2"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "unlocked_at"

    user_id: DbId = Field(description="The learner.")
    achievement_id: DbId = Field(description="Achievement id.")
    code: Slug = Field(description="Stable code of the achievement, e.g. `first_course_completed`.")
    title: Title = Field(description="Achievement title in Russian, as shown to learners.")
    title_en: Title | None = Field(default=None, description="Achievement title in English; null if it has none.")
    description: Explanation | None = Field(
        default=None, description="What the achievement is for, in Russian; null if it has none."
    )
    description_en: Explanation | None = Field(
        default=None, description="What the achievement is for, in English; null if it has none."
    )
    category: Slug | None = Field(
        default=None, description="Course category the achievement belongs to, e.g. `manicure`; null if general."
    )
    points: Count = Field(description="Points the achievement is worth, already added to `total_points`.")
    award_id: DbId | None = Field(
        default=None,
        description="The points ledger entry of those points (its `points_awarded` has the same `award_id`); "
        "null when the achievement is worth no points (or they were awarded before, e.g. an unlock restored).",
    )
    total_points: Count = Field(description="The learner's point total with the achievement's points.")
    level_before: Level = Field(description="The learner's level before the achievement's points.")
    level_after: Level = Field(
        description="The learner's level with the achievement's points: a higher `level` than `level_before` "
        "means the achievement reached a new level."
    )
    follows_event_id: ExternalId | None = Field(default=None, description=_FOLLOWS_DESCRIPTION)
    unlocked_at: UtcDatetime = Field(description="When the achievement was earned.")

    @model_validator(mode="after")
    def _points_are_awarded(self) -> Self:
        if self.award_id is not None and self.points == 0:
            raise ValueError("an achievement worth no points has no award_id")
        if self.level_after.level < self.level_before.level:
            raise ValueError("points only grow: level_after cannot be below level_before")
        return self

    @classmethod
    def example(cls) -> Self:
        return cls(
            user_id=42,
            achievement_id=3,
            code="first_course_completed",
            title="Первый курс завершён",
            title_en="First course completed",
            description="Завершите свой первый курс.",
            description_en="Complete your first course.",
            category=None,
            points=50,
            award_id=9003,
            total_points=230,
            level_before=Level(level=2, title="Ученик", title_en="Apprentice", min_points=100),
            level_after=Level(level=2, title="Ученик", title_en="Apprentice", min_points=100),
            follows_event_id="3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b",
            unlocked_at=datetime(2025, 3, 20, 19, 45, 3, tzinfo=UTC),
        )
