"""The learners' profile as gamification needs it: a display name for the leaderboards (never the full
name: the users service derives «Анна П.» and its v3 events carry only that), a city to group by, and
whether the learner chose to appear anonymously; and the learner's erasure.

Fed by users events, which may arrive out of order (a profile update before the registration, after a
broker outage) or again: each carries the whole profile as of a version, and the newest one wins
(`supersedes`). The version is the users service's `revision` (every v3 event; a registration is
revision 1). Rows written from a `profile_updated.v1`, before revisions, hold none and are ordered by
their timestamp until a fact with a revision replaces them.

An erased learner (`erase_learner`) leaves their id in `erased_learners` and nothing else but their
ledger rows, detached from them; every write keyed by a learner asks `learner_erased` first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from academy_runtime.errors import LearnerNotFoundError
from sqlalchemy.ext.asyncio import AsyncSession

from academy_gamification.achievements.repository import AchievementRepository
from academy_gamification.activity.repository import ActivityRepository
from academy_gamification.learners.repository import (
    LEARNER_LOCK,
    ErasedLearnerRepository,
    LearnerOutboxRepository,
    LearnerProfileRepository,
)
from academy_gamification.models import LearnerProfile
from academy_gamification.points.repository import PointsRepository


def city_key(city: str | None) -> str | None:
    """How leaderboards compare cities: case and extra spaces do not make a different city."""
    if city is None:
        return None
    key = " ".join(city.split()).casefold()
    return key or None


@dataclass(frozen=True)
class ProfileChange:
    old_city_key: str | None
    new_city_key: str | None


@dataclass(frozen=True)
class ProfileVersion:
    """Where a profile fact stands among the learner's: the users revision (every v3 event has one; None
    only describes values held from a `profile_updated.v1`) and the event's own timestamp."""

    revision: int | None
    at: datetime


def supersedes(new: ProfileVersion, *, held_revision: int | None, held_at: datetime) -> bool:
    """Whether a fact of version `new` replaces the profile held (of `held_revision`, `held_at`).

    Revisions decide when both are known (the users service's rule: keep the highest; v3 updates may
    skip numbers, which changes nothing here). The other branches order values without a revision, from
    the move from v1 to v2 when both versions of every fact were heard: a v1 update is newer than a
    registration (revision 1) but is otherwise left to its v2 twin; a held v1 update (no revision) is
    newer than any registration, and against anything else the timestamps decide (a twin, same instant,
    applies). Today's facts all carry a revision; a row held from a v1 update may still meet them.
    """
    if new.revision is not None and held_revision is not None:
        return new.revision > held_revision
    if new.revision is None and held_revision is not None:
        return held_revision == 1
    if new.revision is not None:  # held: a v1 update (or a row from before revisions)
        return new.revision > 1 and new.at >= held_at
    return new.at > held_at


async def learner_erased(session: AsyncSession, user_id: int) -> bool:
    """Whether the learner was erased: nothing about them may be stored again. Ask it holding the
    learner's lock (`LEARNER_LOCK`), which the erasure holds too, so the answer stands until the commit."""
    return await ErasedLearnerRepository(session).is_erased(user_id)


async def apply_profile(
    session: AsyncSession,
    *,
    user_id: int,
    display_name: str | None,
    city: str | None,
    version: ProfileVersion,
) -> ProfileChange | None:
    """Keep the profile of `version` (`display_name` as the users service derived it, «Анна П.», or None
    for a learner without a name) unless a newer one is already known or the learner was erased; None
    when nothing changed."""
    await LEARNER_LOCK.hold(session, user_id)
    if await learner_erased(session, user_id):
        return None  # a fact from before the erasure, delivered late: nothing about them is kept any more
    repo = LearnerProfileRepository(session)
    profile = await repo.get(user_id)
    if profile is None:
        await repo.add(
            LearnerProfile(
                user_id=user_id,
                display_name=display_name,
                city=city,
                city_key=city_key(city),
                profile_at=version.at,
                profile_revision=version.revision,
            )
        )
        return ProfileChange(old_city_key=None, new_city_key=city_key(city))
    if not supersedes(version, held_revision=profile.profile_revision, held_at=profile.profile_at):
        return None
    old_city_key = profile.city_key
    profile.display_name, profile.city, profile.city_key = display_name, city, city_key(city)
    profile.profile_at, profile.profile_revision = version.at, version.revision
    await session.flush()
    return ProfileChange(old_city_key=old_city_key, new_city_key=profile.city_key)


@dataclass(frozen=True)
class Erasure:
    """What an erasure did: ledger rows detached and outbox rows deleted (0 and 0 when repeated)."""

    detached_awards: int
    deleted_events: int


async def erase_learner(session: AsyncSession, *, user_id: int) -> Erasure:
    """Erase what gamification holds about the learner (`users.user_erased`), in the caller's transaction.

    - `erased_learners`: the id is remembered (nothing else), so no later fact stores anything again;
    - `points_ledger`: the rows stay, so the platform's totals do not change, detached from the learner
      (`PointsRepository.detach_ledger`: no user id, no award key or source event naming them, the day only);
    - `learner_scores`, `learner_category_scores`, `streaks`, `user_achievements`, `lesson_completions`,
      `course_completions`, `learner_profiles` (display name, city, anonymity choice): their rows deleted;
    - `outbox`: every event about them deleted, published or not (they carry the user id; one not yet
      sent would tell subscribers about a learner who is gone).

    The leaderboards in Redis are the caller's to clean after the commit
    (`leaderboards.service.remove_after_commit`). Idempotent: a second erasure finds nothing to do.
    152-ФЗ art. 21 §5 (erasure once consent is withdrawn); the ledger is kept as statistics that no
    longer relate to a person.
    """
    await LEARNER_LOCK.hold(session, user_id)
    await ErasedLearnerRepository(session).remember(user_id)
    await LearnerProfileRepository(session).delete(user_id)
    await ActivityRepository(session).delete_learner(user_id)
    await AchievementRepository(session).delete_unlocks(user_id)
    points = PointsRepository(session)
    await points.delete_scores(user_id)
    detached = await points.detach_ledger(user_id)
    deleted = await LearnerOutboxRepository(session).delete_about(user_id)
    return Erasure(detached_awards=detached, deleted_events=deleted)


async def set_leaderboard_anonymous(session: AsyncSession, *, user_id: int, anonymous: bool) -> LearnerProfile:
    """Show the learner on the leaderboards by their display name, or as an anonymous participant.

    404 `learner_not_found` for a learner gamification has not heard of (their registration event has not
    arrived yet: safe to retry a moment later) or whose data was erased. The cached boards in Redis hold
    user ids and points only, names are read from PostgreSQL on every read: nothing cached to invalidate.
    """
    await LEARNER_LOCK.hold(session, user_id)
    if await learner_erased(session, user_id):
        raise LearnerNotFoundError(user_id, f"learner {user_id} was erased")
    profile = await LearnerProfileRepository(session).get(user_id)
    if profile is None:
        raise LearnerNotFoundError(user_id)
    profile.leaderboard_anonymous = anonymous
    await session.flush()
    return profile
