from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

Locale = Literal["ru", "en"]

_PHONE_CHARACTERS = re.compile(r"^\+?[0-9 ()\-]+$")
_PHONE_MIN_DIGITS = 10
_PHONE_MAX_DIGITS = 15  # E.164
_RUSSIAN_TRUNK_LENGTH = 11


def normalise_phone(value: str) -> str:
    """A phone number as people type it ("8 (916) 123-45-67", "+7 916 123 45 67") in E.164 ("+79161234567").

    A number without "+" is read with its country code, except the Russian trunk prefix 8, which
    stands for +7 (this is a Russian-first product).
    """
    typed = value.strip()
    if not _PHONE_CHARACTERS.fullmatch(typed):
        msg = "a phone number has digits and may have a leading +, spaces, dashes and parentheses"
        raise ValueError(msg)
    digits = re.sub(r"\D", "", typed)
    if not typed.startswith("+") and len(digits) == _RUSSIAN_TRUNK_LENGTH and digits.startswith("8"):
        digits = "7" + digits[1:]
    if not _PHONE_MIN_DIGITS <= len(digits) <= _PHONE_MAX_DIGITS:
        msg = f"a phone number has {_PHONE_MIN_DIGITS} to {_PHONE_MAX_DIGITS} digits with its country code"
        raise ValueError(msg)
    if digits.startswith("0"):
        raise ValueError("a country code does not start with 0")
    return f"+{digits}"


Phone = Annotated[str, StringConstraints(max_length=40), AfterValidator(normalise_phone)]
FullName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100)]
City = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100)]


class Consent(BaseModel):
    """The learner's consent to personal-data processing: which text they accepted, and when."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, max_length=32, description="Version of the consent text shown")
    accepted_at: AwareDatetime = Field(description="When the learner accepted it (with its time zone)")


class RegisterLearner(BaseModel):
    """Command: register the Telegram user who has just consented (idempotent on telegram_id)."""

    model_config = ConfigDict(extra="forbid")

    telegram_id: int = Field(gt=0, description="Telegram user id")
    username: str | None = Field(default=None, max_length=255)
    locale: Locale = "ru"
    full_name: FullName
    phone: Phone = Field(description="Any usual notation; stored in E.164")
    city: City
    consent: Consent


class UpdateProfile(BaseModel):
    """Command: change some of the learner's profile fields (those not given stay as they are)."""

    model_config = ConfigDict(extra="forbid")

    full_name: FullName | None = None
    city: City | None = None
    locale: Locale | None = None
    phone: Phone | None = None

    @field_validator("full_name", "city", "locale", "phone")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        # A field may be left out, but not erased: each of them is required of a registered learner.
        if value is None:
            raise ValueError("may be left out, but not null")
        return value


class LearnerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    telegram_id: int
    username: str | None
    full_name: str | None
    phone: str | None
    city: str | None
    locale: str
    consent_personal_data: bool
    consent_at: datetime | None
    consent_version: str | None
    is_active: bool
    created_at: datetime


class RegistrationOut(BaseModel):
    learner: LearnerOut
    created: bool = Field(description="True when this call registered the learner")
