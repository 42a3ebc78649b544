"""The profile projection orders a learner's facts by the users revision: a late registration never
undoes a later change, whatever the timestamps say, and a fact delivered again (under another event id)
applies once."""

from datetime import UTC, datetime, timedelta
from itertools import permutations

import pytest
from academy_contracts.users import ProfileUpdatedV3, UserRegisteredV3
from academy_gamification.learners.service import ProfileVersion, supersedes
from academy_gamification.models import LearnerProfile

pytestmark = pytest.mark.integration

PROFILES = "learner-profiles"
WELCOME = "welcome-points"
T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def registered_v3(user_id: int, *, city: str, at: datetime = T0) -> UserRegisteredV3:
    return UserRegisteredV3(
        user_id=user_id,
        telegram_id=60_000 + user_id,
        display_name="Анна",
        locale="ru",
        city=city,
        time_zone="Europe/Moscow",
        time_zone_source="city",
        consent_version="2026-11-01",
        revision=1,
        registered_at=at,
    )


def updated_v3(user_id: int, *, city: str, revision: int, at: datetime, locale: str = "en") -> ProfileUpdatedV3:
    return ProfileUpdatedV3(
        user_id=user_id,
        telegram_id=60_000 + user_id,
        changed_fields=("city", "locale"),
        display_name="Анна",
        city=city,
        locale=locale,
        time_zone="Europe/Moscow",
        time_zone_source="city",
        revision=revision,
        updated_at=at,
    )


async def held(gamification, user_id: int) -> tuple[str | None, int | None] | None:
    async with gamification.resources.sessionmaker() as session:
        profile = await session.get(LearnerProfile, user_id)
    return None if profile is None else (profile.city, profile.profile_revision)


# -- the rule -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "held_revision", "held_at", "expected"),
    [
        (ProfileVersion(2, T0), 1, T0 + timedelta(hours=1), True),  # revisions decide, not clocks
        (ProfileVersion(1, T0 + timedelta(hours=1)), 2, T0, False),  # the late registration
        (ProfileVersion(2, T0), 2, T0, False),  # the same fact again
        (ProfileVersion(None, T0), 1, T0 + timedelta(hours=1), True),  # a v1 update is newer than a registration
        (ProfileVersion(None, T0 + timedelta(hours=1)), 2, T0, False),  # left to its v2 twin
        (ProfileVersion(1, T0 - timedelta(hours=1)), None, T0, False),  # a registration after a v1 update
        (ProfileVersion(1, T0 + timedelta(hours=1)), None, T0, False),  # even with a later timestamp
        (ProfileVersion(3, T0), None, T0, True),  # the v2 twin of the v1 update held
        (ProfileVersion(3, T0 - timedelta(seconds=1)), None, T0, False),
        (ProfileVersion(None, T0 + timedelta(seconds=1)), None, T0, True),  # v1 against v1: timestamps
        (ProfileVersion(None, T0), None, T0, False),
    ],
)
def test_which_fact_supersedes_the_held_one(new, held_revision, held_at, expected):
    assert supersedes(new, held_revision=held_revision, held_at=held_at) is expected


# -- through the broker -------------------------------------------------------------------------------


async def test_a_late_registration_does_not_undo_a_later_change(gamification):
    change = updated_v3(50, city="Казань", revision=2, at=T0 + timedelta(minutes=5))
    await gamification.publish_one_by_one(PROFILES, [change, registered_v3(50, city="Москва")])

    assert await held(gamification, 50) == ("Казань", 2)


async def test_the_revision_wins_over_a_skewed_timestamp(gamification):
    # users' clocks: the registration's time is the database's, an update's the application's.
    await gamification.publish_one_by_one(
        PROFILES,
        [
            registered_v3(51, city="Москва", at=T0 + timedelta(seconds=2)),
            updated_v3(51, city="Тула", revision=3, at=T0 + timedelta(seconds=1)),
            updated_v3(51, city="Казань", revision=2, at=T0 + timedelta(seconds=3)),
        ],
    )

    assert await held(gamification, 51) == ("Тула", 3)


@pytest.mark.parametrize("order", list(permutations(range(4)))[::5])
async def test_every_fact_told_twice_in_any_order_leaves_the_newest(gamification, order):
    # Each fact twice, under two event ids (a producer's re-publication): the inbox does not catch those.
    user_id = 52 + order[0] * 100 + order[1] * 10 + order[2]
    at = T0 + timedelta(minutes=5)
    facts = [
        registered_v3(user_id, city="Москва"),
        registered_v3(user_id, city="Москва"),
        updated_v3(user_id, city="Казань", revision=2, at=at),
        updated_v3(user_id, city="Казань", revision=2, at=at),
    ]
    await gamification.publish_one_by_one(PROFILES, [facts[i] for i in order])

    city, _ = await held(gamification, user_id)
    assert city == "Казань"


async def test_revisions_may_skip_numbers(gamification):
    # profile_updated.v3 is not published for a change subscribers cannot see (the phone).
    await gamification.publish_one_by_one(
        PROFILES,
        [
            registered_v3(54, city="Москва"),
            updated_v3(54, city="Тула", revision=5, at=T0 + timedelta(minutes=2)),
            updated_v3(54, city="Казань", revision=3, at=T0 + timedelta(minutes=1)),
        ],
    )

    assert await held(gamification, 54) == ("Тула", 5)


async def test_the_registration_told_twice_awards_welcome_points_once(gamification):
    await gamification.publish_one_by_one(WELCOME, [registered_v3(53, city="Москва"), registered_v3(53, city="Москва")])

    assert [entry.award_key for entry in await gamification.ledger(53)] == ["welcome:53"]
