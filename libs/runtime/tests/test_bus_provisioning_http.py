"""The management-API provisioning path (`apply_with_http`, what docker-compose's bus-provision and the
Kubernetes Job run) against the real broker's management plugin.

A throwaway virtual host with two throwaway users (`users`'s and `progress`'s grants), removed afterwards.
The management API is TEST_RABBITMQ_MANAGEMENT_URL (default http://127.0.0.1:15672) with TEST_RABBITMQ_URL's
administrator; without it the test skips, saying why (scripts/test.sh and `make run` enable the plugin on a
local broker that has it: `rabbitmq-plugins enable rabbitmq_management`).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from urllib.parse import quote, unquote, urlsplit

import aio_pika
import aiormq.exceptions
import httpx
import pytest
from academy_contracts import build_event
from academy_runtime.bus import declare_events_exchange, event_message
from academy_runtime.bus_provisioning import amqp_url, apply_with_http, bus_grants, definitions
from academy_runtime.testing import DEFAULT_RABBITMQ_URL

from .helpers import registered

pytestmark = pytest.mark.integration

MANAGEMENT_URL = os.environ.get("TEST_RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:15672")


def _admin() -> tuple[str, str, str]:
    """The broker's AMQP URL and its administrator's name and password."""
    url = os.environ.get("TEST_RABBITMQ_URL") or DEFAULT_RABBITMQ_URL
    parts = urlsplit(url)
    return url, unquote(parts.username or "guest"), unquote(parts.password or "guest")


@pytest.fixture
def management() -> Iterator[httpx.Client]:
    _, user, password = _admin()
    client = httpx.Client(base_url=MANAGEMENT_URL.rstrip("/"), auth=(user, password), timeout=10)
    try:
        answer = client.get("/api/overview")
    except httpx.HTTPError as exc:
        client.close()
        if shutil.which("rabbitmq-plugins") is None:
            why = "rabbitmq-plugins is not installed here, so the tests cannot enable it"
        else:
            why = "enable it: rabbitmq-plugins enable rabbitmq_management (scripts/test.sh does on a local broker)"
        pytest.skip(f"no RabbitMQ management API at {MANAGEMENT_URL} ({exc!r}): {why}")
    if answer.status_code != 200:
        client.close()
        pytest.skip(f"the management API at {MANAGEMENT_URL} refuses the test's administrator: {answer.status_code}")
    yield client
    client.close()


async def test_definitions_applied_through_the_management_api_grant_exactly_the_service_permissions(management):
    run = secrets.token_hex(4)
    vhost, prefix = f"academy-test-{run}", f"t{run}-"
    exchange_name = "academy.events"
    passwords = {"users": secrets.token_urlsafe(18), "progress": secrets.token_urlsafe(18)}
    grants = bus_grants(passwords, services=("users", "progress"), user_prefix=prefix, exchange=exchange_name)
    document = definitions(grants, exchange=exchange_name, vhost=vhost)
    broker, admin_user, admin_password = _admin()
    base = f"{broker.split('://', 1)[0]}://{urlsplit(broker).netloc.rsplit('@', 1)[-1]}/{quote(vhost, safe='')}"
    try:
        await apply_with_http(
            document, management_url=MANAGEMENT_URL, admin_user=admin_user, admin_password=admin_password
        )
        # At once, as a service started right after provision-bus would: the user exists and may publish
        # its own routing keys on the exchange the definitions declared.
        payload = build_event(registered(1)).model_dump(mode="json", exclude_none=True)
        connection = await aio_pika.connect(amqp_url(base, f"{prefix}users", passwords["users"]))
        try:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await declare_events_exchange(channel, exchange_name)
            await exchange.publish(event_message(payload, user_id=f"{prefix}users"), routing_key=payload["type"])
            with pytest.raises(aiormq.exceptions.ChannelAccessRefused, match="progress"):
                await exchange.publish(
                    event_message(payload, user_id=f"{prefix}users"), routing_key="progress.lesson_completed.v1"
                )
            channel = await connection.channel()
            with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
                await channel.exchange_delete(exchange_name)
        finally:
            await connection.close()
        permissions = management.get(f"/api/users/{prefix}users/permissions").json()
        assert [(p["vhost"], p["configure"]) for p in permissions] == [(vhost, r"^(users\..*)$")]
        # Applying again changes nothing and fails nothing (provision-bus runs on every deployment).
        await apply_with_http(
            document, management_url=MANAGEMENT_URL, admin_user=admin_user, admin_password=admin_password
        )
    finally:
        management.delete(f"/api/vhosts/{quote(vhost, safe='')}")
        for grant in grants:
            management.delete(f"/api/users/{quote(grant.user, safe='')}")
    assert management.get(f"/api/users/{prefix}users").status_code == 404
