"""A throwaway copy of the platform's storage for the service suites (catalog, pipeline).

The runtime's `TestPlatform` (what the tests and tests-e2e run against) with a bench run id: its own
database and service roles, exchange (`<run>.academy.events`), queue prefix and Redis prefix. Unlike
the test plugin it never starts containers: the infrastructure is the local one the outbox suite
uses (`TEST_POSTGRES_ADMIN_URL`, `TEST_RABBITMQ_URL`, `TEST_REDIS_URL` override the defaults).
Everything is removed at the end, also after Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Coroutine, Sequence
from typing import Any

from academy_runtime.provisioning import drop, provision
from academy_runtime.service import ServiceDefinition
from academy_runtime.testing import (
    DEFAULT_REDIS_URL,
    DEFAULT_S3_ENDPOINT,
    Infrastructure,
    TestPlatform,
    cleanup_broker,
    cleanup_redis,
    create_run_exchange,
    provision_bus_users,
    remove_bus_users,
)

from bench.env import admin_url, rabbitmq_url
from bench.report import say

CLEANUP_TIMEOUT_S = 30.0


def redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL") or DEFAULT_REDIS_URL


def consumer_queues(platform: TestPlatform, definitions: Sequence[ServiceDefinition]) -> list[str]:
    """Every queue the definitions' consumers declare (main, dead-letter and delay queues)."""
    names: list[str] = []
    for definition in definitions:
        settings = platform.settings_for(definition)
        for consumer in definition.consumers:
            base = settings.queue_name(consumer.purpose)
            names += [base, f"{base}.dlq", *(f"{base}.retry.{ms}" for ms in settings.consumer_retry_delays_ms)]
    return names


@contextlib.asynccontextmanager
async def bench_platform(
    suite: str, definitions: Sequence[ServiceDefinition], *, extra_queue_suffixes: Sequence[str] = ()
) -> AsyncIterator[TestPlatform]:
    """Provision the services' database, roles and schemas; on exit remove them, the run's Redis keys,
    the services' consumer queues, the queues `<run id>.<suffix>` the suite declared and the run's exchange."""
    run_id = f"bench{secrets.token_hex(4)}"
    platform = TestPlatform(
        infra=Infrastructure(
            admin_url=admin_url(),
            rabbitmq_url=rabbitmq_url(),
            redis_url=redis_url(),
            s3_endpoint=os.environ.get("TEST_S3_ENDPOINT", DEFAULT_S3_ENDPOINT),
        ),
        run_id=run_id,
        database=f"academy_{run_id}",
        role_prefix=f"{run_id}_",
        auth_secret=secrets.token_urlsafe(32),
    )
    schemas = tuple(d.metadata.schema or d.name for d in definitions)
    say(
        f"{suite} bench {run_id}: database {platform.database} (roles {platform.role_prefix}*), "
        f"exchange {run_id}.academy.events, queues {run_id}.*, Redis keys {run_id}:*"
    )
    try:
        await provision(platform.infra.admin_url, platform.database, role_prefix=platform.role_prefix, services=schemas)
        # As deployed: each service connects as its own broker user and only looks the exchange up.
        await asyncio.to_thread(provision_bus_users, platform)
        await create_run_exchange(platform)
        yield platform
    finally:
        leftovers: list[str] = []
        await _attempt(
            f"RabbitMQ users {platform.bus_user_prefix}*", asyncio.to_thread(remove_bus_users, platform), leftovers
        )
        queues = [*consumer_queues(platform, definitions), *(f"{run_id}.{s}" for s in extra_queue_suffixes)]
        await _attempt(
            f"RabbitMQ exchange {run_id}.academy.events and queues {run_id}.*",
            cleanup_broker(platform.infra.rabbitmq_url, run_id, queues),
            leftovers,
        )
        await _attempt(f"Redis keys {run_id}:*", cleanup_redis(platform.infra.redis_url, f"{run_id}:"), leftovers)
        await _attempt(
            f"PostgreSQL database {platform.database} and roles {platform.role_prefix}*",
            drop(platform.infra.admin_url, platform.database, role_prefix=platform.role_prefix, services=schemas),
            leftovers,
        )
        if leftovers:
            say("could not remove: " + "; ".join(leftovers))
        else:
            say(f"cleaned up {platform.database}, its roles, the run's exchange, queues and Redis keys")


async def _attempt(what: str, cleanup: Coroutine[Any, Any, None], leftovers: list[str]) -> None:
    try:
        await asyncio.wait_for(cleanup, CLEANUP_TIMEOUT_S)
    except Exception as exc:
        leftovers.append(f"{what} ({exc!r})")
