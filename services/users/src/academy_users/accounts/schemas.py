from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from academy_runtime.fields import NoControlCharacters, omit_null
from academy_runtime.ids import TelegramId
from academy_runtime.phones import RejectedPhone, check_e164
from academy_runtime.time_zones import TimeZoneName
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

Locale = Literal["ru", "en"]
TimeZoneSource = Literal["learner", "city", "default"]


def valid_e164(value: str) -> str:
    """The phone as the gateway sends it: E.164 ("+79161234567"), valid in its country's numbering plan.

    Reading what a learner typed or shared ("8 (916) 123-45-67", a contact without its "+") is the
    gateway's part, with the same academy_runtime.phones; here nothing is guessed. A refusal is a 422
    whose message names the reason code (not_e164, invalid, too_short, too_long, service_number).
    """
    result = check_e164(value)
    if isinstance(result, RejectedPhone):
        raise PydanticCustomError(
            "invalid_phone",
            "invalid_phone ({reason}): a phone number in E.164 such as +79161234567, valid in its country's "
            "numbering plan and not a service number",
            {"reason": result.reason.value},
        )
    return result.e164


E164_PATTERN = r"^\+[1-9][0-9]{1,14}$"
"""The shape of E.164 ("+" and up to 15 digits), for the schema; the numbering plan is checked in code."""
Phone = Annotated[
    str,
    # The pattern is for the schema only: `valid_e164` checks the same shape first, with its reason code.
    Field(
        json_schema_extra={"pattern": E164_PATTERN},
        description="E.164, such as +79161234567, valid in its country's numbering plan (422 `invalid_phone` "
        "otherwise, a rule no pattern holds)",
    ),
    AfterValidator(valid_e164),
]
# Free text goes out as it is (a city into events and onto leaderboards, a name into the transcript): one
# line without control or format characters (a newline, U+202E), a 422 `control_characters` otherwise.
FullName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100), NoControlCharacters]
City = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100), NoControlCharacters]
Username = Annotated[str, StringConstraints(max_length=255), NoControlCharacters]


CONSENT_EARLIEST = datetime(2024, 1, 1, tzinfo=UTC)
"""No consent predates the platform: an earlier `accepted_at` is a client's mistake."""
CONSENT_CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of the server's clock a client's `accepted_at` may be (clocks drift)."""


class Consent(BaseModel):
    """The learner's consent to personal-data processing: which text they accepted, and when."""

    model_config = ConfigDict(extra="forbid")

    version: Annotated[str, NoControlCharacters] = Field(
        min_length=1, max_length=32, description="Version of the consent text shown"
    )
    accepted_at: AwareDatetime = Field(
        description="When the learner accepted it (with its time zone): not before 2024-01-01 and not more than "
        f"{CONSENT_CLOCK_SKEW.seconds // 60} minutes ahead of the server's clock (422 `consent_time` otherwise)"
    )

    @field_validator("accepted_at")
    @classmethod
    def _a_moment_that_happened(cls, value: datetime) -> datetime:
        # The record that consent was given (152-ФЗ art. 9) must name a moment that happened: the platform
        # did not exist before CONSENT_EARLIEST, and a time ahead of the clock is a bad client clock or a lie.
        if not CONSENT_EARLIEST <= value <= datetime.now(UTC) + CONSENT_CLOCK_SKEW:
            raise PydanticCustomError(
                "consent_time", "consent_time: consent is given now, not before 2024 or in the future"
            )
        return value


class RegisterLearner(BaseModel):
    """Command: register the Telegram user who has just consented (idempotent on telegram_id)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "telegram_id": 123456789,
                    "username": "anna_smirnova",
                    "locale": "ru",
                    "full_name": "Анна Смирнова",
                    "phone": "+79161234567",
                    "city": "Москва",
                    "consent": {"version": "1", "accepted_at": "2026-01-01T09:30:00Z"},
                }
            ]
        },
    )

    telegram_id: TelegramId
    username: Username | None = None
    locale: Locale = "ru"
    full_name: FullName
    phone: Phone
    city: City
    time_zone: TimeZoneName | None = Field(
        default=None,
        description="The learner's IANA zone, when they chose one; left out, it is derived from the city",
        examples=["Asia/Novosibirsk"],
    )
    consent: Consent


class UpdateProfile(BaseModel):
    """Command: change some of the learner's profile fields (those not given stay as they are)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"city": "Новосибирск"}, {"phone": "+79161234567", "locale": "en"}]},
    )

    # Optional, but never null: absent leaves the field as it is, and each is required of a registered
    # learner, so there is no null to set (the schema does not offer one; the validator refuses it).
    full_name: FullName | None = Field(default=None, json_schema_extra=omit_null)
    city: City | None = Field(default=None, json_schema_extra=omit_null)
    locale: Locale | None = Field(default=None, json_schema_extra=omit_null)
    phone: Phone | None = Field(default=None, json_schema_extra=omit_null)
    time_zone: TimeZoneName | None = Field(
        default=None,
        description="An IANA zone the learner chose (kept when the city changes); null: go back to the zone "
        "of the city",
        examples=["Asia/Novosibirsk", None],
    )

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
    time_zone: str = Field(description="IANA time zone: schedule messages to the learner in its daytime")
    time_zone_source: TimeZoneSource = Field(
        description="`learner`: chosen by them; `city`: derived from the city; `default`: the city is unknown "
        "and they chose none, so this is the platform's default zone (ask them)"
    )
    revision: int = Field(
        description="1 at registration, one more with every change; the same number as in the events, so a "
        "copy of the learner is replaced only by a higher one"
    )
    created_at: datetime


class RegistrationOut(BaseModel):
    learner: LearnerOut
    created: bool = Field(description="True when this call registered the learner")


class PhoneQuery(BaseModel):
    """Query: the learners with this phone (support). In a body, so the number is in no URL or access log."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"phone": "+79161234561"}]})

    phone: Phone


class LearnersFound(BaseModel):
    """The learners a phone lookup found: usually one, none when nobody has the number."""

    learners: list[LearnerOut]


class LearnerIdsPage(BaseModel):
    """One page of learner ids, ascending; `next_after_user_id` is the `after_user_id` of the next page
    (null: this was the last)."""

    user_ids: list[int]
    next_after_user_id: int | None
