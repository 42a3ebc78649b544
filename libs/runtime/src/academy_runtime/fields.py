"""Request field types shared by every service.

Text without control or format characters
    `NoControlCharacters` (a pydantic `AfterValidator`) refuses, in a free-text field that is one line
    of text (a name, a city, a title), any character of Unicode categories Cc (control: line breaks, tabs,
    ESC) and Cf (format: bidi overrides such as U+202E, zero-width spaces and joiners). Such a value is
    stored and then goes out as it is, into events, leaderboards, PDFs and logs, where a newline forges
    a line and a bidi override turns the text around. A 422 whose detail starts with
    `control_characters` names the field and the character (`U+202E`). It complements
    `http.refuse_nul_characters`, which refuses U+0000 in any request (no text column can hold it).

        FullName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), NoControlCharacters]

Fields that may be left out but not set to null, as their OpenAPI says.

A command such as "change some fields of a profile" reads an absent field as "leave it as it is"; for
a field the record always has, null means nothing and is refused by a validator. Typed `X | None` (so
pydantic's errors name the field as for any other, `body.full_name`), its schema would offer null:
`omit_null` takes the null out of the schema, so the document says what the validator accepts.

    full_name: FullName | None = Field(default=None, json_schema_extra=omit_null)

A JSON integer, as JSON Schema's `integer` says

`json_integer(ge=, le=)` is the type of a field that takes what the schema `{"type": "integer"}` admits:
a JSON number without a fractional part (`5`, and `5.0`, which JSON Schema counts as an integer), and
refuses what pydantic's lax mode would turn into one: `true` (a bool is not a number) and the text `"5"`.
pydantic's strict mode is too strict the other way (it refuses `5.0`, which the published schema admits).

    limit: json_integer(ge=1, le=1000) | None = None
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

REFUSED_CATEGORIES = frozenset({"Cc", "Cf"})
"""Unicode categories a one-line text field refuses: control and format characters."""


def refuse_control_characters(value: str) -> str:
    """`value` unchanged when it holds no character of REFUSED_CATEGORIES; else PydanticCustomError
    `control_characters` naming the first such character by its code point (never the value)."""
    for char in value:
        if unicodedata.category(char) in REFUSED_CATEGORIES:
            raise PydanticCustomError(
                "control_characters",
                "control_characters: one line of text, without control or format characters (a line break, "
                "a tab, a bidi override, a zero-width space); found {code_point}",
                {"code_point": f"U+{ord(char):04X}"},
            )
    return value


NoControlCharacters = AfterValidator(refuse_control_characters)
"""The validator of a one-line free-text field: `Annotated[str, ..., NoControlCharacters]` (see above)."""

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


def refuse_non_numbers(value: object) -> object:
    """`value` unchanged unless it is a bool or a str, which a JSON `integer` field refuses (pydantic's lax mode
    would read `true` as 1 and `"5"` as 5); PydanticCustomError `int_type` then. Floats go on to pydantic,
    which takes `5.0` and refuses `5.5`."""
    if isinstance(value, bool | str | bytes):
        raise PydanticCustomError(
            "int_type", "Input should be a valid integer (a JSON number, not {kind})", {"kind": type(value).__name__}
        )
    return value


def json_integer(*, ge: int | None = None, le: int | None = None) -> Any:
    """`Annotated[int, Field(ge=ge, le=le), BeforeValidator(refuse_non_numbers)]`: an int request field that takes
    exactly what JSON Schema's `integer` admits (module docstring), within [ge, le]. The bounds come before the
    validator so the OpenAPI schema says `minimum`/`maximum` (after it, pydantic writes `ge`/`le` into the schema,
    keywords JSON Schema does not know, and the published bounds are lost)."""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(refuse_non_numbers)]
