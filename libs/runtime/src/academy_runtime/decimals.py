"""Decimal request fields whose OpenAPI says exactly what their validation accepts.

Pydantic documents a `Decimal`'s `max_digits`/`decimal_places` only in the string form's pattern: a
JSON number with more decimals or digits than the column holds (`4.6e-207`, `123456789012.5`) is valid
by the schema and refused by the validation, and the string's pattern admits a sign that the bounds
refuse. `decimal_schema` writes both forms out: a number that is a multiple of the smallest step
within the bounds, or a string of digits with at most that many decimals.

    Price = Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2), decimal_schema(10, 2)]
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import WithJsonSchema


def decimal_schema(max_digits: int, decimal_places: int, *, positive: bool = False) -> WithJsonSchema:
    """The validation-mode JSON Schema of a non-negative `Decimal` (strictly positive with `positive`) of at
    most `max_digits` digits, `decimal_places` of them after the point; pair it with the same `Field`
    constraints (`ge=0` or `gt=0`, `max_digits`, `decimal_places`), which do the validating."""
    whole = max_digits - decimal_places
    step = Decimal(1).scaleb(-decimal_places)
    number: dict[str, Any] = {
        "type": "number",
        "multipleOf": float(step),
        "maximum": float(Decimal(10) ** whole - step),
    }
    number["exclusiveMinimum" if positive else "minimum"] = 0
    if positive:  # a whole part that is not zero, or a fraction with a digit that is not zero
        digits = (
            rf"[1-9][0-9]{{0,{whole - 1}}}(\.[0-9]{{0,{decimal_places}}}0*)?|\.[0-9]{{0,{decimal_places - 1}}}[1-9]0*"
        )
    else:
        digits = rf"[0-9]{{1,{whole}}}(\.[0-9]{{0,{decimal_places}}}0*)?|\.[0-9]{{1,{decimal_places}}}0*"
    string = {"type": "string", "pattern": rf"^\+?0*({digits})$"}
    return WithJsonSchema({"anyOf": [number, string]}, mode="validation")
