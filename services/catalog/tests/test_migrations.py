"""The initial migration carries the reference data (the seven categories); the round trip itself is
in test_schema.py."""

import asyncio

import asyncpg
import pytest
from academy_runtime.db import asyncpg_dsn
from academy_runtime.migrations import migrate

pytestmark = pytest.mark.integration


async def test_the_initial_migration_seeds_the_seven_categories(scratch_database_url, service, reference_categories):
    await asyncio.to_thread(migrate, service, "upgrade", "head", database_url=scratch_database_url)
    conn = await asyncpg.connect(asyncpg_dsn(scratch_database_url))
    try:
        rows = await conn.fetch("SELECT slug, title_ru, title_en, sort_order FROM catalog.categories ORDER BY 4")
    finally:
        await conn.close()

    assert [dict(r) for r in rows] == reference_categories
