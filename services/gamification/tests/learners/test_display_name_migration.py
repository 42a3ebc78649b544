"""The migration that replaced the full name with the display name keeps what the boards showed, in its
display form, and nothing of the full name."""

import asyncio

import pytest
from academy_runtime.migrations import migrate
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.integration

BEFORE = "9de9081907bb"
FULL_NAMES = {1: "Анна Петрова", 2: "Борис", 3: None, 4: "  Zoe\u0301   Éclair-Smith ", 5: "Я" * 255}
# The rule is frozen in the migration (the users service derives display names for new events).
DISPLAY_NAMES = {1: "Анна П.", 2: "Борис", 3: None, 4: "Zoé É.", 5: "Я" * 59 + "…"}


async def test_display_names_are_derived_from_the_stored_full_names(service, scratch_database_url):
    await asyncio.to_thread(migrate, service, "upgrade", BEFORE, database_url=scratch_database_url)
    engine = create_async_engine(scratch_database_url)
    try:
        async with engine.begin() as conn:
            for user_id, full_name in FULL_NAMES.items():
                await conn.execute(
                    text(
                        "INSERT INTO gamification.learner_profiles (user_id, full_name, profile_at)"
                        " VALUES (:user_id, :full_name, now())"
                    ),
                    {"user_id": user_id, "full_name": full_name},
                )
        await asyncio.to_thread(migrate, service, "upgrade", "head", database_url=scratch_database_url)
        async with engine.connect() as conn:
            rows = dict(
                (await conn.execute(text("SELECT user_id, display_name FROM gamification.learner_profiles"))).all()
            )
            columns = set(
                (
                    await conn.execute(
                        text(
                            "SELECT column_name FROM information_schema.columns"
                            " WHERE table_schema = 'gamification' AND table_name = 'learner_profiles'"
                        )
                    )
                ).scalars()
            )
            anonymous = (
                await conn.execute(text("SELECT bool_or(leaderboard_anonymous) FROM gamification.learner_profiles"))
            ).scalar()
    finally:
        await engine.dispose()

    assert rows == DISPLAY_NAMES
    assert rows[1] == "Анна П."
    assert rows[4] == "Zoé É."
    assert "full_name" not in columns
    assert anonymous is False  # nobody is hidden until they ask
