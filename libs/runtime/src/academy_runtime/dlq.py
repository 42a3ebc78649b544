"""Operators' view of dead letters: list them without consuming, re-drive them into the main queue.

Only what this service dead-lettered itself is re-driven. Every service may write to the default exchange,
so anyone can put a message into another service's dead-letter queue, with any `x-original-*` headers; a
re-drive republishes as this service's own user, which makes the consumer believe those headers
(`academy_runtime.consumer`). So a letter is re-driven only when its broker-validated AMQP `user_id` is
this service's own broker user (the consumer publishes its dead letters itself, as that user) and the
consumer did not mark its original publisher unverified (`x-original-verified: false`); anything else
stays in the queue, reported as "not dead-lettered by <service>: published by <user>". A re-drive must run
as the service's own broker user (RABBITMQ_URL): the consumer believes a re-driven letter only from it.
One run re-drives at most the letters present when it starts, so letters that bounce straight back (a
handler still failing) are not picked up again.

Both read messages under `amqp_tables.bounded_header_decoding()`: a dead letter whose headers nest
hundreds of levels deep is listed (deep levels as a placeholder) instead of crashing the tool with a
RecursionError, and a re-drive publishes it with its headers cut to that depth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika

from academy_runtime.amqp_tables import bounded_header_decoding, render_header
from academy_runtime.bus import bus_user, connect, connection_user, service_of
from academy_runtime.consumer import (
    ATTEMPT_HEADER,
    CONSUMER_HEADER,
    ERROR_HEADER,
    FAILED_AT_HEADER,
    ORIGINAL_KEY_HEADER,
    ORIGINAL_USER_HEADER,
    PUBLISHER_HEADER,
    REASON_HEADER,
    REDRIVEN_HEADER,
    VERIFIED_HEADER,
    _as_int,
)
from academy_runtime.settings import Environment, ServiceSettings

DEV_BUS_PASSWORDS = Path(".run/bus-passwords.json")
"""Where `make run` keeps each service's development broker password (academy_devstack.bus)."""


class WrongBusUserError(RuntimeError):
    """`dlq redrive` connected as a broker user other than the service's own; nothing was moved."""


def own_bus_user(settings: ServiceSettings) -> str:
    """The broker user this service's consumers publish their dead letters as: its own
    `<BUS_USER_PREFIX><service>` when publishers are checked, else the user it connects as."""
    if settings.bus_verify_publisher:
        return bus_user(settings.bus_user_prefix, settings.service_name)
    return connection_user(settings.rabbitmq_url)


def development_bus_url(settings: ServiceSettings, passwords: Path = DEV_BUS_PASSWORDS) -> str | None:
    """In development, the service's own broker URL from `make run`'s password file, when RABBITMQ_URL names
    another user (the default `guest`) and the file has the service's password; else None."""
    from academy_runtime.bus_provisioning import amqp_url

    if settings.environment != Environment.DEVELOPMENT or not settings.bus_verify_publisher:
        return None
    own = own_bus_user(settings)
    if connection_user(settings.rabbitmq_url) == own or not passwords.is_file():
        return None
    try:
        password = json.loads(passwords.read_text()).get(settings.service_name)
    except (OSError, ValueError, AttributeError):
        return None
    return amqp_url(settings.rabbitmq_url, own, password) if isinstance(password, str) and password else None


def check_redrive_user(settings: ServiceSettings) -> None:
    """WrongBusUserError unless a re-drive would publish as the service's own broker user."""
    if not settings.bus_verify_publisher:
        return
    own, connected = own_bus_user(settings), connection_user(settings.rabbitmq_url)
    if connected != own:
        raise WrongBusUserError(
            f"dlq redrive must connect as {settings.service_name}'s own broker user {own!r}, not {connected!r}: "
            f"its consumers believe a re-driven letter's original publisher only from {own!r}, and refuse "
            f"anything else as unverified_publisher. Run it with RABBITMQ_URL=amqp://{own}:<password>@<host>:<port>/ "
            f"(the service's own RABBITMQ_URL; in development `make run` keeps the password in "
            f"{DEV_BUS_PASSWORDS} under {settings.service_name!r})."
        )


@dataclass(frozen=True)
class DeadLetter:
    """One dead letter as `dlq list` and `GET /internal/dead-letters` show it: `message_id` and `event_type`
    (the AMQP properties, the type read from the body when the property is unset), the consumer's `reason`,
    `error` and `attempts`, `failed_at` (ISO 8601, as the consumer wrote it), the first 300 bytes of the
    body, the first 50 headers as bounded text, who put it in the queue (`publisher`, broker-validated) and
    what it states of its origin, and whether a re-drive would move it (`refusal`: why not)."""

    message_id: str | None
    event_type: str | None
    reason: str
    error: str
    attempts: int
    failed_at: str
    body_preview: str
    headers: dict[str, str]  # every header, each shown as bounded text (academy_runtime.amqp_tables)
    publisher: str = ""  # the AMQP user_id the broker validated: who put the letter in the queue
    original_publisher: str = ""  # x-original-user-id, as the letter states it
    original_routing_key: str = ""
    redrivable: bool = False
    refusal: str = ""  # why `dlq redrive` leaves it in the queue (empty when it would re-drive it)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _text(value: object) -> str:
    """A header that should hold text, as text (bounded, whatever a client put there)."""
    return value if isinstance(value, str) else render_header(value)


def refusal(settings: ServiceSettings, message: aio_pika.abc.AbstractIncomingMessage) -> str:
    """Why `dlq redrive` must not re-drive `message` ("" when it may)."""
    own = own_bus_user(settings)
    headers = message.headers or {}
    if message.user_id != own:
        return f"not dead-lettered by {settings.service_name}: published by {message.user_id or 'an unnamed user'}"
    if headers.get(VERIFIED_HEADER) is False:
        put_by = _text(headers.get(PUBLISHER_HEADER, "")) or "an unnamed user"
        return (
            f"original publisher not verified: {settings.service_name} dead-lettered it after {put_by} "
            "put it in the queue"
        )
    if settings.bus_verify_publisher:
        # A letter whose recorded origin could never pass the consumer's publisher check (an empty routing
        # key, or a publisher that is not the user of the service the key names — letters a re-drive as
        # guest once rewrote) would only come straight back: say so instead of re-driving it for ever.
        key = _text(headers.get(ORIGINAL_KEY_HEADER, ""))
        publisher = _text(headers.get(ORIGINAL_USER_HEADER, ""))
        expected = bus_user(settings.bus_user_prefix, service_of(key)) if key else ""
        if not key or publisher != expected:
            return (
                f"its recorded origin cannot pass the publisher check: routing key {key or '(none)'!r}, "
                f"published by {publisher or '(nobody)'!r}"
                + (f" instead of {expected!r}" if expected else "")
                + "; republish the event through its producing service"
            )
    return ""


def _describe(settings: ServiceSettings, message: aio_pika.abc.AbstractIncomingMessage) -> DeadLetter:
    headers = message.headers or {}
    event_type = message.type
    if event_type is None:
        try:
            event_type = json.loads(message.body).get("type")
        except (ValueError, AttributeError):
            event_type = None
    why = refusal(settings, message)
    return DeadLetter(
        message_id=message.message_id,
        event_type=event_type,
        reason=_text(headers.get(REASON_HEADER, "")),
        error=_text(headers.get(ERROR_HEADER, "")),
        attempts=_as_int(headers.get(ATTEMPT_HEADER)),
        failed_at=_text(headers.get(FAILED_AT_HEADER, "")),
        body_preview=message.body[:300].decode("utf-8", "replace"),
        headers={str(key): render_header(value) for key, value in list(headers.items())[:50]},
        publisher=message.user_id or "",
        original_publisher=_text(headers.get(ORIGINAL_USER_HEADER, "")),
        original_routing_key=_text(headers.get(ORIGINAL_KEY_HEADER, "")),
        redrivable=not why,
        refusal=why,
    )


@dataclass
class Redrive:
    """What one `dlq redrive` run did: `moved` letters re-driven, `left` (message id, why) left in the queue."""

    queue: str
    present: int  # letters in the queue when the run started: the most it looks at
    moved: int = 0
    left: list[tuple[str, str]] = field(default_factory=list)


async def dead_letter_depths(settings: ServiceSettings, purposes: list[str]) -> dict[str, int | None]:
    """How many dead letters each consumer purpose's dead-letter queue holds (RabbitMQ's `message_count` of a
    passive declare: ready messages, not those a reader holds unacknowledged), by purpose; None for a purpose
    whose queue does not exist (nothing declared it yet: the worker and `migrate` do). One connection."""
    depths: dict[str, int | None] = {}
    connection = await connect(settings, name="dlq-depths")
    try:
        for purpose in purposes:
            # A passive declare of a missing queue closes its channel: one channel a purpose.
            channel = await connection.channel()
            try:
                queue = await channel.declare_queue(f"{settings.queue_name(purpose)}.dlq", passive=True)
            except aio_pika.exceptions.ChannelNotFoundEntity:
                depths[purpose] = None
                continue
            depths[purpose] = queue.declaration_result.message_count or 0
            await channel.close()
        return depths
    finally:
        await connection.close()


async def list_dead_letters(settings: ServiceSettings, purpose: str, limit: int = 100) -> list[DeadLetter]:
    """Read up to `limit` dead letters; they stay in the queue, in order."""
    with bounded_header_decoding():
        return await _list_dead_letters(settings, purpose, limit)


async def _list_dead_letters(settings: ServiceSettings, purpose: str, limit: int) -> list[DeadLetter]:
    dlq = f"{settings.queue_name(purpose)}.dlq"
    connection = await connect(settings, name="dlq-list")
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(dlq, passive=True)
        seen: list[DeadLetter] = []
        # Unacknowledged gets return to the queue when the channel closes, in their original order.
        while len(seen) < limit:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            seen.append(_describe(settings, message))
        await channel.close()
        return seen
    finally:
        await connection.close()


async def redrive_dead_letters(settings: ServiceSettings, purpose: str, limit: int | None = None) -> Redrive:
    """Move up to `limit` of this service's own dead letters back to the main queue with a fresh attempt count,
    looking at no more than the letters present when it starts; leave the others in the queue.
    WrongBusUserError (before touching anything) unless connected as the service's own broker user."""
    check_redrive_user(settings)
    with bounded_header_decoding():
        return await _redrive_dead_letters(settings, purpose, limit)


_DROPPED = frozenset({ATTEMPT_HEADER, REASON_HEADER, ERROR_HEADER, CONSUMER_HEADER, FAILED_AT_HEADER, PUBLISHER_HEADER})


async def _redrive_dead_letters(settings: ServiceSettings, purpose: str, limit: int | None) -> Redrive:
    main = settings.queue_name(purpose)
    connection = await connect(settings, name="dlq-redrive")
    try:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(f"{main}.dlq", passive=True)
        report = Redrive(queue=queue.name, present=queue.declaration_result.message_count or 0)
        held: list[aio_pika.abc.AbstractIncomingMessage] = []
        try:
            for _ in range(report.present):
                if limit is not None and report.moved >= limit:
                    break
                message = await queue.get(no_ack=False, fail=False)
                if message is None:
                    break
                why = refusal(settings, message)
                if why:
                    # Held unacknowledged until the end (so this run does not see it again), then put back.
                    held.append(message)
                    report.left.append((message.message_id or "", why))
                    continue
                headers = {k: v for k, v in (message.headers or {}).items() if k not in _DROPPED}
                headers[REDRIVEN_HEADER] = True
                await channel.default_exchange.publish(
                    aio_pika.Message(
                        body=message.body,
                        headers=headers,
                        content_type=message.content_type,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        message_id=message.message_id,
                        type=message.type,
                        # As this service's own user (checked above): the consumer then believes the first
                        # publisher and routing key recorded in the headers, and checks them again.
                        user_id=connection_user(settings.rabbitmq_url),
                    ),
                    routing_key=main,
                )
                await message.ack()
                report.moved += 1
        finally:
            for message in held:
                await message.nack(requeue=True)
        return report
    finally:
        await connection.close()
