"""Events published by the users service: registration, profile, avatar and erasure.

The phone number never leaves the users service; events only say that it changed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar, Literal, Self

from pydantic import Field, StrictBool, StrictInt, StrictStr, StringConstraints, model_validator

from academy_contracts.base import EventData
from academy_contracts.primitives import (
    CityName,
    DbId,
    ExternalId,
    Locale,
    TelegramId,
    Title,
    UtcDatetime,
)

__all__ = [
    "AvatarUpdatedV1",
    "ProfileField",
    "ProfileUpdatedV1",
    "UserErasedV1",
    "UserRegisteredV1",
]

_SERVICE = "users"

TelegramUsername = Annotated[StrictStr, StringConstraints(min_length=1, max_length=255)]
ImageContentType = Annotated[StrictStr, StringConstraints(pattern=r"^image/[a-z0-9.+-]+$")]
Pixels = Annotated[StrictInt, Field(gt=0)]

ProfileField = Literal["full_name", "city", "locale"]


class UserRegisteredV1(EventData):
    """A learner started the bot for the first time and a user account was created."""

    event_type: ClassVar[str] = "users.user_registered.v1"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "registered_at"

    user_id: DbId = Field(description="Internal user id; every other event refers to the learner by it.")
    telegram_id: TelegramId = Field(description="Telegram user id of the learner.")
    username: TelegramUsername | None = Field(
        default=None, description="Telegram username without `@`, if the learner has one."
    )
    full_name: Title | None = Field(default=None, description="Name the learner gave, if any yet.")
    locale: Locale = Field(description="Interface language chosen or detected at registration (`ru`, `en`).")
    city: CityName | None = Field(default=None, description="City, used to suggest community chats.")
    consent_personal_data: StrictBool = Field(
        description="Whether the learner consented to the processing of personal data."
    )
    consent_version: ExternalId | None = Field(
        default=None, description="Version of the consent text accepted; null when no consent was given."
    )
    registered_at: UtcDatetime = Field(description="When the account was created.")

    @classmethod
    def example(cls) -> Self:
        return cls(
            user_id=42,
            telegram_id=123456789,
            username="anna_nails",
            full_name="Анна Смирнова",
            locale="ru",
            city="Москва",
            consent_personal_data=True,
            consent_version="2025-01",
            registered_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        )


class ProfileUpdatedV1(EventData):
    """A learner changed profile fields. Carries the current values of the shared profile fields, so a
    consumer's projection can be replaced whole (keep the one with the latest `updated_at`)."""

    event_type: ClassVar[str] = "users.profile_updated.v1"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "updated_at"

    user_id: DbId = Field(description="The learner.")
    changed_fields: tuple[ProfileField, ...] = Field(
        description="Which of the profile fields carried in this event changed in this update (may be "
        "empty when only the phone changed)."
    )
    full_name: Title | None = Field(default=None, description="Full name after the update.")
    city: CityName | None = Field(default=None, description="City after the update.")
    locale: Locale = Field(description="Interface language after the update.")
    phone_changed: StrictBool = Field(
        description="Whether the phone number changed. The number itself is never published."
    )
    updated_at: UtcDatetime = Field(description="When the profile was changed.")

    @model_validator(mode="after")
    def _something_changed(self) -> Self:
        if not self.changed_fields and not self.phone_changed:
            raise ValueError("a profile update changes at least one field or the phone number")
        if len(set(self.changed_fields)) != len(self.changed_fields):
            raise ValueError("changed_fields lists each field once")
        return self

    @classmethod
    def example(cls) -> Self:
        return cls(
            user_id=42,
            changed_fields=("city",),
            full_name="Анна Смирнова",
            city="Санкт-Петербург",
            locale="ru",
            phone_changed=False,
            updated_at=datetime(2025, 3, 2, 18, 5, tzinfo=UTC),
        )


class AvatarUpdatedV1(EventData):
    """A learner uploaded a new avatar; the resized image is stored in object storage."""

    event_type: ClassVar[str] = "users.avatar_updated.v1"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "updated_at"

    user_id: DbId = Field(description="The learner.")
    avatar_id: DbId = Field(description="Id of the avatar in the learner's avatar history.")
    object_key: ExternalId = Field(description="S3 object key of the resized image in the avatars bucket.")
    content_type: ImageContentType = Field(description="Media type of the stored image, e.g. `image/webp`.")
    width: Pixels = Field(description="Width of the stored image in pixels.")
    height: Pixels = Field(description="Height of the stored image in pixels.")
    updated_at: UtcDatetime = Field(description="When the avatar became the current one.")

    @classmethod
    def example(cls) -> Self:
        return cls(
            user_id=42,
            avatar_id=7,
            object_key="avatars/42/7.webp",
            content_type="image/webp",
            width=512,
            height=512,
            updated_at=datetime(2025, 3, 2, 18, 10, tzinfo=UTC),
        )


class UserErasedV1(EventData):
    """A learner's personal data was erased at their request. Every subscriber MUST delete or anonymise
    the personal data it holds about this user (names, Telegram ids, chat state, files) and keep only
    what the law requires (e.g. payment records)."""

    event_type: ClassVar[str] = "users.user_erased.v1"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "erased_at"

    user_id: DbId = Field(description="The erased learner.")
    telegram_id: TelegramId = Field(
        description="Telegram user id, so services keyed by it (the bot) can find what to delete."
    )
    erased_at: UtcDatetime = Field(description="When the users service erased the account.")

    @classmethod
    def example(cls) -> Self:
        return cls(user_id=42, telegram_id=123456789, erased_at=datetime(2025, 4, 1, 12, 0, tzinfo=UTC))
