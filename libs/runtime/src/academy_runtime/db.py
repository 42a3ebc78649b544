"""Async engine and sessions; the commit happens at the boundary only.

Request handlers get a session through `SessionDep`: the transaction commits after the endpoint
returns and before the response is sent, and rolls back on any error. Consumers get theirs from the
consumer runtime, with the same rule. Services and repositories only flush.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import MetaData, Table, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

# Deterministic constraint names keep alembic autogenerate and downgrades stable.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


T = TypeVar("T")


def service_metadata(schema: str) -> MetaData:
    """The metadata of one service: every table lives in the schema the service owns.

    Each service declares `class Base(DeclarativeBase): metadata = service_metadata("<schema>")`
    (a class statement, because type checkers accept only a class as a base)."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def table_of(model: type[Any]) -> Table:
    """The Core `Table` of a mapped class. A hot statement built once on it (with `bindparam`s) costs about
    0.12 ms of CPU per execution; built on the mapped class it goes through the ORM's per-execution work
    too (0.27 ms), and built anew per call 0.33 ms (measured for an upsert; the pipeline bench runs ~17 per
    event). Raises TypeError for a class mapped to something else than a table."""
    table = getattr(model, "__table__", None)
    if not isinstance(table, Table):
        raise TypeError(f"{model!r} is not mapped to a table")
    return table


def transaction_local(session: AsyncSession, name: str, factory: Callable[[], T]) -> T:
    """A value kept in `session.info` under `name` for the session's current transaction only: the same
    object while that transaction lasts, a fresh `factory()` once another has begun (a savepoint does not
    count: it is part of its transaction). For what a transaction has done that later statements of the
    same transaction need not do again (the advisory locks it holds, the facts a batch recorded ahead)."""
    transaction = session.sync_session.get_transaction()
    record = session.info.get(name)
    if record is None or record[0] is not transaction:
        record = session.info[name] = (transaction, factory())
    value: T = record[1]
    return value


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10, app_name: str = "") -> AsyncEngine:
    """The service's engine. `hide_parameters`: a statement's bound values (a learner's name and phone)
    never appear in SQLAlchemy's exceptions, which end up in tracebacks and logs (issue 9).

    A pooled connection the server has closed is replaced when it is checked out (`drop_closed_connection`),
    without a round trip. Not `pool_pre_ping`: with asyncpg its ping is three round trips (BEGIN, an empty
    query, ROLLBACK) before every transaction, the most common statements the platform sent (issue 11)."""
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        hide_parameters=True,
        connect_args={"server_settings": {"application_name": app_name or "beauty-academy"}},
    )
    event.listen(engine.sync_engine.pool, "checkout", drop_closed_connection)
    return engine


def drop_closed_connection(dbapi_connection: Any, *_pool_arguments: Any) -> None:
    """A pool `checkout` hook: refuses a connection whose socket asyncpg has seen closed (the server
    restarted, `pg_terminate_backend`, an idle timeout), so the pool discards it and checks out another,
    opening a new one if need be (SQLAlchemy's "custom pessimistic ping": `DisconnectionError`, retried up to
    three times). asyncpg reads a pooled connection's socket while it idles, so a server's goodbye is seen
    before the next checkout; a connection cut without one fails its first statement instead, and
    SQLAlchemy then invalidates the pool's older connections (`is_disconnect`).

    Raises DisconnectionError for a closed connection."""
    driver_connection = getattr(dbapi_connection, "driver_connection", None)
    is_closed = getattr(driver_connection, "is_closed", None)
    if is_closed is not None and is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on error."""
    async with sessionmaker() as session, session.begin():
        yield session


@asynccontextmanager
async def autocommit_session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for reads that need no transaction of their own (each statement sees what is committed
    when it runs): no BEGIN and no ROLLBACK round trip around them, its connection back in the pool at the
    end. For a look repeated while waiting (`academy_runtime.consumer.TurnContext`): about a third less CPU
    per look than a session's implicit transaction. Writes commit statement by statement: do not write."""
    async with sessionmaker() as session:
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with transaction(request.app.state.resources.sessionmaker) as session:
        yield session


# scope="function": the commit runs when the endpoint returns, before the response goes out, so a
# client never sees success for a transaction that then fails to commit.
SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """The same database URL in the form asyncpg.connect() accepts."""
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)
