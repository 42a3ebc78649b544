"""Request fields that may be left out but not set to null, as their OpenAPI says.

A command such as "change some fields of a profile" reads an absent field as "leave it as it is"; for
a field the record always has, null means nothing and is refused by a validator. Typed `X | None` (so
pydantic's errors name the field as for any other, `body.full_name`), its schema would offer null:
`omit_null` takes the null out of the schema, so the document says what the validator accepts.

    full_name: FullName | None = Field(default=None, json_schema_extra=omit_null)
"""

from __future__ import annotations

from typing import Any

_NULL = {"type": "null"}


def omit_null(schema: dict[str, Any]) -> None:
    """`json_schema_extra` for an optional field that refuses null: its schema without the null choice."""
    options = [option for option in schema.pop("anyOf", []) if option != _NULL]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options
    if "default" in schema and schema["default"] is None:
        del schema["default"]
