import asyncio

import asyncpg
import pytest
from academy_runtime.migrations import migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

pytestmark = pytest.mark.integration

BILLING_TABLES = {
    "alembic_version",
    "course_prices",
    "idempotency_keys",
    "inbox",
    "outbox",
    "payments",
    "provider_events",
    "purchases",
    "wallet_transactions",
    "wallets",
}


async def _tables(resources) -> set[str]:
    async with resources.engine.connect() as conn:
        rows = await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'billing'"))
        return {row[0] for row in rows}


async def test_migrations_downgrade_to_base_and_upgrade_to_head_again(resources, service, settings):
    assert await _tables(resources) == BILLING_TABLES
    try:
        await asyncio.to_thread(migrate, service, "downgrade", "base", database_url=settings.database_url)
        after_downgrade = await _tables(resources)
    finally:
        # Whatever happened, leave the schema at head for the other tests.
        await asyncio.to_thread(migrate, service, "upgrade", "head", database_url=settings.database_url)
        # Pooled connections may hold statements prepared against the dropped tables.
        await resources.engine.dispose()

    assert after_downgrade == {"alembic_version"}
    assert await _tables(resources) == BILLING_TABLES


async def test_models_and_migrations_agree(migrated, service):
    """Autogenerate against the migrated schema finds nothing to do: models.py and versions/ agree."""

    def differences(connection) -> list:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_schemas": True,
                "include_name": lambda name, type_, _: type_ != "schema" or name == "billing",
                "compare_type": True,
                "version_table_schema": "billing",
            },
        )
        return compare_metadata(context, service.metadata)

    # The role's own search_path would make `billing` the default schema, which alembic reflects as
    # None; every table would then look new and every foreign key changed. Comparing from outside the
    # schema reflects it under its name (the same fix is proposed for academy_runtime.migrations).
    engine = create_async_engine(
        migrated.database_url, poolclass=NullPool, connect_args={"server_settings": {"search_path": "public"}}
    )
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(differences) == []
    finally:
        await engine.dispose()


async def test_billing_role_cannot_read_another_service_schema(resources, platform):
    admin = await asyncpg.connect(platform.admin_dsn())
    try:
        await admin.execute("CREATE TABLE IF NOT EXISTS users.users (id integer primary key)")
        async with resources.engine.connect() as conn:
            with pytest.raises(DBAPIError, match="permission denied"):
                await conn.execute(text("SELECT * FROM users.users"))
    finally:
        await admin.execute("DROP TABLE IF EXISTS users.users")
        await admin.close()


async def test_billing_role_is_not_privileged_and_cannot_create_outside_its_schema(resources):
    async with resources.engine.connect() as conn:
        privileged = text("SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = current_user")
        is_super = (await conn.execute(privileged)).scalar_one()
        assert is_super is False
        with pytest.raises(DBAPIError, match="permission denied"):
            await conn.execute(text("CREATE TABLE public.billing_probe (id int)"))
