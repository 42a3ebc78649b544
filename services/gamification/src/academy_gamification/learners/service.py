"""The learners' profile as gamification needs it: a display name for the leaderboards (never the full
name, `learners.names`), a city to group by, and whether the learner chose to appear anonymously.

Fed by users events, which may arrive out of order (a profile update before the registration, after a
broker outage) or again: each carries the whole profile as of a version, and the newest one wins
(`supersedes`). The version is the users service's `revision` (v2 events; a registration is always
revision 1, in v1 too); only a `profile_updated.v1` has none, and is ordered by its timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from academy_runtime.errors import LearnerNotFoundError
from sqlalchemy.ext.asyncio import AsyncSession

from academy_gamification.learners.names import display_name
from academy_gamification.learners.repository import LEARNER_LOCK, LearnerProfileRepository
from academy_gamification.models import LearnerProfile


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
    """Where a profile fact stands among the learner's: the users revision (None: a `profile_updated.v1`,
    which does not say) and the event's own timestamp."""

    revision: int | None
    at: datetime


def supersedes(new: ProfileVersion, *, held_revision: int | None, held_at: datetime) -> bool:
    """Whether a fact of version `new` replaces the profile held (of `held_revision`, `held_at`).

    Revisions decide when both are known. During the move from v1 to v2 the consumer hears both
    versions of every fact (users publishes them together): a v1 update is newer than a registration
    (revision 1) but is otherwise left to its v2 twin; a held v1 update (no revision) is newer than any
    registration, and against anything else the timestamps decide (a twin, same instant, applies).
    """
    if new.revision is not None and held_revision is not None:
        return new.revision > held_revision
    if new.revision is None and held_revision is not None:
        return held_revision == 1
    if new.revision is not None:  # held: a v1 update (or a row from before revisions)
        return new.revision > 1 and new.at >= held_at
    return new.at > held_at


async def apply_profile(
    session: AsyncSession,
    *,
    user_id: int,
    full_name: str | None,
    city: str | None,
    version: ProfileVersion,
) -> ProfileChange | None:
    """Keep the profile of `version` unless a newer one is already known; None when nothing changed.

    Of the name, only its display form («Анна П.») is kept."""
    await LEARNER_LOCK.hold(session, user_id)
    repo = LearnerProfileRepository(session)
    profile = await repo.get(user_id)
    if profile is None:
        await repo.add(
            LearnerProfile(
                user_id=user_id,
                display_name=display_name(full_name),
                city=city,
                city_key=city_key(city),
                profile_at=version.at,
                profile_revision=version.revision,
            )
        )
        return ProfileChange(old_city_key=None, new_city_key=city_key(city))
    if profile.erased_at is not None:
        return None  # the learner's data was erased: nothing about them is kept any more
    if not supersedes(version, held_revision=profile.profile_revision, held_at=profile.profile_at):
        return None
    old_city_key = profile.city_key
    profile.display_name, profile.city, profile.city_key = display_name(full_name), city, city_key(city)
    profile.profile_at, profile.profile_revision = version.at, version.revision
    await session.flush()
    return ProfileChange(old_city_key=old_city_key, new_city_key=profile.city_key)


async def erase_profile(session: AsyncSession, *, user_id: int, erased_at: datetime) -> ProfileChange:
    """Forget the name and city (points stay: they are not personal data on their own)."""
    await LEARNER_LOCK.hold(session, user_id)
    repo = LearnerProfileRepository(session)
    profile = await repo.get(user_id)
    if profile is None:
        # Erased before anything else arrived: remember it, so a late registration stores nothing.
        await repo.add(LearnerProfile(user_id=user_id, profile_at=erased_at, erased_at=erased_at))
        return ProfileChange(old_city_key=None, new_city_key=None)
    old_city_key = profile.city_key
    profile.display_name = profile.city = profile.city_key = None
    profile.erased_at = profile.erased_at or erased_at
    await session.flush()
    return ProfileChange(old_city_key=old_city_key, new_city_key=None)


async def set_leaderboard_anonymous(session: AsyncSession, *, user_id: int, anonymous: bool) -> LearnerProfile:
    """Show the learner on the leaderboards by their display name, or as an anonymous participant.

    404 `learner_not_found` for a learner gamification has not heard of (their registration event has not
    arrived yet: safe to retry a moment later) or whose data was erased. The cached boards in Redis hold
    user ids and points only, names are read from PostgreSQL on every read: nothing cached to invalidate.
    """
    await LEARNER_LOCK.hold(session, user_id)
    profile = await LearnerProfileRepository(session).get(user_id)
    if profile is None:
        raise LearnerNotFoundError(user_id)
    if profile.erased_at is not None:
        raise LearnerNotFoundError(user_id, f"learner {user_id} was erased")
    profile.leaderboard_anonymous = anonymous
    await session.flush()
    return profile
