"""The engine's pool: a transaction costs no round trip of the pool's own, and a connection the server closed
is replaced at checkout instead of failing the next transaction."""

import asyncio

import asyncpg
from academy_runtime.db import create_engine
from academy_runtime.settings import ServiceSettings
from academy_runtime.testing import TestPlatform
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine


def _logged_queries(engine: AsyncEngine) -> list[str]:
    """Every query the engine's asyncpg connections send from now on (asyncpg's query loggers see `BEGIN`,
    `ROLLBACK` and the pre-ping's empty query as well as the statements)."""
    queries: list[str] = []

    def watch(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.driver_connection.add_query_logger(lambda record: queries.append(record.query))  # type: ignore[attr-defined]

    event.listen(engine.sync_engine.pool, "connect", watch)
    return queries


async def test_a_transaction_sends_only_its_own_statements(settings: ServiceSettings) -> None:
    engine = create_engine(settings.database_url, pool_size=1, max_overflow=0)
    queries = _logged_queries(engine)
    try:
        for _ in range(3):  # the first opens the connection; the next two check it out of the pool
            async with engine.begin() as connection:
                await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()

    # The statement itself goes as a prepared statement, which the loggers do not see. Before, every
    # checkout of a pooled connection pinged first: BEGIN, an empty query, ROLLBACK (three round trips).
    assert queries == ["BEGIN;", "COMMIT;"] * 3


async def test_a_connection_the_server_closed_is_replaced_at_checkout(
    settings: ServiceSettings, platform: TestPlatform
) -> None:
    engine = create_engine(settings.database_url, pool_size=1, max_overflow=0)
    admin = await asyncpg.connect(platform.infra.admin_url)
    try:
        async with engine.connect() as connection:
            first_pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        # Back in the pool, idle: the server ends it (a restart or an operator's pg_terminate_backend).
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", first_pid)
        for _ in range(100):
            await asyncio.sleep(0.01)
            if first_pid not in await admin.fetch("SELECT pid FROM pg_stat_activity WHERE pid = $1", first_pid):
                break
        await asyncio.sleep(0.05)  # the event loop reads the server's goodbye

        async with engine.begin() as connection:
            second_pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    finally:
        await admin.close()
        await engine.dispose()

    assert second_pid != first_pid
