"""RabbitMQ provisioning: one broker user per service, which can publish only its own events.

For service S (queue names `<QUEUE_PREFIX><S>.<purpose>...`, user `<BUS_USER_PREFIX><S>`):
- vhost permissions: configure its own queues only (it declares them, with their retry and dead-letter
  queues); read its own queues and the events exchange (to bind); write its own queues, the events
  exchange and the default exchange (`amq.default`: its own retry and dead-letter moves);
- topic permissions on the events exchange: write (publish) only routing keys `^S\\.` when S publishes
  events (`academy_contracts` says who does), none otherwise (gateway-bot); read (bind) any key.

Everything is one RabbitMQ definitions document (`definitions()`), applied additively and idempotently
(users are created or their password updated, permissions set), either with `rabbitmqctl
import_definitions` on the broker's own machine (`make run`, the tests) or through the management HTTP
API (`POST /api/definitions`: docker-compose's and Kubernetes' provisioning Jobs). The definitions
also declare the events exchange, so it exists before any service connects: services only look it up
(a passive declare needs no permission), and with no configure permission on it no service's user can
delete it (`exchange.delete` is refused with ACCESS_REFUSED) or declare it with other properties.

What remains possible for a service's user, by RabbitMQ's design: publishing through the default
exchange into another service's queue (write on `amq.default` cannot be limited by queue). That is
refused by every consumer (the AMQP `user_id` is checked, see academy_runtime.consumer).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
from academy_contracts import EVENT_TYPES

from academy_runtime.bus import bus_user

BUS_SERVICES = ("users", "catalog", "progress", "gamification", "billing", "gateway-bot")
"""Every service that connects to the broker, by its SERVICE_NAME (also the first word of its routing keys)."""

PUBLISHERS = frozenset(model.source_service for model in EVENT_TYPES.values())
"""The services that publish events, per the contracts (gateway-bot publishes none)."""

_NOTHING = "^$"  # no routing key is empty, so this regexp grants nothing


class BusProvisioningError(RuntimeError):
    """The broker refused or could not be reached while provisioning; the message says which step."""


@dataclass(frozen=True)
class BusGrant:
    """One service's broker user and what it may do (RabbitMQ permission regexps)."""

    service: str
    user: str
    password: str
    configure: str
    write: str
    read: str
    topic_write: str
    topic_read: str = ".*"


def bus_grants(
    passwords: Mapping[str, str],
    *,
    services: Iterable[str] = BUS_SERVICES,
    user_prefix: str = "academy-",
    queue_prefix: str = "",
    exchange: str = "academy.events",
    topic_writes: Mapping[str, str] | None = None,
) -> list[BusGrant]:
    """The grant of every service in `services`; `passwords` maps each service to its password (KeyError
    when one is missing). `topic_writes` overrides a service's publish regexp (tests only: a test service
    that stands in for producers)."""
    exchange_re = re.escape(exchange)
    grants = []
    for service in services:
        own = re.escape(f"{queue_prefix}{service}.") + ".*"
        topic_write = f"^{re.escape(service)}\\." if service in PUBLISHERS else _NOTHING
        grants.append(
            BusGrant(
                service=service,
                user=bus_user(user_prefix, service),
                password=passwords[service],
                # Not the exchange: configure on it would let the user delete it (provisioning declares it).
                configure=f"^({own})$",
                write=f"^({exchange_re}|amq\\.default|{own})$",
                read=f"^({exchange_re}|{own})$",
                topic_write=(topic_writes or {}).get(service, topic_write),
            )
        )
    return grants


def definitions(grants: Iterable[BusGrant], *, exchange: str = "academy.events", vhost: str = "/") -> dict[str, Any]:
    """A RabbitMQ definitions document (the format of `rabbitmqctl import_definitions`, `POST /api/definitions`
    and `load_definitions`) with the users, their permissions and topic permissions, and the events exchange.
    Passwords are in clear (`password`): RabbitMQ hashes them on import; keep the document secret."""
    grants = list(grants)
    return {
        "users": [{"name": g.user, "password": g.password, "tags": ""} for g in grants],
        "vhosts": [{"name": vhost}],
        "permissions": [
            {"user": g.user, "vhost": vhost, "configure": g.configure, "write": g.write, "read": g.read} for g in grants
        ],
        "topic_permissions": [
            {"user": g.user, "vhost": vhost, "exchange": exchange, "write": g.topic_write, "read": g.topic_read}
            for g in grants
        ],
        "exchanges": [
            {
                "name": exchange,
                "vhost": vhost,
                "type": "topic",
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            }
        ],
    }


def rabbitmqctl_available() -> bool:
    """Whether `rabbitmqctl` is installed here and can talk to the local node (root or the rabbitmq user)."""
    if shutil.which("rabbitmqctl") is None:
        return False
    try:
        result = subprocess.run(
            ["rabbitmqctl", "-q", "status"],  # noqa: S607
            capture_output=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _rabbitmqctl(*args: str, stdin: str | None = None) -> str:
    try:
        result = subprocess.run(  # noqa: S603
            ["rabbitmqctl", "-q", *args],  # noqa: S607
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BusProvisioningError(f"rabbitmqctl {args[0]} failed: {exc!r}") from exc
    if result.returncode != 0:
        raise BusProvisioningError(f"rabbitmqctl {args[0]} failed: {(result.stderr or result.stdout).strip()[-500:]}")
    return result.stdout


def apply_with_rabbitmqctl(document: Mapping[str, Any], *, timeout_s: float = 30) -> None:
    """Import `document` into the local node and wait until its topic permissions are in place
    (the import runs asynchronously in RabbitMQ 3.10+). Blocking; BusProvisioningError on failure."""
    # On standard input: the passwords never touch the disk (and the node need not read our files).
    _rabbitmqctl("import_definitions", "--format", "json", stdin=json.dumps(document))
    wanted = {(p["vhost"], p["user"], p["exchange"], p["write"]) for p in document["topic_permissions"]}
    vhosts = sorted({vhost for vhost, *_ in wanted})
    until = time.monotonic() + timeout_s
    while True:
        present = set()
        for vhost in vhosts:
            rows = json.loads(_rabbitmqctl("list_topic_permissions", "-p", vhost, "--formatter", "json") or "[]")
            present |= {(vhost, r["user"], r["exchange"], r["write"]) for r in rows}
        if wanted <= present:
            return
        if time.monotonic() > until:
            raise BusProvisioningError(f"definitions imported but not applied within {timeout_s}s")
        time.sleep(0.2)


async def apply_with_http(
    document: Mapping[str, Any],
    *,
    management_url: str,
    admin_user: str,
    admin_password: str,
    timeout_s: float = 30,
) -> None:
    """Import `document` through the management API (`POST <management_url>/api/definitions`), then wait
    until its users, topic permissions and exchanges read back as imported, so that a service started
    right after finds its user (RabbitMQ 3.10 imports before it answers 204, which the tests check; this
    keeps it so whatever the version or the node that answers). BusProvisioningError when the API
    refuses it, cannot be reached, or the definitions do not show within `timeout_s`."""
    base = management_url.rstrip("/")
    url = base + "/api/definitions"
    try:
        async with httpx.AsyncClient(auth=(admin_user, admin_password), timeout=30) as client:
            response = await client.post(url, json=document)
            if response.status_code >= 300:  # noqa: PLR2004
                raise BusProvisioningError(f"POST {url} answered {response.status_code}: {response.text[:500]}")
            until = time.monotonic() + timeout_s
            while (missing := await _missing_over_http(client, base, document)) is not None:
                if time.monotonic() > until:
                    raise BusProvisioningError(
                        f"definitions imported through {management_url} but {missing} not in place within {timeout_s}s"
                    )
                await asyncio.sleep(0.2)
    except httpx.HTTPError as exc:
        raise BusProvisioningError(
            f"the RabbitMQ management API at {management_url} is not reachable: {exc!r}"
        ) from exc


async def _missing_over_http(client: httpx.AsyncClient, base: str, document: Mapping[str, Any]) -> str | None:
    """The first thing of `document` the management API does not show yet (None: everything is there)."""
    for grant in document["topic_permissions"]:
        path = f"/api/topic-permissions/{quote(grant['vhost'], safe='')}/{quote(grant['user'], safe='')}"
        response = await client.get(base + path)
        rows = response.json() if response.status_code == 200 else []  # noqa: PLR2004
        if not any(r.get("exchange") == grant["exchange"] and r.get("write") == grant["write"] for r in rows):
            return f"the topic permission of {grant['user']}"
    for exchange in document.get("exchanges", []):
        path = f"/api/exchanges/{quote(exchange['vhost'], safe='')}/{quote(exchange['name'], safe='')}"
        if (await client.get(base + path)).status_code != 200:  # noqa: PLR2004
            return f"the exchange {exchange['name']}"
    return None


def delete_users_with_rabbitmqctl(users: Iterable[str]) -> None:
    """Remove broker users (test runs clean up after themselves); a missing user is not an error."""
    for user in users:
        try:
            _rabbitmqctl("delete_user", user)
        except BusProvisioningError as exc:
            if "no_such_user" not in str(exc) and "does not exist" not in str(exc):
                raise


def dev_passwords(path: Path, services: Iterable[str] = BUS_SERVICES) -> dict[str, str]:
    """Random development passwords, one per service, kept in `path` (JSON, mode 0600) so that every
    `make run` on this machine reuses them; missing ones are added."""
    stored: dict[str, str] = {}
    if path.exists():
        stored = {str(k): str(v) for k, v in json.loads(path.read_text()).items()}
    missing = [s for s in services if s not in stored]
    if missing:
        stored.update({s: secrets.token_urlsafe(24) for s in missing})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored, indent=2, sort_keys=True))
        path.chmod(0o600)
    return stored


def amqp_url(base_url: str, user: str, password: str) -> str:
    """`base_url` (any amqp:// URL of the broker) with `user` and `password` as its credentials."""
    parts = urlsplit(base_url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}{f':{parts.port}' if parts.port else ''}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, parts.fragment))
