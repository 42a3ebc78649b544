"""Several services in one process: each with its app, outbox relay and event consumers.

Integration tests of a service that talks to others (the gateway calling users, catalog, progress,
gamification) use the real services this way instead of fakes: real PostgreSQL schemas, real
RabbitMQ, real Redis, only without the separate processes that `tests-e2e` starts. Each service gets
its own settings (schema, role, queues) from the test platform, its migrations applied, and an ASGI
transport a `ServiceClient` can be pointed at.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import httpx
from fastapi import FastAPI

from academy_runtime.consumer import ConsumerRuntime
from academy_runtime.http import create_app
from academy_runtime.migrations import migrate
from academy_runtime.relay import OutboxRelay
from academy_runtime.resources import Resources
from academy_runtime.service import ServiceDefinition
from academy_runtime.settings import ServiceSettings

if TYPE_CHECKING:
    from academy_runtime.testing import TestPlatform


@dataclass
class RunningService:
    """One service of an `InProcessStack`: its resources, its app and its worker's parts."""

    definition: ServiceDefinition
    settings: ServiceSettings
    resources: Resources
    app: FastAPI
    relay: OutboxRelay
    consumers: ConsumerRuntime
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport into the service's app (authentication still applies)."""
        return httpx.ASGITransport(app=self.app)

    async def stop(self) -> None:
        await self.consumers.stop()
        self.relay.stop()
        for task in self.tasks:
            if task.get_name() != f"{self.definition.name}-relay":
                task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.relay.close()
        await self.resources.close()


class InProcessStack:
    """Start `definitions` against the test platform; `stack["users"].transport()` reaches an app.

    `jobs=False` leaves out the services' background jobs (schedulers, long polling): tests drive
    those directly. `overrides` maps a service name to settings fields to change.
    """

    def __init__(
        self,
        platform: TestPlatform,
        definitions: Sequence[ServiceDefinition],
        *,
        jobs: bool = False,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.platform = platform
        self.definitions = list(definitions)
        self.jobs = jobs
        self.overrides = overrides or {}
        self.services: dict[str, RunningService] = {}

    def __getitem__(self, name: str) -> RunningService:
        return self.services[name]

    def transports(self) -> dict[str, httpx.AsyncBaseTransport]:
        return {name: service.transport() for name, service in self.services.items()}

    async def __aenter__(self) -> Self:
        try:
            for definition in self.definitions:
                await self._start(definition)
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _start(self, definition: ServiceDefinition) -> None:
        settings = self.platform.settings_for(definition, **self.overrides.get(definition.name, {}))
        await asyncio.to_thread(migrate, definition, "upgrade", "head", database_url=settings.database_url)
        resources = await definition.open_resources(settings)
        app = create_app(definition, settings)
        app.state.resources = resources  # the stack owns the resources; the app's lifespan is not run
        running = RunningService(
            definition=definition,
            settings=settings,
            resources=resources,
            app=app,
            relay=OutboxRelay(settings, resources.sessionmaker, definition.messaging),
            consumers=ConsumerRuntime(resources, definition.messaging, definition.consumers),
        )
        self.services[definition.name] = running
        await running.consumers.start()
        running.tasks.append(asyncio.create_task(running.relay.run(), name=f"{definition.name}-relay"))
        if self.jobs:
            running.tasks.extend(asyncio.create_task(job(resources)) for job in definition.worker_jobs)

    async def aclose(self) -> None:
        for running in reversed(list(self.services.values())):
            with contextlib.suppress(Exception):
                await running.stop()
        self.services.clear()

    def queue_names(self) -> list[str]:
        """Every queue the stack's consumers declared (for the test's broker clean-up)."""
        names: list[str] = []
        for running in self.services.values():
            settings = running.settings
            for consumer in running.definition.consumers:
                base = settings.queue_name(consumer.purpose)
                names += [base, f"{base}.dlq", *(f"{base}.retry.{ms}" for ms in settings.consumer_retry_delays_ms)]
        return names

    async def truncate(self) -> None:
        """Empty every table of every service (between tests), except the reference data that
        migrations insert (`REFERENCE_TABLES`)."""
        for running in self.services.values():
            tables = [
                f'"{t.schema}"."{t.name}"'
                for t in running.definition.metadata.sorted_tables
                if t.name not in REFERENCE_TABLES
            ]
            if tables:
                async with running.resources.engine.begin() as conn:
                    await conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


REFERENCE_TABLES = frozenset({"categories", "levels", "achievements"})
"""Tables filled by migrations with reference data (catalog categories, gamification levels and rules)."""
