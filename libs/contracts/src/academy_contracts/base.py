"""Base classes of every contract model: `ContractModel` for values, `EventData` for event payloads."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator
from pydantic.config import JsonDict

EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.v[1-9][0-9]*$"
"""`<service>.<event>.v<N>`: the CloudEvents `type` and the RabbitMQ routing key."""

_EVENT_TYPE_RE = re.compile(EVENT_TYPE_PATTERN)

TOLERANT_READ = "academy_contracts.tolerant_read"
"""Validation-context flag: ignore fields this version of the contracts does not know (see `parse_event`)."""


def _add_example(schema: JsonDict, model_class: type[Any]) -> None:
    try:
        example = model_class.example()
    except NotImplementedError:
        return
    schema["examples"] = [example.model_dump(mode="json")]


class ContractModel(BaseModel):
    """An immutable value that travels in events.

    Constructing one with a field it does not declare is an error (`extra="forbid"`), so a producer's
    typo fails in its own tests. Reading is tolerant: `parse_event` validates with the `TOLERANT_READ`
    context, which drops unknown fields, so a consumer still on an older release of this package keeps
    working when a producer starts sending a newly added optional field.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra=_add_example)

    @model_validator(mode="before")
    @classmethod
    def _drop_unknown_fields_when_reading(cls, value: Any, info: ValidationInfo) -> Any:
        context = info.context
        if isinstance(value, dict) and isinstance(context, dict) and context.get(TOLERANT_READ):
            return {key: item for key, item in value.items() if key in cls.model_fields}
        return value

    @classmethod
    def example(cls) -> Self:
        """A realistic instance: it becomes the example in the JSON Schema and the AsyncAPI document."""
        raise NotImplementedError(f"{cls.__name__} has no example")


class EventData(ContractModel):
    """The `data` of one event type and version.

    Subclasses set `event_type` (`<service>.<event>.v<N>`), `source_service` (the producer) and
    `occurred_at_field` (the field holding the moment the event happened; it becomes the CloudEvent
    `time` unless the producer passes one). Once published, a version never changes: a breaking change
    is a new class with the next version number, published next to the old one during the migration.
    """

    event_type: ClassVar[str]
    source_service: ClassVar[str]
    occurred_at_field: ClassVar[str]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        # Shared bases (no `event_type` of their own) are not events; concrete events are checked at
        # import time so a malformed declaration never reaches the registry.
        if "event_type" in cls.__dict__:
            _check_event_declaration(cls)

    @classmethod
    def event_version(cls) -> int:
        return int(cls.event_type.rsplit(".v", 1)[1])

    @classmethod
    def partition_key_field(cls) -> str | None:
        """The field whose value is the partition key: `user_id` where the event concerns one user."""
        return "user_id" if "user_id" in cls.model_fields else None

    def partition_key(self) -> str | None:
        """The CloudEvents `partitionkey`: the user id as a string, or None for events about no user.

        Events with the same key describe the same learner; consumers that need per-user order
        shard on it.
        """
        field = self.partition_key_field()
        return None if field is None else str(getattr(self, field))

    def event_subject(self) -> str | None:
        """The CloudEvents `subject`: `user/<id>` for events about a learner."""
        key = self.partition_key()
        return None if key is None else f"user/{key}"

    def occurred_at(self) -> datetime:
        value = getattr(self, self.occurred_at_field)
        if not isinstance(value, datetime):  # guarded at class creation; kept for type narrowing
            raise TypeError(f"{type(self).__name__}.{self.occurred_at_field} is not a datetime")
        return value


def _check_event_declaration(cls: type[EventData]) -> None:
    name = cls.__name__
    event_type = cls.event_type
    if not _EVENT_TYPE_RE.fullmatch(event_type):
        raise TypeError(f"{name}.event_type {event_type!r} does not match <service>.<event>.v<N>")
    service = getattr(cls, "source_service", None)
    if service is None or not event_type.startswith(f"{service}."):
        raise TypeError(f"{name}.event_type {event_type!r} must start with its source_service {service!r}")
    if not name.endswith(f"V{cls.event_version()}"):
        raise TypeError(f"{name} must end with V{cls.event_version()} to match {event_type!r}")
    occurred = getattr(cls, "occurred_at_field", None)
    if occurred not in cls.model_fields:
        raise TypeError(f"{name}.occurred_at_field {occurred!r} is not one of its fields")
