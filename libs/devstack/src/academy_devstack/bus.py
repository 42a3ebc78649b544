"""`make run`'s broker users: one RabbitMQ user per service, which may publish only its own events.

Created (idempotently) on every start, with passwords kept in `.run/bus-passwords.json` (random, made
on the first start, mode 0600). With `rabbitmqctl` on this machine (root, or the rabbitmq user) the
definitions are imported with it; with RABBITMQ_MANAGEMENT_URL set (and RABBITMQ_ADMIN_URL's
credentials) through the management API. Either way the definitions declare the events exchange, which
the services only look up. Neither available: every service shares RABBITMQ_ADMIN_URL with publisher
checks off, the events exchange is declared as that user, and a warning says so (development only:
production refuses it).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aio_pika
from academy_runtime.bus import bus_user, create_events_exchange
from academy_runtime.bus_provisioning import (
    BUS_SERVICES,
    amqp_url,
    apply_with_http,
    apply_with_rabbitmqctl,
    bus_grants,
    definitions,
    dev_passwords,
    rabbitmqctl_available,
)

ADMIN_URL = os.environ.get("RABBITMQ_ADMIN_URL", "amqp://guest:guest@127.0.0.1:5672/")
USER_PREFIX = "academy-"
EXCHANGE = "academy.events"  # the services' EVENTS_EXCHANGE default


async def _create_exchange(url: str, name: str) -> None:
    connection = await aio_pika.connect(url, timeout=10)
    try:
        await create_events_exchange(await connection.channel(), name)
    finally:
        await connection.close()


def provision_bus_users(run_dir: Path, say: Callable[[str], None]) -> dict[str, dict[str, str]]:
    """Create the services' broker users; return each service's environment for the bus (RABBITMQ_URL,
    BUS_USER_PREFIX, BUS_VERIFY_PUBLISHER), keyed by service name."""
    passwords = dev_passwords(run_dir / "bus-passwords.json", BUS_SERVICES)
    document = definitions(bus_grants(passwords, user_prefix=USER_PREFIX, exchange=EXCHANGE), exchange=EXCHANGE)
    management_url = os.environ.get("RABBITMQ_MANAGEMENT_URL", "")
    if management_url:
        admin = urlsplit(ADMIN_URL)
        asyncio.run(
            apply_with_http(
                document,
                management_url=management_url,
                admin_user=unquote(admin.username or "guest"),
                admin_password=unquote(admin.password or "guest"),
            )
        )
    elif rabbitmqctl_available():
        apply_with_rabbitmqctl(document)
    else:
        say(
            "WARNING: cannot create the services' RabbitMQ users (no rabbitmqctl for this broker, no "
            "RABBITMQ_MANAGEMENT_URL): every service connects as RABBITMQ_ADMIN_URL's user and consumers do "
            "not check who published"
        )
        # Services only look the exchange up; without the definitions, the administrator declares it.
        asyncio.run(_create_exchange(ADMIN_URL, EXCHANGE))
        return {s: {"RABBITMQ_URL": ADMIN_URL, "BUS_VERIFY_PUBLISHER": "false"} for s in BUS_SERVICES}
    say(
        f"broker users {', '.join(bus_user(USER_PREFIX, s) for s in BUS_SERVICES)} (each publishes only its own events)"
    )
    return {
        service: {
            "RABBITMQ_URL": amqp_url(ADMIN_URL, bus_user(USER_PREFIX, service), passwords[service]),
            "BUS_USER_PREFIX": USER_PREFIX,
            "BUS_VERIFY_PUBLISHER": "true",
        }
        for service in BUS_SERVICES
    }
