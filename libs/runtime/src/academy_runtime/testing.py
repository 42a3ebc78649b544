"""Pytest fixtures for services' own tests: real PostgreSQL, RabbitMQ and Redis, isolated per run.

Where the infrastructure comes from, in order:
1. URLs in the environment: TEST_POSTGRES_ADMIN_URL, TEST_RABBITMQ_URL, TEST_REDIS_URL, TEST_S3_ENDPOINT;
2. testcontainers, when no URL is given and a Docker engine answers;
3. the standard local ports (127.0.0.1), as on the project's development machines.

Each test session provisions its own database and roles (random names) and its own exchange, queue
and Redis key prefixes, and removes them at the end; each test starts with empty tables.

The broker gets per-run users too, one per service, with the permissions production gives them
(academy_runtime.bus_provisioning), when this process can provision them: `rabbitmqctl` works here and
the broker is on this machine. Otherwise every service connects with the given URL, publisher checks
are off (BUS_VERIFY_PUBLISHER=false), and the tests that need per-service users skip, saying why.

A service's `tests/conftest.py` declares `pytest_plugins = ["academy_runtime.testing"]` and a
session fixture `service` returning its `ServiceDefinition`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from academy_runtime.after_commit import wait_for_after_commit_jobs
from academy_runtime.auth import (
    ISSUERS,
    OPERATORS_ISSUER,
    SigningKey,
    generate_signing_key,
    issue_operator_token,
    issue_service_token,
    route_callers,
)
from academy_runtime.bus import (
    bus_user,
    connection_user,
    create_events_exchange,
    declare_events_exchange,
    service_of,
)
from academy_runtime.bus_provisioning import (
    BUS_SERVICES,
    BusProvisioningError,
    amqp_url,
    apply_with_rabbitmqctl,
    bus_grants,
    definitions,
    delete_users_with_rabbitmqctl,
    rabbitmqctl_available,
)
from academy_runtime.migrations import migrate
from academy_runtime.provisioning import SERVICES, drop, provision, role_name
from academy_runtime.redis_cluster import RedisClusterUnavailableError, start_local_cluster
from academy_runtime.resources import RedisClient, Resources
from academy_runtime.service import ServiceDefinition
from academy_runtime.settings import ServiceSettings, SettingsT

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_S3_ENDPOINT = "127.0.0.1:9000"


def _docker_engine_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=5, check=False).returncode == 0  # noqa: S607
    except (OSError, subprocess.TimeoutExpired):
        return False


@dataclass
class Infrastructure:
    admin_url: str
    rabbitmq_url: str
    redis_url: str
    s3_endpoint: str
    containers: list[Any] = field(default_factory=list)


def _from_containers() -> Infrastructure:  # pragma: no cover - needs a Docker engine
    from testcontainers.postgres import PostgresContainer
    from testcontainers.rabbitmq import RabbitMqContainer
    from testcontainers.redis import RedisContainer

    pg = PostgresContainer("postgres:16-alpine", driver=None).start()
    rabbit = RabbitMqContainer("rabbitmq:3.13-alpine").start()
    redis = RedisContainer("redis:7-alpine").start()
    return Infrastructure(
        admin_url=pg.get_connection_url(),
        rabbitmq_url=f"amqp://guest:guest@{rabbit.get_container_host_ip()}:{rabbit.get_exposed_port(5672)}/",
        redis_url=f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(6379)}/0",
        s3_endpoint=os.environ.get("TEST_S3_ENDPOINT", DEFAULT_S3_ENDPOINT),
        containers=[pg, rabbit, redis],
    )


def discover_infrastructure() -> Infrastructure:
    env = {k: os.environ.get(k) for k in ("TEST_POSTGRES_ADMIN_URL", "TEST_RABBITMQ_URL", "TEST_REDIS_URL")}
    if not any(env.values()) and _docker_engine_available():
        return _from_containers()
    return Infrastructure(
        admin_url=env["TEST_POSTGRES_ADMIN_URL"] or DEFAULT_ADMIN_URL,
        rabbitmq_url=env["TEST_RABBITMQ_URL"] or DEFAULT_RABBITMQ_URL,
        redis_url=env["TEST_REDIS_URL"] or DEFAULT_REDIS_URL,
        s3_endpoint=os.environ.get("TEST_S3_ENDPOINT", DEFAULT_S3_ENDPOINT),
    )


@dataclass
class TestPlatform:
    """One isolated copy of the platform's storage for a test session."""

    __test__ = False  # not a test class, despite the name

    infra: Infrastructure
    run_id: str
    database: str
    role_prefix: str
    auth_secret: str
    """A random secret of the run, from which the other secrets of the services' settings are made."""
    keys: dict[str, SigningKey] = field(default_factory=lambda: {issuer: generate_signing_key() for issuer in ISSUERS})
    """Every issuer's signing key (the six services and `operators`), made fresh for each run."""

    def public_keys(self) -> dict[str, list[str]]:
        """SERVICE_PUBLIC_KEYS of the run: every issuer's public key."""
        return {issuer: [key.public_text()] for issuer, key in self.keys.items()}

    def signing_key(self, issuer: str) -> SigningKey:
        """The run's key of `issuer`; KeyError naming the known issuers for any other."""
        try:
            return self.keys[issuer]
        except KeyError:
            raise KeyError(f"the test platform has no key for {issuer!r}; issuers: {sorted(self.keys)}") from None

    def database_url(self, service: str) -> str:
        """An asyncpg URL that connects as the service's own role."""
        host = self.infra.admin_url.split("@", 1)[1].split("/", 1)[0]
        return f"postgresql+asyncpg://{self.role_prefix}{service}@{host}/{self.database}"

    def admin_dsn(self, database: str | None = None) -> str:
        base = self.infra.admin_url.rsplit("/", 1)[0]
        return f"{base}/{database or self.database}"

    bus_passwords: dict[str, str] = field(default_factory=dict)
    """Passwords of the run's broker users by service (SERVICE_NAME); empty when they could not be made."""
    bus_skip_reason: str = ""
    """Why the run has no per-service broker users (empty when it has them)."""

    @property
    def bus_user_prefix(self) -> str:
        """The run's BUS_USER_PREFIX: service S connects as `<run id>-S`."""
        return f"{self.run_id}-"

    @property
    def events_exchange(self) -> str:
        return f"{self.run_id}.academy.events"

    def bus_url(self, service: str) -> str:
        """The AMQP URL `service` (a SERVICE_NAME: `users`, `gateway-bot`) connects with: its own user of the
        run, or the given broker URL when the run has no per-service users."""
        password = self.bus_passwords.get(service)
        if password is None:
            return self.infra.rabbitmq_url
        return amqp_url(self.infra.rabbitmq_url, bus_user(self.bus_user_prefix, service), password)

    def require_bus_users(self) -> None:
        """Skip the calling test when the run has no per-service broker users (it tests their permissions)."""
        if not self.bus_passwords:
            pytest.skip(f"no per-service RabbitMQ users in this run: {self.bus_skip_reason}")

    def settings_env(self, service: str) -> dict[str, str]:
        """Environment variables that point one service's process at this platform."""
        return {
            "ENVIRONMENT": "test",
            "SERVICE_NAME": service.replace("_", "-"),
            "DATABASE_URL": self.database_url(service),
            "DB_SCHEMA": service,
            "RABBITMQ_URL": self.bus_url(service.replace("_", "-")),
            "BUS_USER_PREFIX": self.bus_user_prefix,
            "BUS_VERIFY_PUBLISHER": "true" if self.bus_passwords else "false",
            "EVENTS_EXCHANGE": f"{self.run_id}.academy.events",
            "QUEUE_PREFIX": f"{self.run_id}.",
            "REDIS_URL": self.infra.redis_url,
            "REDIS_PREFIX": f"{self.run_id}:",
            "S3_ENDPOINT": self.infra.s3_endpoint,
            "S3_BUCKET": f"academy-{self.run_id}".replace("_", "-"),
            "S3_ACCESS_KEY": "academy-test",
            "S3_SECRET_KEY": f"{self.auth_secret}-s3",
            # Each service signs with its own key of this run and trusts every issuer's public key.
            # (A name that is no issuer, such as `s3`, gets a key nobody trusts.)
            "SERVICE_SIGNING_KEY": self.keys.get(service.replace("_", "-"), generate_signing_key()).private_text(),
            "SERVICE_PUBLIC_KEYS": json.dumps(self.public_keys()),
            # Secrets of particular services (ignored by the others): never the development defaults.
            "YOOKASSA_SECRET_KEY": f"{self.auth_secret}-yookassa",
            # The users service's personal-data keys (issue 10): one AES key of the run, and its phone
            # lookup key, made from the run's secret (never the development keys, which ENVIRONMENT=test
            # refuses).
            "PERSONAL_DATA_KEYS": json.dumps({"run": self.derived_key("personal data")}),
            "PERSONAL_DATA_KEY_ID": "run",
            "PHONE_LOOKUP_KEY": self.derived_key("phone lookup"),
            "TELEGRAM_WEBHOOK_SECRET": f"{self.auth_secret}-webhook",
            "TELEGRAM_API_URL": "http://127.0.0.1:1",  # the tests' Bot API emulator replaces it
            "CONSUMER_RETRY_DELAYS_MS": "[100, 200, 400]",
            "CONSUMER_MAX_ATTEMPTS": "3",
            "OUTBOX_POLL_INTERVAL_S": "0.5",
            "QUEUE_EXPIRES_MS": "900000",  # a run that dies before its clean-up leaves nothing for long
            # A test session is one caller and one address sending as fast as the machine allows
            # (schemathesis: over a thousand requests a service); the limits' own tests set small ones.
            "RATE_LIMIT_SERVICE": "100000/minute",
            "RATE_LIMIT_OPERATOR": "100000/minute",
            "RATE_LIMIT_PUBLIC": "100000/minute",
        }

    def derived_key(self, purpose: str) -> str:
        """32 bytes in base64 derived from the run's secret for `purpose`: a key of this run only."""
        return base64.b64encode(hashlib.sha256(f"{self.auth_secret}:{purpose}".encode()).digest()).decode()

    def settings_for(self, definition: ServiceDefinition, **overrides: Any) -> ServiceSettings:
        schema = definition.metadata.schema or definition.name
        env = self.settings_env(schema)
        with _patched_environ(env):
            settings = definition.settings()
        return settings.model_copy(update=overrides)


@contextlib.contextmanager
def _patched_environ(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


async def cleanup_broker(rabbitmq_url: str, run_id: str, queues: list[str], *, delete_exchange: bool = True) -> None:
    """Delete `queues` and, unless `delete_exchange` is False, the run's events exchange (which the whole
    run shares: a fixture that cleans up only its own services' queues mid-run passes False)."""
    connection = await aio_pika.connect(rabbitmq_url)
    try:
        for name in queues:
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.queue_delete(name)
            with contextlib.suppress(Exception):
                await channel.close()
        if delete_exchange:
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.exchange_delete(f"{run_id}.academy.events")
    finally:
        await connection.close()


async def cleanup_s3(platform: TestPlatform) -> None:
    """Remove the run's bucket, if this run's tests created one (most services never touch S3)."""
    from academy_runtime.storage import ObjectStorage

    env = platform.settings_env("s3")
    host, _, port = platform.infra.s3_endpoint.rpartition(":")
    try:  # no S3 server listening: nothing was stored, and miniopy would retry for seconds
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), timeout=1)
    except (OSError, ValueError, TimeoutError):
        return
    writer.close()
    settings = ServiceSettings(
        s3_endpoint=env["S3_ENDPOINT"],
        s3_bucket=env["S3_BUCKET"],
        s3_access_key=env["S3_ACCESS_KEY"],
        s3_secret_key=env["S3_SECRET_KEY"],
        # Whatever ENVIRONMENT says, never a refused default.
        service_signing_key=env["SERVICE_SIGNING_KEY"],
        service_public_keys=platform.public_keys(),
    )
    storage = ObjectStorage.from_settings(settings)
    try:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(storage.remove_bucket(), timeout=30)
    finally:
        await storage.aclose()


async def cleanup_redis(redis_url: str, prefix: str, *, cluster: bool = False) -> None:
    """Delete every key under `prefix` (a run's). `cluster`: `redis_url` names a node of a Redis Cluster,
    whose every primary is scanned and whose keys are deleted slot by slot (redis-py splits the DEL)."""
    redis: RedisClient = RedisCluster.from_url(redis_url) if cluster else Redis.from_url(redis_url)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


@pytest.fixture(scope="session")
def redis_cluster_url() -> Iterator[str]:
    """A Redis Cluster for the tests that run the platform's Redis users on one (issue 11): the node
    `TEST_REDIS_CLUSTER_URL` names, or a local three-node cluster started for the session from the machine's
    `redis-server` (`academy_runtime.redis_cluster`, a few seconds); skipped, saying so, only when no URL is
    given and `redis-server` is not installed. Tests keep to keys under their run's prefix."""
    given = os.environ.get("TEST_REDIS_CLUSTER_URL")
    if given:
        yield given
        return
    try:
        cluster = start_local_cluster()
    except RedisClusterUnavailableError as exc:
        pytest.skip(f"no Redis Cluster to test against: {exc}")
    try:
        yield cluster.url
    finally:
        cluster.stop()


def on_redis_cluster(settings: SettingsT, redis_cluster_url: str) -> SettingsT:
    """`settings` with REDIS_CLUSTER=true and REDIS_URL the cluster's (prefix and everything else kept)."""
    return settings.model_copy(update={"redis_url": redis_cluster_url, "redis_cluster": True})


@pytest.fixture(scope="session")
def infrastructure() -> Iterator[Infrastructure]:
    infra = discover_infrastructure()
    yield infra
    for container in infra.containers:  # pragma: no cover - needs a Docker engine
        container.stop()


_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def provision_bus_users(platform: TestPlatform, extra_services: tuple[str, ...] = ()) -> None:
    """Create the run's broker users (one per service, production's permissions, on the run's exchange and
    queue prefix) and record their passwords in `platform`; record why not when this process cannot.
    `extra_services` (a test's own service, such as the runtime's `rt-test`) may publish any routing key."""
    from urllib.parse import urlsplit

    host = urlsplit(platform.infra.rabbitmq_url).hostname or ""
    if host not in _LOCAL_HOSTS:
        platform.bus_skip_reason = f"the broker is on {host}, and rabbitmqctl reaches only this machine's"
        return
    if not rabbitmqctl_available():
        platform.bus_skip_reason = "rabbitmqctl is not installed here or cannot reach the local node"
        return
    services = (*BUS_SERVICES, *extra_services)
    passwords = {service: secrets.token_urlsafe(18) for service in services}
    grants = bus_grants(
        passwords,
        services=services,
        user_prefix=platform.bus_user_prefix,
        queue_prefix=f"{platform.run_id}.",
        exchange=platform.events_exchange,
        topic_writes=dict.fromkeys(extra_services, ".*"),
    )
    try:
        apply_with_rabbitmqctl(definitions(grants, exchange=platform.events_exchange))
    except BusProvisioningError as exc:
        platform.bus_skip_reason = str(exc)
        with contextlib.suppress(BusProvisioningError):
            delete_users_with_rabbitmqctl(grant.user for grant in grants)
        return
    platform.bus_passwords = passwords


async def create_run_exchange(platform: TestPlatform) -> None:
    """Declare the run's events exchange as the administrator, as provisioning does: services only look it
    up (their users may not configure it). With per-service users the definitions declared it already."""
    connection = await aio_pika.connect(platform.infra.rabbitmq_url)
    try:
        await create_events_exchange(await connection.channel(), platform.events_exchange)
    finally:
        await connection.close()


def remove_bus_users(platform: TestPlatform) -> None:
    """Delete the run's broker users (nothing when it has none)."""
    if platform.bus_passwords:
        delete_users_with_rabbitmqctl(bus_user(platform.bus_user_prefix, s) for s in platform.bus_passwords)


class ProducerBus:
    """Publishes on the run's exchange as each event's producer would: connected as the broker user of the
    service the routing key names, with the AMQP `user_id` set (so consumers accept it).

    `as_service` publishes as another service instead (a forgery, for the tests that show it refused)."""

    def __init__(self, platform: TestPlatform) -> None:
        self.platform = platform
        self._channels: dict[str, aio_pika.abc.AbstractChannel] = {}
        self._connections: list[aio_pika.abc.AbstractConnection] = []

    async def _exchange(self, service: str) -> aio_pika.abc.AbstractExchange:
        channel = self._channels.get(service)
        if channel is None or channel.is_closed:
            connection = await aio_pika.connect(self.platform.bus_url(service))
            self._connections.append(connection)
            channel = await connection.channel(publisher_confirms=True)
            self._channels[service] = channel
        return await declare_events_exchange(channel, self.platform.events_exchange)

    async def publish(
        self,
        message: aio_pika.Message | dict[str, Any],
        routing_key: str | None = None,
        *,
        as_service: str | None = None,
    ) -> None:
        """Publish `message` (an AMQP message, or a CloudEvent as a JSON object) under `routing_key` (default:
        the event's type), confirmed. Raises what the broker answers (aio_pika's ChannelAccessRefused...)."""
        from academy_runtime.bus import event_message

        if isinstance(message, dict):
            routing_key = routing_key or str(message["type"])
            message = event_message(message)
        if routing_key is None:
            raise ValueError("routing_key is required for a raw message")
        service = as_service or service_of(routing_key)
        message.user_id = connection_user(self.platform.bus_url(service))
        exchange = await self._exchange(service)
        try:
            await exchange.publish(message, routing_key=routing_key)
        except Exception:
            self._channels.pop(service, None)  # a refused publish closes the channel
            raise

    async def close(self) -> None:
        for connection in self._connections:
            with contextlib.suppress(Exception):
                await connection.close()
        self._connections.clear()
        self._channels.clear()


@pytest.fixture
async def producer_bus(platform: TestPlatform) -> AsyncIterator[ProducerBus]:
    """A `ProducerBus` for the test, closed after it."""
    bus = ProducerBus(platform)
    try:
        yield bus
    finally:
        await bus.close()


@pytest.fixture(scope="session")
def extra_schemas() -> tuple[str, ...]:
    """Schemas (and roles) to provision besides the six services'; override in a conftest."""
    return ()


async def _plan_generically(platform: TestPlatform, services: tuple[str, ...]) -> None:
    """Every test connection plans its statements generically, as PostgreSQL does for a prepared
    statement from its sixth run on (asyncpg re-uses them per connection). A statement that is right
    only with its parameters' values planned in (an ON CONFLICT naming a partial index by a bound
    predicate) then fails in the tests, not in production after five good runs."""
    connection = await asyncpg.connect(platform.infra.admin_url)
    try:
        for service in services:
            role = role_name(platform.role_prefix, service)
            await connection.execute(
                f'ALTER ROLE "{role}" IN DATABASE "{platform.database}" SET plan_cache_mode = force_generic_plan'
            )
    finally:
        await connection.close()


@pytest.fixture(scope="session")
async def platform(infrastructure: Infrastructure, extra_schemas: tuple[str, ...]) -> AsyncIterator[TestPlatform]:
    run_id = f"t{secrets.token_hex(4)}"
    test_platform = TestPlatform(
        infra=infrastructure,
        run_id=run_id,
        database=f"academy_{run_id}",
        role_prefix=f"{run_id}_",
        auth_secret=secrets.token_urlsafe(32),
    )
    try:
        await provision(
            infrastructure.admin_url,
            test_platform.database,
            role_prefix=test_platform.role_prefix,
            services=(*SERVICES, *extra_schemas),
        )
        await _plan_generically(test_platform, (*SERVICES, *extra_schemas))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.exit(f"PostgreSQL is not reachable at {infrastructure.admin_url}: {exc!r}", returncode=3)
    extra_services = tuple(schema.replace("_", "-") for schema in extra_schemas)
    await asyncio.to_thread(provision_bus_users, test_platform, extra_services)
    await create_run_exchange(test_platform)
    yield test_platform
    await asyncio.to_thread(remove_bus_users, test_platform)
    await drop(
        infrastructure.admin_url,
        test_platform.database,
        role_prefix=test_platform.role_prefix,
        services=(*SERVICES, *extra_schemas),
    )
    await cleanup_redis(infrastructure.redis_url, f"{run_id}:")
    await cleanup_s3(test_platform)


@pytest.fixture(scope="session")
def settings(platform: TestPlatform, service: ServiceDefinition) -> ServiceSettings:
    return platform.settings_for(service)


@pytest.fixture(scope="session")
async def migrated(settings: ServiceSettings, service: ServiceDefinition) -> ServiceSettings:
    await asyncio.to_thread(migrate, service, "upgrade", "head", database_url=settings.database_url)
    return settings


@pytest.fixture(scope="session")
async def resources(
    migrated: ServiceSettings, service: ServiceDefinition, platform: TestPlatform
) -> AsyncIterator[Resources]:
    res = await service.open_resources(migrated)
    yield res
    await res.close()
    queues = [
        f"{migrated.queue_name(c.purpose)}{suffix}"
        for c in service.consumers
        for suffix in ["", ".dlq", *(f".retry.{ms}" for ms in migrated.consumer_retry_delays_ms)]
    ]
    await cleanup_broker(platform.infra.rabbitmq_url, platform.run_id, queues)


_TRUNCATE_ATTEMPTS = 5


@pytest.fixture(autouse=True)
async def _empty_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Each test that touches the database starts from empty tables of its service."""
    yield
    if "resources" not in request.fixturenames:
        return
    resources: Resources = request.getfixturevalue("resources")
    service: ServiceDefinition = request.getfixturevalue("service")
    tables = ", ".join(f'"{t.schema}"."{t.name}"' for t in service.metadata.sorted_tables)
    if not tables:
        return
    await wait_for_after_commit_jobs()
    # Work the test started may still be finishing (a notification re-read in the background, a consumer's
    # last event): TRUNCATE then waits for its locks, and PostgreSQL may pick TRUNCATE as a deadlock's
    # victim. The other side commits or rolls back; the tables are emptied on the next attempt.
    for attempt in range(_TRUNCATE_ATTEMPTS):
        try:
            async with resources.engine.begin() as conn:
                await conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        except DBAPIError as exc:
            if "deadlock detected" not in str(exc) or attempt == _TRUNCATE_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.2 * (attempt + 1))
        else:
            return


def real_service_keys_env() -> dict[str, str]:
    """SERVICE_SIGNING_KEY and SERVICE_PUBLIC_KEYS holding fresh keys (not the development ones), for a
    test that builds settings with ENVIRONMENT=production or test by hand."""
    keys = {issuer: generate_signing_key() for issuer in ISSUERS}
    return {
        "SERVICE_SIGNING_KEY": keys["users"].private_text(),
        "SERVICE_PUBLIC_KEYS": json.dumps({issuer: [key.public_text()] for issuer, key in keys.items()}),
        "OPERATOR_ACCOUNTS": "{}",
    }


def service_token(platform: TestPlatform, *, caller: str, audience: str) -> str:
    """A token `caller` (a service name, e.g. `gateway-bot`) signs with its own key of the run for `audience`."""
    return issue_service_token(platform.signing_key(caller), caller=caller, audience=audience)


def operator_token(
    platform: TestPlatform,
    *,
    name: str = "alice",
    roles: tuple[str, ...] = ("support",),
    audience: str,
    ttl_s: int = 600,
) -> str:
    """An operator's token (`iss` = operators, `sub` = `name`, `roles`) signed with the run's operator key,
    as `academy-platform operator-token` issues it."""
    return issue_operator_token(
        platform.signing_key(OPERATORS_ISSUER), operator=name, roles=roles, audience=audience, ttl_s=ttl_s
    )


@contextlib.asynccontextmanager
async def api_client(service: ServiceDefinition, resources: Resources, token: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the service's app, sending `token` (a service's or an operator's), sharing
    `resources` (the app's lifespan is not run). A response comes back once the jobs its commit started
    (`run_after_commit`) are done too, so a test's next request sees their effect (a cache invalidated)
    without waiting by hand."""
    from academy_runtime.http import create_app

    app = create_app(service, resources.settings)
    app.state.resources = resources

    async def after_commit_jobs_done(_: httpx.Response) -> None:
        await wait_for_after_commit_jobs()

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"authorization": f"Bearer {token}"},
        event_hooks={"response": [after_commit_jobs_done]},
    ) as client:
        yield client


@pytest.fixture(scope="session")
async def api(
    resources: Resources, service: ServiceDefinition, platform: TestPlatform
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the service's app, authenticated as the gateway (`api_client`)."""
    token = service_token(platform, caller="gateway-bot", audience=resources.settings.service_name)
    async with api_client(service, resources, token) as client:
        yield client


@pytest.fixture(scope="session")
async def operator_api(
    resources: Resources, service: ServiceDefinition, platform: TestPlatform
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the service's app as operator `alice` with every role (`api_client`); a test of a
    role's limits makes its own token with `operator_token`."""
    from academy_runtime.auth import OPERATOR_ROLES

    token = operator_token(
        platform, name="alice", roles=OPERATOR_ROLES, audience=resources.settings.service_name, ttl_s=3600
    )
    async with api_client(service, resources, token) as client:
        yield client


_PUBLIC_OPERATIONS = frozenset({"/healthz", "/readyz", "/metrics"})
_SAMPLE_PATH_VALUES = {"currency": "RUB"}


async def assert_every_route_names_its_callers(
    service: ServiceDefinition, resources: Resources, platform: TestPlatform, *, public: Iterable[str] = ()
) -> int:
    """Walk every route of the service's app: each one declares its callers (`academy_runtime.auth.accepts`)
    unless its path is in `public` (plus /healthz, /readyz, /metrics), and a valid token of a caller not
    admitted gets 403 naming who is: a service not listed, and an operator without an admitted role
    (every role not admitted). Path parameters get `1` (or a sample value). Returns how many routes were
    checked, so a caller can assert the walk found its routes. Issue 9 §2: "give every endpoint the list of
    callers it accepts"."""
    from fastapi import routing

    from academy_runtime.auth import OPERATOR_ROLES, SERVICE_ISSUERS
    from academy_runtime.http import create_app

    app = create_app(service, resources.settings)
    app.state.resources = resources
    audience = resources.settings.service_name
    allowed_open = _PUBLIC_OPERATIONS | set(public)
    open_routes, wrong_answers, checked = [], [], 0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        # Routers included in the app are resolved the way FastAPI's OpenAPI document resolves them.
        for route in routing.iter_route_contexts(app.routes):
            if not isinstance(route.original_route, routing.APIRoute):
                continue
            callers = route_callers(route)
            if callers is None:
                if route.path not in allowed_open:
                    open_routes.append(f"{sorted(route.methods or ())} {route.path}")
                continue
            path = str(route.path)
            for name in route.param_convertors:
                path = path.replace(f"{{{name}}}", _SAMPLE_PATH_VALUES.get(name, "1"))
            outsiders = [
                service_token(platform, caller=other, audience=audience)
                for other in SERVICE_ISSUERS
                if other not in callers.services
            ]
            other_roles = tuple(role for role in OPERATOR_ROLES if role not in callers.roles)
            if other_roles:
                outsiders.append(operator_token(platform, name="mallory", roles=other_roles, audience=audience))
            for method in sorted(route.methods or ()):
                for token in outsiders:
                    checked += 1
                    response = await client.request(method, path, headers={"authorization": f"Bearer {token}"})
                    body = response.json() if response.content else {}
                    if response.status_code != 403 or "admits" not in body.get("error", {}).get("details", {}):  # noqa: PLR2004
                        wrong_answers.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
    assert not open_routes, f"routes that name no callers (academy_runtime.auth.accepts): {open_routes}"
    assert not wrong_answers, "a caller not admitted was not refused with 403:\n" + "\n".join(wrong_answers)
    return checked


class EventProbe:
    """Captures every event published on the run's exchange (a temporary queue bound to '#')."""

    def __init__(self, queue: aio_pika.abc.AbstractQueue) -> None:
        self.queue = queue

    async def next(self, event_type: str | None = None, timeout: float = 10.0) -> dict[str, Any]:
        import json

        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no {event_type or 'event'} within {timeout}s")
            message = await self.queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(min(0.05, remaining))
                continue
            payload: dict[str, Any] = json.loads(message.body)
            if event_type is None or payload.get("type") == event_type:
                return payload

    async def drain(self) -> list[dict[str, Any]]:
        import json

        out = []
        while (message := await self.queue.get(no_ack=True, fail=False)) is not None:
            out.append(json.loads(message.body))
        return out


@pytest.fixture
async def event_probe(resources: Resources, platform: TestPlatform) -> AsyncIterator[EventProbe]:
    # As the broker's administrator: a service's own user may not declare a server-named queue.
    connection = await aio_pika.connect(platform.infra.rabbitmq_url)
    channel = await connection.channel()
    exchange = await declare_events_exchange(channel, resources.settings.events_exchange)
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange, routing_key="#")
    yield EventProbe(queue)
    await connection.close()


API_TEST_TELEGRAM_ID_BASE = 880_000
"""Learner n of `register_api_test_learners` has Telegram id 880_000 + n (the users API's examples name 880001)."""


async def register_api_test_learners(users: httpx.AsyncClient, count: int) -> None:
    """Register learners 1..`count` through the users API `users` (a client authorised as the gateway),
    as the API tests' examples expect them: ids 1..count in a fresh run, Telegram ids 880_000 + n.
    AssertionError naming the answer when a registration is refused."""
    for n in range(1, count + 1):
        response = await users.post(
            "/internal/users/register",
            json={
                "telegram_id": API_TEST_TELEGRAM_ID_BASE + n,
                "full_name": "Анна Смирнова",
                "phone": f"+7916123456{n}",
                "city": "Москва",
                "consent": {"version": "1", "accepted_at": "2026-01-01T00:00:00Z"},
            },
        )
        assert response.status_code == httpx.codes.OK, response.text


__all__ = [
    "SERVICES",
    "EventProbe",
    "Infrastructure",
    "Needle",
    "ProducerBus",
    "TestPlatform",
    "api_client",
    "assert_every_route_names_its_callers",
    "assert_migrations_round_trip",
    "assert_role_isolated",
    "cleanup_broker",
    "cleanup_redis",
    "discover_infrastructure",
    "mentioned",
    "on_redis_cluster",
    "operator_token",
    "query_as",
    "real_service_keys_env",
    "redis_cluster_url",
    "redis_entries",
    "redis_entries_mentioning",
    "rows_mentioning",
    "schema_drift",
    "schema_rows",
    "schema_tables",
    "service_token",
]


# -- checks every service runs on its own schema ---------------------------------------------------


@pytest.fixture
async def scratch_database_url(platform: TestPlatform, service: ServiceDefinition) -> AsyncIterator[str]:
    """A database of its own (same roles, empty schemas) where a service's migrations can go up and down
    without disturbing the session's database the other tests use."""
    schema = service.metadata.schema or service.name
    database = f"{platform.database}_{schema}_scratch"
    await provision(platform.infra.admin_url, database, role_prefix=platform.role_prefix)
    yield platform.database_url(schema).rsplit("/", 1)[0] + f"/{database}"
    conn = await asyncpg.connect(platform.admin_dsn("postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()


async def schema_tables(database_url: str, schema: str) -> set[str]:
    from academy_runtime.db import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
    finally:
        await conn.close()
    return {r["tablename"] for r in rows}


async def schema_drift(database_url: str, service: ServiceDefinition) -> list[str]:
    """What autogenerate would still change: empty when the migrations build exactly the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.ext.asyncio import create_async_engine

    schema = service.metadata.schema
    # Reflect the schema by its name: with the role's search_path alembic would call it None.
    engine = create_async_engine(database_url, connect_args={"server_settings": {"search_path": "public"}})

    def compare(sync_conn: Any) -> list[Any]:
        context = MigrationContext.configure(
            sync_conn,
            opts={
                "include_schemas": True,
                "include_name": lambda name, type_, _: type_ != "schema" or name == schema,
                "compare_type": True,
                "version_table_schema": schema,
            },
        )
        return list(compare_metadata(context, service.metadata))

    try:
        async with engine.connect() as conn:
            diffs = await conn.run_sync(compare)
    finally:
        await engine.dispose()
    return [repr(diff) for diff in diffs]


async def assert_migrations_round_trip(service: ServiceDefinition, database_url: str) -> None:
    """upgrade head → the models' tables, no drift → downgrade base → nothing left → upgrade head again."""
    schema = service.metadata.schema or service.name
    expected = {t.name for t in service.metadata.sorted_tables} | {"alembic_version"}
    await asyncio.to_thread(migrate, service, "upgrade", "head", database_url=database_url)
    assert await schema_tables(database_url, schema) == expected
    drift = await schema_drift(database_url, service)
    assert drift == [], "migrations and models differ:\n" + "\n".join(drift)
    await asyncio.to_thread(migrate, service, "downgrade", "base", database_url=database_url)
    assert await schema_tables(database_url, schema) == {"alembic_version"}
    await asyncio.to_thread(migrate, service, "upgrade", "head", database_url=database_url)
    assert await schema_tables(database_url, schema) == expected


async def query_as(platform: TestPlatform, service_schema: str, sql: str) -> list[Any]:
    """Run SQL connected as one service's own role."""
    from academy_runtime.db import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(platform.database_url(service_schema)))
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def assert_role_isolated(platform: TestPlatform, schema: str, table: str) -> None:
    """No other service's role can read `schema.table` (nor even look into the schema)."""
    for other in SERVICES:
        if other == schema:
            continue
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await query_as(platform, other, f'SELECT 1 FROM "{schema}"."{table}" LIMIT 1')  # noqa: S608


# -- looking for a learner's values after their erasure ---------------------------------------------

Needle = str | re.Pattern[str]
"""What a search looks for: a string, found in any letter case, also JSON-escaped (inside a JSON document:
`\\u0417…`) and as UTF-8 hex (a `bytea` column); or a pattern, found where it matches (a user id as a
number of its own: `re.compile(rf"(?<!\\d){user_id}(?!\\d)")`)."""

_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
_SHOWN_OF_A_ROW = 300


def _forms(value: str) -> set[str]:
    return {value.casefold(), json.dumps(value)[1:-1].casefold(), value.encode().hex()}


def mentioned(haystack: str, needles: Iterable[Needle]) -> list[Needle]:
    """Which of `needles` `haystack` holds (see `Needle`), in their order; empty when none."""
    folded = haystack.casefold()
    found: list[Needle] = []
    for needle in needles:
        if isinstance(needle, re.Pattern):
            if needle.search(haystack):
                found.append(needle)
        elif any(form in folded for form in _forms(needle)):
            found.append(needle)
    return found


def _describe(needle: Needle) -> str:
    return f"/{needle.pattern}/" if isinstance(needle, re.Pattern) else repr(needle)


async def _tables(connection: AsyncConnection | AsyncSession, schema: str | None) -> list[tuple[str, str]]:
    """(schema, table) of every base table of `schema`, or of every schema but PostgreSQL's own."""
    where = "table_schema = :schema" if schema is not None else "table_schema <> ALL(:system)"
    found = await connection.execute(
        text(
            "SELECT table_schema, table_name FROM information_schema.tables "  # noqa: S608 - no value in it
            f"WHERE table_type = 'BASE TABLE' AND {where} ORDER BY 1, 2"
        ),
        {"schema": schema} if schema is not None else {"system": list(_SYSTEM_SCHEMAS)},
    )
    return [(row[0], row[1]) for row in found]


async def _rows_as_text(connection: AsyncConnection | AsyncSession, schema: str, table: str) -> list[str]:
    rows = await connection.execute(text(f'SELECT r::text FROM "{schema}"."{table}" AS r'))  # noqa: S608 - names
    return [str(row[0]) for row in rows]


async def schema_rows(connection: AsyncConnection | AsyncSession, schema: str) -> dict[str, list[str]]:
    """Every row of every table of `schema`, as PostgreSQL prints it (`row::text`: a JSON document, an
    array or a composite inside it as text too), by table name (tables without rows included)."""
    return {
        table: await _rows_as_text(connection, schema, table) for _schema, table in await _tables(connection, schema)
    }


async def rows_mentioning(
    connection: AsyncConnection | AsyncSession,
    schema: str | None,
    values: Iterable[Needle],
    *,
    except_tables: Collection[str] = (),
) -> list[str]:
    """Every row of `schema` (None: of every schema of the database but PostgreSQL's own) that holds one
    of `values` (see `Needle`), one line per row and value found: `schema.table: 'value' in <the row>`;
    empty when none does. `except_tables` are left out (a table name, or `schema.table`): a service's
    tombstones, which hold the id by design."""
    needles = list(values)
    found: list[str] = []
    for table_schema, table in await _tables(connection, schema):
        name = f"{table_schema}.{table}"
        if table in except_tables or name in except_tables:
            continue
        for row in await _rows_as_text(connection, table_schema, table):
            found += [f"{name}: {_describe(needle)} in {row[:_SHOWN_OF_A_ROW]}" for needle in mentioned(row, needles)]
    return found


def _as_text(item: bytes | str | float) -> str:
    return item.decode(errors="replace") if isinstance(item, bytes) else str(item)


async def _redis_values(redis: RedisClient, key: bytes | str) -> list[str]:
    kind = _as_text(await redis.type(key))
    held: list[Any]
    if kind == "string":
        held = [await redis.get(key)]
    elif kind == "hash":
        held = [item for pair in (await redis.hgetall(key)).items() for item in pair]
    elif kind == "list":
        held = list(await redis.lrange(key, 0, -1))
    elif kind == "set":
        held = list(await redis.smembers(key))
    elif kind == "zset":
        held = [item for pair in await redis.zrange(key, 0, -1, withscores=True) for item in pair]
    elif kind == "stream":
        entries = await redis.xrange(key) or []
        held = [item for _id, fields in entries for pair in (fields or {}).items() for item in pair]
    else:  # gone meanwhile ("none")
        held = []
    return [_as_text(item) for item in held if item is not None]


async def redis_entries(redis: RedisClient, prefix: str) -> dict[str, list[str]]:
    """Every key under `prefix` (the run's), by its whole name, with every string it holds, whatever its
    type: a string's value, a hash's fields and values, a list's or a set's items, a sorted set's members
    and scores, a stream's field names and values. Works with and without `decode_responses`."""
    return {
        _as_text(key): await _redis_values(redis, key) async for key in redis.scan_iter(match=f"{prefix}*", count=500)
    }


async def redis_entries_mentioning(
    redis: RedisClient, prefix: str, values: Iterable[Needle], *, in_keys: Iterable[Needle] = ()
) -> list[str]:
    """Every key under `prefix` whose name (without `prefix`, the run's) or any string it holds (see
    `redis_entries`) holds one of `values` (see `Needle`), one line per key and value found:
    `Redis <key>: 'value'`; empty when none does. `in_keys` are looked for in the key's name only (a user
    id, a small number other values hold by chance)."""
    needles, key_needles = list(values), list(in_keys)
    found: list[str] = []
    for key, held in (await redis_entries(redis, prefix)).items():
        own = key.removeprefix(prefix)
        hits = [needle for needle in needles if any(mentioned(item, [needle]) for item in (own, *held))]
        hits += mentioned(own, key_needles)
        found += [f"Redis {key}: {_describe(needle)}" for needle in hits]
    return found
