"""What makes a service a service: one definition that the API, the worker and the CLI are built from."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from sqlalchemy import MetaData

from academy_runtime.consumer import Consumer
from academy_runtime.fast_answers import FastAnswer
from academy_runtime.messaging import Messaging
from academy_runtime.resources import Resources
from academy_runtime.settings import ServiceSettings

Hook = Callable[[Resources], Awaitable[None]]
BackgroundJob = Callable[[Resources], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class ServiceCommand:
    """A service-specific subcommand of `academy-<service>` (the catalog's `demo-catalog`...).

    `run` gets the process's resources (opened with the service's startup hooks, closed afterwards)
    and returns the text to print.
    """

    help: str
    run: Callable[[Resources], Coroutine[Any, Any, str]]


@dataclass
class ServiceDefinition:
    """A service's parts. Each service module builds exactly one of these (`academy_<name>.service`)."""

    name: str
    settings_factory: Callable[[], ServiceSettings]
    metadata: MetaData
    messaging: Messaging
    migrations: str  # alembic script location, "academy_users:migrations"
    routers: list[APIRouter] = field(default_factory=list)
    # GET endpoints whose answers may come from memory ahead of FastAPI's routing (academy_runtime.fast_answers).
    fast_answers: list[FastAnswer] = field(default_factory=list)
    consumers: list[Consumer] = field(default_factory=list)
    # Service-specific resources (HTTP clients, bot, S3...) are opened here, in both processes.
    on_startup: list[Hook] = field(default_factory=list)
    # Warm-ups only the API process needs (a cache its requests read), run after `on_startup` there; the
    # worker does without, and what it may still need loads on first use (users' city gazetteer index file).
    on_api_startup: list[Hook] = field(default_factory=list)
    # Long-running jobs of the worker process besides the relay and the consumers (schedulers...).
    worker_jobs: list[BackgroundJob] = field(default_factory=list)
    description: str = ""
    business_metrics: dict[str, Any] = field(default_factory=dict)
    # Extra CLI subcommands, by name: `academy-<service> <name>`.
    commands: dict[str, ServiceCommand] = field(default_factory=dict)

    def settings(self) -> ServiceSettings:
        return self.settings_factory()

    async def open_resources(self, settings: ServiceSettings | None = None) -> Resources:
        resources = Resources.open(settings or self.settings())
        for hook in self.on_startup:
            await hook(resources)
        return resources
