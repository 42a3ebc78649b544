import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

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
