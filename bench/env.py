"""A throwaway copy of the platform for one bench run: database, role, schema, exchange and queue.

Everything is named after a random run id and removed at the end (also after Ctrl-C), the way the
runtime's test fixtures isolate a test session.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from dataclasses import dataclass, field

import aio_pika
import asyncpg
from academy_runtime.bus import create_events_exchange
from academy_runtime.db import asyncpg_dsn, create_engine, create_sessionmaker, service_metadata
from academy_runtime.messaging import Messaging
from academy_runtime.provisioning import drop, provision
from academy_runtime.settings import ServiceSettings
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, AbstractQueue
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

SERVICE = "bench"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"


def admin_url() -> str:
    return os.environ.get("TEST_POSTGRES_ADMIN_URL") or DEFAULT_ADMIN_URL


def rabbitmq_url() -> str:
    return os.environ.get("TEST_RABBITMQ_URL") or DEFAULT_RABBITMQ_URL


@dataclass
class BenchEnv:
    """Names are fixed at construction; `setup()` creates, `teardown()` removes whatever exists."""

    batch_size: int | None = None
    run_id: str = field(default_factory=lambda: f"bench{secrets.token_hex(4)}")
    admin_url: str = field(default_factory=admin_url)
    rabbitmq_url: str = field(default_factory=rabbitmq_url)
    password: str = field(default_factory=lambda: secrets.token_hex(16))

    # filled in by setup()
    settings: ServiceSettings = field(init=False)
    messaging: Messaging = field(init=False)
    engine: AsyncEngine | None = field(init=False, default=None)
    sessionmaker: async_sessionmaker[AsyncSession] = field(init=False)
    connection: AbstractConnection | None = field(init=False, default=None)
    channel: AbstractChannel = field(init=False)
    exchange: AbstractExchange = field(init=False)
    queue: AbstractQueue = field(init=False)
    server_versions: dict[str, str] = field(init=False, default_factory=dict)

    @property
    def database(self) -> str:
        return f"academy_{self.run_id}"

    @property
    def role_prefix(self) -> str:
        return f"{self.run_id}_"

    @property
    def exchange_name(self) -> str:
        return f"{self.run_id}.academy.events"

    @property
    def queue_name(self) -> str:
        return f"{self.run_id}.bench.events"

    def database_url(self) -> str:
        """The bench service's own role, as a service would connect (SQLAlchemy + asyncpg)."""
        url = make_url(self.admin_url).set(
            drivername="postgresql+asyncpg",
            username=f"{self.role_prefix}{SERVICE}",
            password=self.password,
            database=self.database,
        )
        return url.render_as_string(hide_password=False)

    def __post_init__(self) -> None:
        self.settings = ServiceSettings(
            service_name=SERVICE,
            database_url=self.database_url(),
            db_schema=SERVICE,
            rabbitmq_url=self.rabbitmq_url,
            events_exchange=self.exchange_name,
            queue_prefix=f"{self.run_id}.",
        )
        if self.batch_size is not None:
            self.settings = self.settings.model_copy(update={"outbox_batch_size": self.batch_size})
        # Like the runtime tests' conftest: the service's declarative metadata with the outbox in it.
        metadata = service_metadata(SERVICE)
        self.messaging = Messaging(metadata)

    async def setup(self) -> None:
        await provision(
            self.admin_url,
            self.database,
            role_prefix=self.role_prefix,
            passwords={SERVICE: self.password},
            services=(SERVICE,),
        )
        self.engine = create_engine(
            self.settings.database_url,
            pool_size=self.settings.db_pool_size,
            max_overflow=self.settings.db_max_overflow,
            app_name=f"academy-{SERVICE}",
        )
        self.sessionmaker = create_sessionmaker(self.engine)
        async with self.engine.begin() as conn:  # as the bench role, which owns the schema
            await conn.run_sync(self.messaging.outbox.metadata.create_all)
            self.server_versions["postgresql"] = str((await conn.exec_driver_sql("SHOW server_version")).scalar_one())

        self.connection = await aio_pika.connect(
            self.rabbitmq_url, client_properties={"connection_name": f"{self.run_id}:bench"}
        )
        transport = getattr(self.connection, "transport", None)
        props = getattr(getattr(transport, "connection", transport), "server_properties", None) or {}
        version = props.get("version", b"?")
        self.server_versions["rabbitmq"] = version.decode() if isinstance(version, bytes) else str(version)
        self.channel = await self.connection.channel(publisher_confirms=True)
        # As provisioning declares it (a durable topic exchange); the relay then only looks it up.
        self.exchange = await create_events_exchange(self.channel, self.exchange_name)
        self.queue = await self.channel.declare_queue(self.queue_name, durable=True)
        await self.queue.bind(self.exchange, routing_key="#")

    async def truncate_outbox(self) -> None:
        conn = await asyncpg.connect(asyncpg_dsn(self.settings.database_url))
        try:
            await conn.execute(f'TRUNCATE "{SERVICE}"."outbox" RESTART IDENTITY')
        finally:
            await conn.close()

    async def teardown(self) -> list[str]:
        """Remove everything this run created; returns what could not be removed."""
        leftovers: list[str] = []
        if self.engine is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.engine.dispose(), timeout=5)
        try:
            connection = self.connection or await aio_pika.connect(self.rabbitmq_url, timeout=5)
            try:
                for kind, name in (("queue", self.queue_name), ("exchange", self.exchange_name)):
                    try:
                        channel = await connection.channel()
                        if kind == "queue":
                            await channel.queue_delete(name)
                        else:
                            await channel.exchange_delete(name)
                        with contextlib.suppress(Exception):
                            await channel.close()
                    except Exception:
                        leftovers.append(f"RabbitMQ {kind} {name}")
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.close(), timeout=5)
        except Exception:
            leftovers += [f"RabbitMQ queue {self.queue_name}", f"RabbitMQ exchange {self.exchange_name}"]
        try:
            await drop(self.admin_url, self.database, role_prefix=self.role_prefix, services=(SERVICE,))
        except Exception:
            leftovers += [f"PostgreSQL database {self.database}", f"PostgreSQL role {self.role_prefix}{SERVICE}"]
        return leftovers
