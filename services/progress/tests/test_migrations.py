"""The migrations build exactly the models' schema on an empty database, and tear it down again.

They run against a scratch database (same roles, fresh schemas), so downgrading never disturbs the
session's database that the other tests use.
"""

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from academy_runtime.migrations import migrate
from academy_runtime.provisioning import provision
from academy_runtime.testing import TestPlatform
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.integration

SCHEMA = "progress"
TABLES = {
    "alembic_version",
    "course_projection",
    "idempotency_keys",
    "inactivity_reminders",
    "inbox",
    "learner_preferences",
    "lesson_projection",
    "outbox",
    "user_courses",
    "user_progress",
    "user_transcripts",
}


@pytest.fixture
async def scratch_url(platform: TestPlatform) -> AsyncIterator[str]:
    database = f"{platform.database}_{SCHEMA}_migrations"
    await provision(platform.infra.admin_url, database, role_prefix=platform.role_prefix)
    yield platform.database_url(SCHEMA).rsplit("/", 1)[0] + f"/{database}"
    conn = await asyncpg.connect(platform.admin_dsn("postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", SCHEMA)
    finally:
        await conn.close()
    return {r["tablename"] for r in rows}


async def _schema_drift(url: str, service) -> list[str]:
    """What autogenerate would still change: empty when the migrations match the models."""
    # The role's search_path starts with its schema; alembic would then call that schema None (the
    # default one) and report every table and foreign key as changed. Reflect it by its name instead.
    engine = create_async_engine(url, connect_args={"server_settings": {"search_path": "public"}})

    def compare(sync_conn) -> list:
        context = MigrationContext.configure(
            sync_conn,
            opts={
                "include_schemas": True,
                "include_name": lambda name, type_, _: type_ != "schema" or name == SCHEMA,
                "compare_type": True,
                "version_table_schema": SCHEMA,
            },
        )
        return compare_metadata(context, service.metadata)

    try:
        async with engine.connect() as conn:
            diffs = await conn.run_sync(compare)
        return [_describe(diff) for diff in diffs]
    finally:
        await engine.dispose()


def _describe(diff) -> str:
    if isinstance(diff, list):  # column modifications come as a list of tuples
        return "; ".join(_describe(d) for d in diff)
    kind, *rest = diff
    return f"{kind}: " + ", ".join(str(getattr(x, "name", x)) for x in rest)


async def test_upgrade_downgrade_upgrade_on_an_empty_schema(scratch_url, service):
    await asyncio.to_thread(migrate, service, "upgrade", "head", database_url=scratch_url)
    assert await _tables(scratch_url) == TABLES
    drift = await _schema_drift(scratch_url, service)
    assert drift == [], "\n".join(drift)

    await asyncio.to_thread(migrate, service, "downgrade", "base", database_url=scratch_url)
    assert await _tables(scratch_url) == {"alembic_version"}

    await asyncio.to_thread(migrate, service, "upgrade", "head", database_url=scratch_url)
    assert await _tables(scratch_url) == TABLES
