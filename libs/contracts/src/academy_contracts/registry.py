"""Every event type, and the two calls that cross the wire: `build_event` and `parse_event`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import ValidationError

from academy_contracts import billing, catalog, gamification, progress, users
from academy_contracts.base import TOLERANT_READ, EventData
from academy_contracts.envelope import CloudEvent, new_event_id

__all__ = [
    "EVENTS_EXCHANGE",
    "EVENTS_EXCHANGE_TYPE",
    "EVENT_TYPES",
    "SOURCE_PREFIX",
    "InvalidEventError",
    "build_event",
    "example_event",
    "parse_event",
    "parse_event_as",
    "routing_key",
    "source_for",
]

EVENTS_EXCHANGE = "academy.events"
"""The one durable topic exchange all domain events are published to, routing key = event type."""

EVENTS_EXCHANGE_TYPE = "topic"

SOURCE_PREFIX = "/beauty-academy/"

E = TypeVar("E", bound=EventData)

_ALL_EVENTS: tuple[type[EventData], ...] = (
    users.UserRegisteredV1,
    users.UserRegisteredV2,
    users.ProfileUpdatedV1,
    users.ProfileUpdatedV2,
    users.AvatarUpdatedV1,
    users.UserErasedV1,
    users.UserRegisteredV3,
    users.ProfileUpdatedV3,
    users.AvatarRemovedV1,
    users.UserErasedV2,
    catalog.CoursePublishedV1,
    catalog.CourseUpdatedV1,
    catalog.CourseArchivedV1,
    progress.CourseEnrolledV1,
    progress.LessonCompletedV1,
    progress.CourseCompletedV1,
    progress.CourseCompletedV2,
    progress.LearnerInactiveV1,
    gamification.PointsAwardedV1,
    gamification.PointsAwardedV2,
    gamification.AchievementUnlockedV1,
    gamification.AchievementUnlockedV2,
    billing.PaymentSucceededV1,
    billing.PaymentFailedV1,
    billing.PaymentRefundedV1,
    billing.BalanceChangedV1,
    billing.BalanceLowV1,
    billing.CoursePurchasedV1,
    billing.PurchaseRefundedV1,
)


def _index(models: tuple[type[EventData], ...]) -> Mapping[str, type[EventData]]:
    index: dict[str, type[EventData]] = {}
    for model in models:
        if model.event_type in index:
            raise RuntimeError(f"{model.event_type} is declared by {index[model.event_type]} and {model}")
        index[model.event_type] = model
    return MappingProxyType(index)


EVENT_TYPES: Mapping[str, type[EventData]] = _index(_ALL_EVENTS)
"""Event type (= routing key) → its data model, for every event this release of the contracts knows."""


class InvalidEventError(ValueError):
    """A message that is not a valid event of a known type. Retrying cannot fix it: dead-letter it.

    `reason` says what is wrong without echoing field values (they may be personal data), so it is safe
    to put in logs and dead-letter headers.
    """

    def __init__(self, reason: str, *, event_id: str | None = None, event_type: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.event_id = event_id
        self.event_type = event_type


def source_for(model_cls: type[EventData]) -> str:
    """The CloudEvents `source` of an event type: `/beauty-academy/<service>`."""
    return f"{SOURCE_PREFIX}{model_cls.source_service}"


def routing_key(model_cls: type[EventData]) -> str:
    """The RabbitMQ routing key of an event type (its CloudEvents `type`)."""
    return model_cls.event_type


def build_event(
    data: EventData,
    *,
    event_id: str | None = None,
    time: datetime | None = None,
    traceparent: str | None = None,
    subject: str | None = None,
) -> CloudEvent:
    """Wrap `data` in its CloudEvent.

    `time` defaults to the moment the event describes (e.g. `registered_at`), `subject` to
    `user/<id>` or `course/<id>`, `partitionkey` to the user id. Pass a deterministic `event_id` when
    a retried command must produce the same event rather than a second one.
    """
    model_cls = type(data)
    if EVENT_TYPES.get(getattr(model_cls, "event_type", "")) is not model_cls:
        # Consumers look the type up in the registry: an unregistered class would not parse as itself.
        raise TypeError(f"{model_cls.__name__} is not a registered event model")
    return _wrap(data, event_id=event_id, time=time, traceparent=traceparent, subject=subject)


def _wrap(
    data: EventData,
    *,
    event_id: str | None = None,
    time: datetime | None = None,
    traceparent: str | None = None,
    subject: str | None = None,
) -> CloudEvent:
    model_cls = type(data)
    return CloudEvent(
        id=event_id or new_event_id(),
        source=source_for(model_cls),
        type=model_cls.event_type,
        time=time or data.occurred_at(),
        subject=subject or data.event_subject(),
        data=data.model_dump(mode="json"),
        traceparent=traceparent,
        partitionkey=data.partition_key(),
    )


def parse_event(body: bytes | bytearray | str | Mapping[str, Any]) -> tuple[CloudEvent, EventData]:
    """Validate a message body (or an already decoded JSON object): envelope, type, then data.

    Raises `InvalidEventError` for a body that is not JSON, an invalid envelope, an event type this
    release does not know, a `source` that does not produce that type, or data that fails its model.
    Fields in `data` that this release does not know are ignored (a producer may already send a newer,
    compatible revision of the same version).
    """
    raw = _decode(body)
    raw_id, raw_type = raw.get("id"), raw.get("type")
    known_id = raw_id if isinstance(raw_id, str) else None
    known_type = raw_type if isinstance(raw_type, str) else None
    try:
        event = CloudEvent.model_validate(raw)
    except ValidationError as exc:
        raise InvalidEventError(
            f"invalid CloudEvents envelope: {_describe(exc)}", event_id=known_id, event_type=known_type
        ) from None
    model_cls = EVENT_TYPES.get(event.type)
    if model_cls is None:
        raise InvalidEventError(
            f"unknown event type {event.type!r}: not among the {len(EVENT_TYPES)} types of this "
            "beauty-academy-contracts release (upgrade it if the type is new)",
            event_id=event.id,
            event_type=event.type,
        )
    expected_source = source_for(model_cls)
    if event.source != expected_source:
        raise InvalidEventError(
            f"{event.type} comes from {expected_source!r}, not {event.source!r}",
            event_id=event.id,
            event_type=event.type,
        )
    try:
        data = model_cls.model_validate(event.data, context={TOLERANT_READ: True})
    except ValidationError as exc:
        raise InvalidEventError(
            f"data does not match {event.type}: {_describe(exc, prefix='data')}",
            event_id=event.id,
            event_type=event.type,
        ) from None
    return event, data


def parse_event_as(body: bytes | bytearray | str | Mapping[str, Any], model_cls: type[E]) -> tuple[CloudEvent, E]:
    """`parse_event` for a handler that expects exactly one event type; any other type is invalid."""
    event, data = parse_event(body)
    if not isinstance(data, model_cls):
        raise InvalidEventError(
            f"expected {model_cls.event_type}, got {event.type}", event_id=event.id, event_type=event.type
        )
    return event, data


EXAMPLE_TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def example_event(model_cls: type[EventData]) -> CloudEvent:
    """The documented example of an event type: its data example in a deterministic envelope.

    Works for candidate models not registered yet, so the compatibility check can document them.
    """
    return _wrap(
        model_cls.example(),
        event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:beauty-academy:example:{model_cls.event_type}")),
        traceparent=EXAMPLE_TRACEPARENT,
    )


def _decode(body: bytes | bytearray | str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(body, Mapping):
        decoded: Any = dict(body)
    else:
        try:
            decoded = json.loads(body, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise InvalidEventError(f"body is not valid JSON: {exc}") from None
    if not isinstance(decoded, dict):
        raise InvalidEventError(f"body must be a JSON object, not {type(decoded).__name__}")
    return decoded


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_MAX_REPORTED_ERRORS = 5


def _describe(exc: ValidationError, *, prefix: str = "") -> str:
    # Locations and messages only: pydantic's default text would echo the offending values.
    parts = []
    for error in exc.errors(include_url=False, include_input=False)[:_MAX_REPORTED_ERRORS]:
        location = ".".join(str(part) for part in (prefix, *error["loc"]) if part != "")
        parts.append(f"{location or '<event>'}: {error['msg']}")
    if exc.error_count() > _MAX_REPORTED_ERRORS:
        parts.append(f"and {exc.error_count() - _MAX_REPORTED_ERRORS} more")
    return "; ".join(parts)
