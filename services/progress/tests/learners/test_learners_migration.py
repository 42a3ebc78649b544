"""The migration that made `progress.learners` keeps the learners the users service had announced
(a `learner_preferences` row with its `profile_revision`), and only them."""

import asyncio

import pytest
from academy_runtime.migrations import migrate
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.integration

BEFORE = "ebf350c9f061"


async def test_learners_announced_before_the_table_existed_stay_known(service, scratch_database_url):
    await asyncio.to_thread(migrate, service, "upgrade", BEFORE, database_url=scratch_database_url)
    engine = create_async_engine(scratch_database_url)
    try:
        async with engine.begin() as conn:
            # 1: announced by users (v2); 2: only an opt-out anyone could write; 3: only an enrolment.
            await conn.execute(
                text(
                    "INSERT INTO progress.learner_preferences (user_id, timezone, profile_revision, reminders_opt_out)"
                    " VALUES (1, 'Asia/Novosibirsk', 2, false), (2, 'Europe/Moscow', NULL, true)"
                )
            )
            await conn.execute(
                text("INSERT INTO progress.user_courses (user_id, course_id, source) VALUES (3, 5, 'free')")
            )
        await asyncio.to_thread(migrate, service, "upgrade", "head", database_url=scratch_database_url)
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT user_id, source, erased_at FROM progress.learners"))).all()
    finally:
        await engine.dispose()

    assert [tuple(r) for r in rows] == [(1, "backfill", None)]
