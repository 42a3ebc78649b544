from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol, TypeVar

from academy_contracts.gamification import (
    AchievementUnlockedV2,
    PointsAwardedFor,
    PointsAwardedV1,
    PointsAwardedV2,
    PointsReason,
)
from academy_contracts.gamification import Level as LevelInfo
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from academy_gamification import metrics
from academy_gamification.models import messaging
from academy_gamification.points.repository import PointsRepository
from academy_gamification.points.schemas import LearnerPointsOut
from academy_gamification.reference import reference_data


class LevelLike(Protocol):
    """A row of `levels` (the ORM model or the cached `reference.LevelRow`)."""

    @property
    def level(self) -> int: ...
    @property
    def min_points(self) -> int: ...
    @property
    def title_ru(self) -> str: ...
    @property
    def title_en(self) -> str: ...


L = TypeVar("L", bound=LevelLike)


async def award_points(
    session: AsyncSession,
    *,
    user_id: int,
    points: int,
    reason: PointsReason,
    award_key: str,
    awarded_for: PointsAwardedFor | None = None,
    category: str | None = None,
    source_event_id: str | None = None,
) -> PointsAwardedV2 | None:
    """Grant `points` once per `award_key`; returns the published v2 event, or None if already granted
    (`award_counting`, counting no completion)."""
    awarded = await award_counting(
        session,
        user_id=user_id,
        points=points,
        reason=reason,
        award_key=award_key,
        awarded_for=awarded_for,
        category=category,
        source_event_id=source_event_id,
    )
    return awarded.event


@dataclass(frozen=True)
class Awarded:
    """What `award_counting` did: the published v2 event (None: the award was granted before), the learner's
    (lessons, courses) completed now, and the award statement's row (None when not granted)."""

    event: PointsAwardedV2 | None
    counts: tuple[int, int]
    row: Any = None


async def award_counting(
    session: AsyncSession,
    *,
    user_id: int,
    points: int,
    reason: PointsReason,
    award_key: str,
    awarded_for: PointsAwardedFor | None = None,
    category: str | None = None,
    source_event_id: str | None = None,
    lessons: int = 0,
    courses: int = 0,
    statement: Select[Any] | None = None,
) -> Awarded:
    """Grant `points` once per `award_key` and count `lessons`/`courses` completed: the published v2 event
    (None if the award was granted before: the completions are counted all the same) and the learner's
    (lessons, courses) completed now ((0, 0) when the award was granted before and there was nothing to
    count). `statement`: an award statement that reads more in the same round trip
    (`PointsRepository.award_reading`), whose row `Awarded.row` is.

    The caller holds the learner's lock (`LEARNER_LOCK`), and the points are added to the totals only
    when their ledger row was inserted (an award key is granted once): the totals stay the sums of the
    ledger whatever was granted before and in whichever order, without summing it on every award. Ledger
    row, totals, category, counts and the learner's chain of v2 events (`publish_in_learner_order`) are one
    statement (`PointsRepository.award`), both events one more. Both versions are published during the
    transition (v2 adds what the points are for and the levels).
    """
    event_id = uuid.uuid4()  # the v2 event's: the award makes it the learner's last (publish_in_learner_order)
    row = await PointsRepository(session).award(
        user_id=user_id,
        points=points,
        reason=reason,
        award_key=award_key,
        category=category,
        source_event_id=source_event_id,
        lessons=lessons,
        courses=courses,
        event_id=str(event_id),
        statement=statement,
    )
    if row is None:  # granted before (the completion was not, or the caller would not be here)
        if not (lessons or courses):
            return Awarded(None, (0, 0))
        return Awarded(None, await PointsRepository(session).add_completions(user_id, lessons=lessons, courses=courses))
    total = row.total_points
    levels = (await reference_data(session)).levels
    awarded_at = datetime.now(UTC)
    event = PointsAwardedV2(
        user_id=user_id,
        award_id=row.entry_id,
        points=points,
        reason=reason,
        awarded_for=awarded_for,
        source_event_id=source_event_id,
        total_points=total,
        level_before=level_of(levels, total - points),
        level_after=level_of(levels, total),
        awarded_at=awarded_at,
        follows_event_id=row.previous_event_id,
    )
    legacy = PointsAwardedV1(
        user_id=user_id,
        award_id=row.entry_id,
        points=points,
        reason=reason,
        source_event_id=source_event_id,
        total_points=total,
        awarded_at=awarded_at,
    )
    await messaging.publish_all(session, [(event, event_id), (legacy, None)])
    metrics.POINTS_AWARDED.labels(reason).inc(points)
    return Awarded(event, (row.lessons_completed, row.courses_completed), row.row)


E = TypeVar("E", PointsAwardedV2, AchievementUnlockedV2)


async def publish_in_learner_order(session: AsyncSession, data: E) -> E:
    """Publish the v2 event `data` as the next link of its learner's chain (`follows_event_id` set to the
    previous link) and return it as published.

    The caller holds the learner's lock, so the links are in the order the facts were applied, one
    after the other with no gap: consumers that tell the learner handle each after the one it follows.
    """
    event_id = uuid.uuid4()
    previous = await PointsRepository(session).swap_last_event_id(data.user_id, str(event_id))
    linked = data.model_copy(update={"follows_event_id": previous})
    await messaging.publish(session, linked, event_id=event_id)
    return linked


def level_of(levels: Sequence[LevelLike], total_points: int) -> LevelInfo:
    """The level reached with `total_points`, as events carry it."""
    level, _ = current_level(levels, total_points)
    if level is None:  # the levels table starts at 0 points (migration reference data)
        raise LookupError(f"no level starts at or below {total_points} points: the levels table is incomplete")
    return LevelInfo(level=level.level, title=level.title_ru, title_en=level.title_en, min_points=level.min_points)


async def learner_standing(session: AsyncSession, user_id: int) -> tuple[int, LevelInfo]:
    """The learner's points total and level now (the caller holds the learner's lock)."""
    total = await PointsRepository(session).total_points(user_id)
    return total, level_of((await reference_data(session)).levels, total)


def current_level(levels: Sequence[L], total_points: int) -> tuple[L | None, L | None]:
    """The level reached with `total_points` and the one after it (None at the top)."""
    reached = [lv for lv in levels if lv.min_points <= total_points]
    ahead = [lv for lv in levels if lv.min_points > total_points]
    return (reached[-1] if reached else None), (ahead[0] if ahead else None)


def streak_alive(last_activity: date | None, today: date) -> bool:
    """A streak still counts when the learner studied today or yesterday (today is not over yet)."""
    return last_activity is not None and (today - last_activity).days <= 1


async def learner_points(session: AsyncSession, user_id: int, *, today: date) -> LearnerPointsOut:
    """A learner with no award yet has zero points (not a 404: every learner has a score)."""
    repo = PointsRepository(session)
    score = await repo.score(user_id)
    streak = await repo.streak(user_id)
    total = score.total_points if score else 0
    level, next_level = current_level((await reference_data(session)).levels, total)
    current_streak = streak.current_days if streak and streak_alive(streak.last_activity_date, today) else 0
    return LearnerPointsOut(
        user_id=user_id,
        total_points=total,
        level=level.level if level else 1,
        level_title_ru=level.title_ru if level else "",
        level_title_en=level.title_en if level else "",
        min_points=level.min_points if level else 0,
        next_level_points=next_level.min_points if next_level else None,
        points_to_next_level=next_level.min_points - total if next_level else None,
        lessons_completed=score.lessons_completed if score else 0,
        courses_completed=score.courses_completed if score else 0,
        streak_days=current_streak,
        longest_streak_days=streak.longest_days if streak else 0,
    )
