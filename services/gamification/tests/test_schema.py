"""The service's schema: migrations go up, down and up again and build exactly the models; its tables
are readable by its own role only."""

import pytest
from academy_gamification.models import Base
from academy_runtime.testing import assert_migrations_round_trip, assert_role_isolated, query_as

pytestmark = pytest.mark.integration


async def test_migrations_round_trip_and_match_the_models(service, scratch_database_url):
    await assert_migrations_round_trip(service, scratch_database_url)


@pytest.mark.parametrize("table", sorted(t.name for t in Base.metadata.sorted_tables))
async def test_no_other_service_can_read_the_table(platform, migrated, table):
    await assert_role_isolated(platform, "gamification", table)


async def test_the_service_role_reads_its_own_tables(platform, migrated):
    assert await query_as(platform, "gamification", 'SELECT count(*) FROM "gamification"."outbox"') is not None
