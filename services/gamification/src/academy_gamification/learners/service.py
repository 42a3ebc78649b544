"""The learners' profile as gamification needs it: a name for the leaderboards and a city to group by.

Fed by users events, which may arrive out of order (a profile update before the registration) or
again: each carries the profile as of its timestamp, and the newest one wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from academy_gamification.learner_lock import lock_learner
from academy_gamification.learners.repository import LearnerProfileRepository
from academy_gamification.models import LearnerProfile


def city_key(city: str | None) -> str | None:
    """How leaderboards compare cities: case and extra spaces do not make a different city."""
    if city is None:
        return None
    key = " ".join(city.split()).casefold()
    return key or None


def display_name(user_id: int, full_name: str | None) -> str:
    return full_name.strip() if full_name and full_name.strip() else f"Ученик #{user_id}"


@dataclass(frozen=True)
class ProfileChange:
    old_city_key: str | None
    new_city_key: str | None


async def apply_profile(
    session: AsyncSession,
    *,
    user_id: int,
    full_name: str | None,
    city: str | None,
    as_of: datetime,
    is_update: bool,
) -> ProfileChange | None:
    """Keep the profile of `as_of` unless a newer one is already known; None when nothing changed.

    At an equal timestamp an update wins over a registration (it can only have come after it).
    """
    await lock_learner(session, user_id)
    repo = LearnerProfileRepository(session)
    profile = await repo.get(user_id)
    if profile is None:
        await repo.add(
            LearnerProfile(user_id=user_id, full_name=full_name, city=city, city_key=city_key(city), profile_at=as_of)
        )
        return ProfileChange(old_city_key=None, new_city_key=city_key(city))
    if profile.erased_at is not None:
        return None  # the learner's data was erased: nothing about them is kept any more
    if profile.profile_at > as_of or (profile.profile_at == as_of and not is_update):
        return None
    old_city_key = profile.city_key
    profile.full_name, profile.city, profile.city_key, profile.profile_at = full_name, city, city_key(city), as_of
    await session.flush()
    return ProfileChange(old_city_key=old_city_key, new_city_key=profile.city_key)


async def erase_profile(session: AsyncSession, *, user_id: int, erased_at: datetime) -> ProfileChange:
    """Forget the name and city (points stay: they are not personal data on their own)."""
    await lock_learner(session, user_id)
    repo = LearnerProfileRepository(session)
    profile = await repo.get(user_id)
    if profile is None:
        # Erased before anything else arrived: remember it, so a late registration stores nothing.
        await repo.add(LearnerProfile(user_id=user_id, profile_at=erased_at, erased_at=erased_at))
        return ProfileChange(old_city_key=None, new_city_key=None)
    old_city_key = profile.city_key
    profile.full_name = profile.city = profile.city_key = None
    profile.erased_at = profile.erased_at or erased_at
    await session.flush()
    return ProfileChange(old_city_key=old_city_key, new_city_key=None)
