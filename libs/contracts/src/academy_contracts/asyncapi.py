"""The AsyncAPI 3.0.0 document of the event bus, generated from the models and the registry."""

from __future__ import annotations

from typing import Any

from academy_contracts.base import EventData
from academy_contracts.envelope import CLOUDEVENTS_CONTENT_TYPE, TRACEPARENT_PATTERN, CloudEvent
from academy_contracts.registry import (
    EVENT_TYPES,
    EVENTS_EXCHANGE,
    EVENTS_EXCHANGE_TYPE,
    example_event,
)
from academy_contracts.schemas import component_schemas, pinned_envelope_properties

ASYNCAPI_VERSION = "3.0.0"
AMQP_BINDING_VERSION = "0.3.0"
SERVER = "rabbitmq"
HEADERS_SCHEMA = "AmqpHeaders"
_REF = "#/components/schemas/"

_DESCRIPTION = f"""\
Domain events of the Beauty Academy platform (users, catalog, progress, gamification, billing).

Every message is published to the durable topic exchange `{EVENTS_EXCHANGE}` with the event type as
routing key (`<service>.<event>.v<N>`), persistent, with publisher confirms. The body is one
CloudEvents 1.0 event in structured JSON mode (content type `{CLOUDEVENTS_CONTENT_TYPE}`); `data`
holds the payload of that type. The `partitionkey` extension carries the user id for events about a
learner. Consumers bind one durable queue per purpose to the routing keys they need, deduplicate on
the CloudEvent `id`, and ignore `data` fields they do not know.

A published version never changes. A breaking change ships as the next version (`.v2`), published
next to the old one until every consumer has moved.

Generated from the `beauty-academy-contracts` package (`python -m academy_contracts.generate`); do
not edit by hand.
"""


def asyncapi_document(version: str) -> dict[str, Any]:
    models = list(EVENT_TYPES.values())
    schemas = component_schemas([CloudEvent, *models], ref_prefix=_REF)
    schemas[HEADERS_SCHEMA] = _headers_schema()
    services = sorted({model.source_service for model in models})
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Beauty Academy domain events",
            "version": version,
            "description": _DESCRIPTION,
            "tags": [{"name": service, "description": f"Published by the {service} service."} for service in services],
        },
        "defaultContentType": CLOUDEVENTS_CONTENT_TYPE,
        "servers": {
            SERVER: {
                "host": "localhost:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "The RabbitMQ broker of the environment (`rabbitmq:5672` in docker-compose, "
                "the `rabbitmq` Service in Kubernetes).",
            }
        },
        "channels": {model.event_type: _channel(model) for model in models},
        "operations": {_operation_id(model): _operation(model) for model in models},
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "messages": {model.__name__: _message(model) for model in models},
        },
    }


def _summary(model: type[EventData]) -> str:
    text = " ".join((model.__doc__ or "").split())
    return text.split(". ")[0].rstrip(".") + "."


def _channel(model: type[EventData]) -> dict[str, Any]:
    return {
        "address": model.event_type,
        "title": model.event_type,
        "summary": _summary(model),
        "servers": [{"$ref": f"#/servers/{SERVER}"}],
        "messages": {model.__name__: {"$ref": f"#/components/messages/{model.__name__}"}},
        "bindings": {
            "amqp": {
                "is": "routingKey",
                "exchange": {
                    "name": EVENTS_EXCHANGE,
                    "type": EVENTS_EXCHANGE_TYPE,
                    "durable": True,
                    "autoDelete": False,
                    "vhost": "/",
                },
                "bindingVersion": AMQP_BINDING_VERSION,
            }
        },
    }


def _operation_id(model: type[EventData]) -> str:
    return f"publish{model.__name__}"


def _operation(model: type[EventData]) -> dict[str, Any]:
    return {
        "action": "send",
        "title": f"{model.source_service} publishes {model.event_type}",
        "summary": _summary(model),
        "channel": {"$ref": f"#/channels/{model.event_type}"},
        "messages": [{"$ref": f"#/channels/{model.event_type}/messages/{model.__name__}"}],
        "tags": [{"name": model.source_service}],
        "bindings": {"amqp": {"deliveryMode": 2, "mandatory": False, "bindingVersion": AMQP_BINDING_VERSION}},
    }


def _message(model: type[EventData]) -> dict[str, Any]:
    example = example_event(model)
    key_field = model.partition_key_field()
    partitioning = (
        f"Partition key: `data.{key_field}`." if key_field else "No partition key (the event concerns no learner)."
    )
    return {
        "name": model.event_type,
        "title": model.__name__,
        "summary": _summary(model),
        "description": f"{' '.join((model.__doc__ or '').split())}\n\n{partitioning}",
        "contentType": CLOUDEVENTS_CONTENT_TYPE,
        "tags": [{"name": model.source_service}],
        "correlationId": {
            "description": "The CloudEvent `id` (also the AMQP `message_id`); consumers deduplicate on it.",
            "location": "$message.payload#/id",
        },
        "headers": {"$ref": f"{_REF}{HEADERS_SCHEMA}"},
        "payload": {
            "allOf": [
                {"$ref": f"{_REF}CloudEvent"},
                {
                    "type": "object",
                    "properties": pinned_envelope_properties(model, data_ref=f"{_REF}{model.__name__}"),
                },
            ]
        },
        "bindings": {"amqp": {"messageType": model.event_type, "bindingVersion": AMQP_BINDING_VERSION}},
        "examples": [
            {
                "name": f"{model.__name__}Example",
                "summary": f"A {model.event_type} event.",
                "headers": _example_headers(example),
                "payload": example.model_dump(mode="json"),
            }
        ],
    }


def _headers_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "AMQP application headers the publisher copies from the CloudEvent so that routing, "
        "tracing and sharding work without parsing the body. The body is authoritative; retries and "
        "dead-lettering add `x-` headers of their own.",
        "properties": {
            "ce-id": {"type": "string", "description": "The CloudEvent `id` (also the AMQP `message_id`)."},
            "ce-type": {"type": "string", "description": "The CloudEvent `type` (also the AMQP `type`)."},
            "traceparent": {
                "type": "string",
                "pattern": TRACEPARENT_PATTERN,
                "description": "W3C Trace Context of the producing operation, when there is one.",
            },
            "partitionkey": {
                "type": "string",
                "description": "The CloudEvent `partitionkey` (the user id), when there is one.",
            },
        },
        "required": ["ce-id", "ce-type"],
    }


def _example_headers(event: CloudEvent) -> dict[str, str]:
    headers = {"ce-id": event.id, "ce-type": event.type}
    if event.traceparent:
        headers["traceparent"] = event.traceparent
    if event.partitionkey:
        headers["partitionkey"] = event.partitionkey
    return headers
