"""The learners' profile projection from users events, in any order."""

from datetime import UTC, datetime, timedelta

import pytest
from academy_contracts.users import UserErasedV2
from academy_gamification.models import ErasedLearner, LearnerProfile

pytestmark = pytest.mark.integration

PROFILES = "learner-profiles"
T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


async def profile(gamification, user_id: int) -> LearnerProfile | None:
    async with gamification.resources.sessionmaker() as session:
        return await session.get(LearnerProfile, user_id)


async def test_a_profile_update_that_overtakes_the_registration_is_kept(gamification):
    update = gamification.profile_updated(30, display_name="Анна С.", city="Казань", at=T0 + timedelta(minutes=5))
    registration = gamification.registered(30, display_name="Анна", city="Москва", at=T0)
    await gamification.publish_one_by_one(PROFILES, [update, registration])

    stored = await profile(gamification, 30)
    assert (stored.display_name, stored.city, stored.city_key) == ("Анна С.", "Казань", "казань")
    assert stored.profile_at == T0 + timedelta(minutes=5)


async def test_profile_events_in_order_keep_the_newest(gamification):
    await gamification.publish_one_by_one(
        PROFILES,
        [
            gamification.registered(31, display_name="Мария", city="Москва", at=T0),
            gamification.profile_updated(
                31, display_name="Мария", city="  санкт-петербург ", at=T0 + timedelta(hours=1)
            ),
        ],
    )
    stored = await profile(gamification, 31)
    assert (stored.city, stored.city_key) == ("  санкт-петербург ", "санкт-петербург")


async def test_an_erased_learner_keeps_no_name_or_city(gamification):
    await gamification.publish_one_by_one(
        PROFILES,
        [
            gamification.registered(32, display_name="Ольга", city="Москва", at=T0),
            UserErasedV2(user_id=32, erased_at=T0 + timedelta(days=1)),
            # a late update from before the erasure must not bring the data back
            gamification.profile_updated(32, display_name="Ольга", city="Тула", at=T0 + timedelta(hours=1)),
        ],
    )
    assert await profile(gamification, 32) is None  # the row is gone, name, city and all
    async with gamification.resources.sessionmaker() as session:
        assert await session.get(ErasedLearner, 32) is not None  # only the id remains, as a tombstone
