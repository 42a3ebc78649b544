"""Value types shared by every event: UTC timestamps, database ids, slugs and money.

Each alias carries its own validation and JSON Schema, so a field declared as `UtcDatetime` or
`DbId` means the same thing in every event and in every generated document.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictInt,
    StrictStr,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from academy_contracts.base import ContractModel

# --- timestamps -------------------------------------------------------------------------------


def _only_timestamp_inputs(value: Any) -> Any:
    # Lax pydantic would read a JSON number as a Unix timestamp; the schema promises RFC 3339 text.
    if isinstance(value, datetime | str):
        return value
    raise PydanticCustomError(
        "timestamp_type", "expected an RFC 3339 timestamp string with a UTC offset, e.g. 2025-03-01T09:30:00Z"
    )


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def format_rfc3339(value: datetime) -> str:
    """`2025-03-01T09:30:00Z`: RFC 3339 in UTC with the `Z` designator (microseconds only when set)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


UtcDatetime = Annotated[
    AwareDatetime,
    BeforeValidator(_only_timestamp_inputs),
    AfterValidator(_to_utc),
    PlainSerializer(format_rfc3339, return_type=str, when_used="json"),
]
"""A timezone-aware instant, normalised to UTC and serialised as RFC 3339 with `Z`. Naive values fail."""


def _only_date_inputs(value: Any) -> Any:
    if isinstance(value, datetime) or not isinstance(value, date | str):
        raise PydanticCustomError("date_type", "expected a calendar date string, e.g. 2025-03-01")
    return value


CalendarDate = Annotated[date, BeforeValidator(_only_date_inputs)]
"""A calendar date (`YYYY-MM-DD`), not an instant."""

# --- ids, counts and names --------------------------------------------------------------------

DbId = Annotated[StrictInt, Field(gt=0)]
"""A database id owned by the producing service: a positive integer."""

TelegramId = Annotated[StrictInt, Field(gt=0)]
"""A Telegram user id (positive; it can exceed 32 bits)."""

Count = Annotated[StrictInt, Field(ge=0)]
"""A non-negative integer quantity."""

PositiveCount = Annotated[StrictInt, Field(gt=0)]
"""A positive integer quantity."""

Seconds = Annotated[StrictInt, Field(ge=0)]
"""A duration in whole seconds."""

Slug = Annotated[StrictStr, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=100)]
"""A stable lowercase identifier such as a category (`manicure`) or an achievement code."""

ExternalId = Annotated[StrictStr, StringConstraints(min_length=1, max_length=255)]
"""An id issued by another system (payment provider, Telegram), kept as opaque text."""

Locale = Annotated[StrictStr, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")]
"""A BCP 47 language tag, language with optional region: `ru`, `en`, `en-GB`."""


Title = Annotated[StrictStr, StringConstraints(min_length=1, max_length=255)]
"""Non-empty human-readable text of at most 255 characters (course, lesson or achievement title, name)."""

CityName = Annotated[StrictStr, StringConstraints(min_length=1, max_length=100)]
"""A city as the learner typed it."""

TIME_ZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$"

TimeZoneName = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64, pattern=TIME_ZONE_PATTERN)]
"""An IANA time zone name: `Europe/Moscow`, `Asia/Novosibirsk`, `UTC`.

Only its shape is checked here. Whether a zone exists depends on the reader's tz database (a newer
producer may know a zone an older consumer does not), so a consumer that cannot load it falls back to
its own default zone instead of refusing the event.
"""

Revision = Annotated[StrictInt, Field(gt=0)]
"""A per-entity revision: 1 when the entity is created, one more with every change the producer makes.

It orders the facts about one entity whatever the order of delivery: a projection keeps the state with
the highest revision and ignores an event whose revision is not higher than the one it holds.
"""

Explanation = Annotated[StrictStr, StringConstraints(min_length=1, max_length=1000)]
"""A short machine- or human-written explanation, such as a provider's failure reason."""


# --- money ------------------------------------------------------------------------------------

AMOUNT_PATTERN = r"^-?\d+(\.\d{1,2})?$"
_AMOUNT_RE = re.compile(AMOUNT_PATTERN)
_CENT = Decimal("0.01")


def _parse_amount(value: Any) -> Decimal:
    # Floats are refused on purpose: binary floating point cannot hold 0.10 exactly.
    if isinstance(value, str):
        if not _AMOUNT_RE.fullmatch(value):
            raise ValueError("amount must be a decimal string with at most 2 fraction digits, e.g. '1490.00'")
        return Decimal(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, Decimal):
        try:
            exact = value.is_finite() and value.quantize(_CENT) == value
        except InvalidOperation:
            exact = False
        if not exact:
            raise ValueError("amount must be finite with at most 2 fraction digits")
        return value
    raise ValueError("amount must be a Decimal, an int or a decimal string (never a float)")


def _format_amount(value: Decimal) -> str:
    return format(value, "f")


Amount = Annotated[
    Decimal,
    PlainValidator(_parse_amount),
    PlainSerializer(_format_amount, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": AMOUNT_PATTERN,
            "description": "Decimal amount as a string, at most 2 fraction digits.",
        }
    ),
]

Currency = Annotated[StrictStr, StringConstraints(pattern=r"^[A-Z]{3}$")]

TELEGRAM_STARS = "XTR"


class Money(ContractModel):
    """An amount of money in one currency. In JSON the amount is a string, so no float ever touches it."""

    amount: Amount = Field(
        description=(
            "Decimal amount with at most 2 fraction digits, as a string in JSON ('1490.00'); "
            "a `Decimal` in Python. Telegram Stars (XTR) amounts are whole numbers."
        )
    )
    currency: Currency = Field(description="ISO 4217 code in upper case (`RUB`, `USD`), or `XTR` for Telegram Stars.")

    @model_validator(mode="after")
    def _stars_are_whole(self) -> Self:
        if self.currency == TELEGRAM_STARS and self.amount != self.amount.to_integral_value():
            raise ValueError("Telegram Stars (XTR) amounts are whole numbers")
        return self

    @classmethod
    def example(cls) -> Self:
        return cls(amount=Decimal("1490.00"), currency="RUB")
