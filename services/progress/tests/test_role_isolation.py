"""Each service's role owns its schema and can read nothing else (ARCHITECTURE.md: no shared tables)."""

import asyncpg
import pytest
from academy_runtime.db import asyncpg_dsn
from academy_runtime.testing import TestPlatform

pytestmark = pytest.mark.integration


async def _query_as(platform: TestPlatform, service: str, sql: str) -> list:
    conn = await asyncpg.connect(asyncpg_dsn(platform.database_url(service)))
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


async def test_progress_role_reads_its_own_tables(platform, migrated):
    assert await _query_as(platform, "progress", "SELECT * FROM progress.user_courses") == []


@pytest.mark.parametrize("other", ["catalog", "billing", "gamification", "users"])
async def test_other_roles_cannot_read_progress_tables(platform, migrated, other):
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
        await _query_as(platform, other, "SELECT * FROM progress.user_courses")


async def test_progress_role_cannot_read_catalog_tables(platform, migrated):
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
        await _query_as(platform, "progress", "SELECT * FROM catalog.courses")
