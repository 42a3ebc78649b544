"""JSON Schema documents of the events, generated from the models.

`event_json_schema(model)` is the schema of a whole CloudEvent of one type: the envelope with `type`
and `source` pinned and `data` described by the event's model. These documents are committed under
`libs/contracts/schemas/` and are what the compatibility check compares against.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from academy_contracts.base import EventData
from academy_contracts.envelope import CloudEvent
from academy_contracts.registry import EVENTS_EXCHANGE, example_event, source_for

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID_PREFIX = "urn:beauty-academy:events:"


class ContractJsonSchema(GenerateJsonSchema):
    """Pydantic's generator without the per-field titles it derives from names (`"User Id"`): they add
    nothing to the descriptions and only make the documents longer."""

    # Pydantic's hook; the answer is the same for every field, hence the unused argument.
    def field_title_should_be_set(self, schema: Any) -> bool:  # noqa: ARG002
        return False


def schema_id(event_type: str) -> str:
    return f"{SCHEMA_ID_PREFIX}{event_type}"


def data_json_schema(model_cls: type[BaseModel], *, ref_template: str = "#/$defs/{model}") -> dict[str, Any]:
    return model_cls.model_json_schema(ref_template=ref_template, schema_generator=ContractJsonSchema)


def envelope_json_schema() -> dict[str, Any]:
    """The schema of any CloudEvent on the bus, whatever its type."""
    return CloudEvent.model_json_schema(schema_generator=ContractJsonSchema)


def pinned_envelope_properties(model_cls: type[EventData], *, data_ref: str) -> dict[str, Any]:
    """The envelope properties that differ per event type: `type`, `source` and `data`."""
    return {
        "type": {
            "const": model_cls.event_type,
            "type": "string",
            "description": f"Event type and version; also the routing key on `{EVENTS_EXCHANGE}`.",
        },
        "source": {
            "const": source_for(model_cls),
            "type": "string",
            "format": "uri-reference",
            "description": f"Published by the {model_cls.source_service} service.",
        },
        "data": {"$ref": data_ref, "description": "The event payload."},
    }


def event_json_schema(model_cls: type[EventData]) -> dict[str, Any]:
    """A self-contained JSON Schema (2020-12) of a whole CloudEvent of this type, with an example."""
    data_schema = data_json_schema(model_cls)
    definitions: dict[str, Any] = data_schema.pop("$defs", {})
    definitions[model_cls.__name__] = data_schema
    envelope = envelope_json_schema()
    envelope.pop("title", None)
    envelope.pop("description", None)
    envelope["properties"].update(pinned_envelope_properties(model_cls, data_ref=f"#/$defs/{model_cls.__name__}"))
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_id(model_cls.event_type),
        "title": model_cls.event_type,
        "description": _docstring(model_cls),
        **envelope,
        "$defs": definitions,
        "examples": [example_event(model_cls).model_dump(mode="json")],
    }


def component_schemas(models: list[type[BaseModel]], *, ref_prefix: str) -> dict[str, Any]:
    """Schemas of `models` and of every model they use, keyed by model name, referring to each other
    through `<ref_prefix><name>` (for AsyncAPI: `#/components/schemas/`)."""
    _, combined = models_json_schema(
        [(model, "validation") for model in models],
        ref_template=f"{ref_prefix}{{model}}",
        schema_generator=ContractJsonSchema,
    )
    definitions: dict[str, Any] = combined.get("$defs", {})
    return definitions


def dump_json(document: Any) -> str:
    """Deterministic text of a JSON document: sorted keys, 2-space indent, UTF-8, final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _docstring(model_cls: type[BaseModel]) -> str:
    return " ".join((model_cls.__doc__ or "").split())
