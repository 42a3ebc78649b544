"""The CloudEvents 1.0 envelope every message on the bus carries (structured mode, JSON format)."""

from __future__ import annotations

import uuid
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from academy_contracts.base import EVENT_TYPE_PATTERN
from academy_contracts.primitives import UtcDatetime

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"
"""AMQP `content_type` of a message whose body is one structured-mode CloudEvent."""

DATA_CONTENT_TYPE: Final = "application/json"

TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"

# Optional attributes that are left out of the JSON when unset: the CloudEvents JSON format treats
# an absent attribute and a null one alike, and absent is the canonical form.
_OMIT_WHEN_NONE = ("subject", "dataschema", "traceparent", "partitionkey")


def new_event_id() -> str:
    return str(uuid.uuid4())


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event in structured JSON form, with the `traceparent` (W3C Trace Context) and
    `partitionkey` (CloudEvents partitioning) extensions.

    `type` is also the RabbitMQ routing key. `data` is the JSON form of the event's `EventData` model;
    `academy_contracts.parse_event` validates both layers. Unknown extension attributes are ignored,
    as the CloudEvents specification asks of consumers.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", title="CloudEvent")

    specversion: Literal["1.0"] = Field(default="1.0", description="CloudEvents specification version.")
    id: str = Field(
        default_factory=new_event_id,
        min_length=1,
        max_length=200,
        description=(
            "Unique id of this event (a UUID by default). Consumers deduplicate on it: a redelivered "
            "or republished event keeps its id."
        ),
    )
    source: str = Field(
        min_length=1,
        pattern=r"^\S+$",
        json_schema_extra={"format": "uri-reference"},
        description="The producing service as a URI reference, `/beauty-academy/<service>`.",
        examples=["/beauty-academy/users"],
    )
    type: str = Field(
        pattern=EVENT_TYPE_PATTERN,
        description="Event type and version, `<service>.<event>.v<N>`; also the RabbitMQ routing key.",
        examples=["users.user_registered.v1"],
    )
    time: UtcDatetime = Field(
        description="When the occurrence happened, RFC 3339 in UTC (`Z`). Timestamps without an offset are rejected."
    )
    subject: str | None = Field(
        default=None,
        min_length=1,
        description="What the event is about within the source: `user/<id>` or `course/<id>`.",
        examples=["user/42"],
    )
    datacontenttype: Literal["application/json"] = Field(
        default=DATA_CONTENT_TYPE, description="Media type of `data`; always JSON."
    )
    dataschema: str | None = Field(
        default=None,
        min_length=1,
        json_schema_extra={"format": "uri"},
        description=(
            "URI of the schema `data` adheres to. Unset by our producers: the versioned `type` "
            "already names the schema."
        ),
    )
    data: dict[str, Any] = Field(description="The event payload; its schema is given by `type`.")
    traceparent: str | None = Field(
        default=None,
        pattern=TRACEPARENT_PATTERN,
        description="W3C Trace Context `traceparent` of the operation that produced the event.",
        examples=["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
    )
    partitionkey: str | None = Field(
        default=None,
        min_length=1,
        description=(
            "CloudEvents partitioning extension: the user id as a string when the event concerns one "
            "user, so events of one learner can be kept in order."
        ),
        examples=["42"],
    )

    @model_serializer(mode="wrap")
    def _omit_unset_optional_attributes(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        serialized: dict[str, Any] = handler(self)
        for name in _OMIT_WHEN_NONE:
            if serialized.get(name, ...) is None:
                del serialized[name]
        return serialized

    def to_json(self) -> bytes:
        """The message body: compact UTF-8 JSON."""
        return self.model_dump_json().encode()
