"""Events published by the users service: registration, profile, avatar and erasure.

The phone number never leaves the users service; events only say that it changed.

Version 3 of `user_registered` and `profile_updated` (issue 10, personal data) carries the learner's
display name («Анна П.») instead of the full name and drops the Telegram username: subscribers show
a learner, they do not need to know who the person is. The users service publishes only v3 from then
on (an exception to the "publish both" rule, which would keep spreading full names for the length of
a migration: the law asks for the least data needed, and every subscriber in the platform moved in
the same release). `user_erased.v2` drops the Telegram id: the one subscriber keyed by it (the bot)
keeps the mapping from the user id itself, and an erasure event must not itself carry personal data.

Version 2 of `user_registered` and `profile_updated` adds the learner's time zone and the profile's
`revision`, which orders the facts about one learner whatever order they are delivered in. During the
transition the users service publishes both versions of each fact (v1 only when one of its fields
changed); a consumer binds one version per purpose.
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
    Revision,
    TelegramId,
    TimeZoneName,
    Title,
    UtcDatetime,
)

__all__ = [
    "DISPLAY_NAME_MAX_LENGTH",
    "AvatarRemovedV1",
    "AvatarUpdatedV1",
    "DisplayName",
    "ProfileField",
    "ProfileFieldV2",
    "ProfileFieldV3",
    "ProfileUpdatedV1",
    "ProfileUpdatedV2",
    "ProfileUpdatedV3",
    "TimeZoneSource",
    "UserErasedV1",
    "UserErasedV2",
    "UserRegisteredV1",
    "UserRegisteredV2",
    "UserRegisteredV3",
]

_SERVICE = "users"

TelegramUsername = Annotated[StrictStr, StringConstraints(min_length=1, max_length=255)]
ImageContentType = Annotated[StrictStr, StringConstraints(pattern=r"^image/[a-z0-9.+-]+$")]
Pixels = Annotated[StrictInt, Field(gt=0)]

ProfileField = Literal["full_name", "city", "locale"]
ProfileFieldV2 = Literal["full_name", "city", "locale", "time_zone"]
ProfileFieldV3 = Literal["display_name", "city", "locale", "time_zone"]

DISPLAY_NAME_MAX_LENGTH = 64
DisplayName = Annotated[StrictStr, StringConstraints(min_length=1, max_length=DISPLAY_NAME_MAX_LENGTH)]
"""What other learners and the bot may show of a learner's name: the first name and the initial of the
last name («Анна П.»), derived by the users service; the full name never leaves it (issue 10)."""

TimeZoneSource = Literal["learner", "city", "default"]
"""Where the learner's time zone comes from: `learner` (chosen by them), `city` (derived from their city
through a gazetteer) or `default` (neither: the platform's default zone; ask the learner)."""

_TIME_ZONE_DESCRIPTION = (
    "The learner's IANA time zone (e.g. `Asia/Novosibirsk`): schedule messages to the learner in its "
    "local daytime. Always set; see `time_zone_source` for how much to trust it. A zone the reader's tz "
    "database does not know should be treated as the reader's default zone, not as an invalid event."
)
_TIME_ZONE_SOURCE_DESCRIPTION = (
    "Where `time_zone` comes from: `learner` (chosen by the learner), `city` (derived from the city), "
    "`default` (the city is unknown and the learner chose none: the platform's default zone; ask them)."
)
_REVISION_DESCRIPTION = (
    "Revision of the learner's profile after this fact: 1 at registration, one more with every change. "
    "Keep the snapshot with the highest revision and ignore an event whose revision is not higher than "
    "the one held: a late or redelivered event then never overwrites a newer state."
)


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


class UserRegisteredV2(EventData):
    """A learner registered (consented and gave their profile) and a user account was created. Version 2
    adds the learner's time zone and the profile `revision` (always 1 here)."""

    event_type: ClassVar[str] = "users.user_registered.v2"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "registered_at"

    user_id: DbId = Field(description="Internal user id; every other event refers to the learner by it.")
    telegram_id: TelegramId = Field(description="Telegram user id of the learner.")
    username: TelegramUsername | None = Field(
        default=None, description="Telegram username without `@`, if the learner has one."
    )
    full_name: Title | None = Field(default=None, description="Name the learner gave, if any yet.")
    locale: Locale = Field(description="Interface language chosen at registration (`ru`, `en`).")
    city: CityName | None = Field(default=None, description="City, used to suggest community chats.")
    time_zone: TimeZoneName = Field(description=_TIME_ZONE_DESCRIPTION)
    time_zone_source: TimeZoneSource = Field(description=_TIME_ZONE_SOURCE_DESCRIPTION)
    consent_personal_data: StrictBool = Field(
        description="Whether the learner consented to the processing of personal data."
    )
    consent_version: ExternalId | None = Field(
        default=None, description="Version of the consent text accepted; null when no consent was given."
    )
    revision: Revision = Field(description=_REVISION_DESCRIPTION)
    registered_at: UtcDatetime = Field(description="When the account was created.")

    @classmethod
    def example(cls) -> Self:
        return cls(
            user_id=42,
            telegram_id=123456789,
            username="anna_nails",
            full_name="Анна Смирнова",
            locale="ru",
            city="Новосибирск",
            time_zone="Asia/Novosibirsk",
            time_zone_source="city",
            consent_personal_data=True,
            consent_version="2025-01",
            revision=1,
            registered_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        )


class ProfileUpdatedV2(EventData):
    """A learner's profile changed. Carries the whole shared profile as of `revision` (with the Telegram id,
    so it can create a projection's row when it overtakes the registration): keep the snapshot with the
    highest revision. Version 2 adds the time zone and the revision."""

    event_type: ClassVar[str] = "users.profile_updated.v2"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "updated_at"

    user_id: DbId = Field(description="The learner.")
    telegram_id: TelegramId = Field(description="Telegram user id of the learner (it never changes).")
    changed_fields: tuple[ProfileFieldV2, ...] = Field(
        description="Which of the profile fields carried in this event changed in this revision (may be "
        "empty when only the phone changed)."
    )
    full_name: Title | None = Field(default=None, description="Full name after the update.")
    city: CityName | None = Field(default=None, description="City after the update.")
    locale: Locale = Field(description="Interface language after the update.")
    time_zone: TimeZoneName = Field(description=_TIME_ZONE_DESCRIPTION)
    time_zone_source: TimeZoneSource = Field(description=_TIME_ZONE_SOURCE_DESCRIPTION)
    phone_changed: StrictBool = Field(
        description="Whether the phone number changed. The number itself is never published."
    )
    revision: Revision = Field(description=_REVISION_DESCRIPTION)
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
            telegram_id=123456789,
            changed_fields=("city", "time_zone"),
            full_name="Анна Смирнова",
            city="Екатеринбург",
            locale="ru",
            time_zone="Asia/Yekaterinburg",
            time_zone_source="city",
            phone_changed=False,
            revision=3,
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


class UserRegisteredV3(EventData):
    """A learner registered (consented and gave their profile) and a user account was created. Version 3
    carries the display name («Анна П.») instead of the full name, and no Telegram username."""

    event_type: ClassVar[str] = "users.user_registered.v3"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "registered_at"

    user_id: DbId = Field(description="Internal user id; every other event refers to the learner by it.")
    telegram_id: TelegramId = Field(description="Telegram user id of the learner (the bot's chat with them).")
    display_name: DisplayName | None = Field(
        default=None,
        description="What others may show of the learner's name: first name and last initial («Анна П.»). "
        "Null when the learner gave no name.",
    )
    locale: Locale = Field(description="Interface language chosen at registration (`ru`, `en`).")
    city: CityName | None = Field(default=None, description="City, used to suggest community chats.")
    time_zone: TimeZoneName = Field(description=_TIME_ZONE_DESCRIPTION)
    time_zone_source: TimeZoneSource = Field(description=_TIME_ZONE_SOURCE_DESCRIPTION)
    consent_version: ExternalId | None = Field(
        default=None, description="Version of the consent text accepted; null when no consent was given."
    )
    revision: Revision = Field(description=_REVISION_DESCRIPTION)
    registered_at: UtcDatetime = Field(description="When the account was created.")

    @classmethod
    def example(cls) -> Self:
        return cls(
            user_id=42,
            telegram_id=123456789,
            display_name="Анна С.",
            locale="ru",
            city="Новосибирск",
            time_zone="Asia/Novosibirsk",
            time_zone_source="city",
            consent_version="2025-01",
            revision=1,
            registered_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        )


class ProfileUpdatedV3(EventData):
    """A learner's profile changed in what subscribers hold. Carries the whole shared profile as of
    `revision`: keep the snapshot with the highest revision. Version 3 carries the display name instead
    of the full name and is not published for a change only subscribers cannot see (the phone): the
    revisions a subscriber sees may skip numbers."""

    event_type: ClassVar[str] = "users.profile_updated.v3"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "updated_at"

    user_id: DbId = Field(description="The learner.")
    telegram_id: TelegramId = Field(description="Telegram user id of the learner (it never changes).")
    changed_fields: tuple[ProfileFieldV3, ...] = Field(
        min_length=1, description="Which of the fields carried in this event changed in this revision."
    )
    display_name: DisplayName | None = Field(
        default=None, description="Display name after the update («Анна П.»); null when the learner has no name."
    )
    city: CityName | None = Field(default=None, description="City after the update.")
    locale: Locale = Field(description="Interface language after the update.")
    time_zone: TimeZoneName = Field(description=_TIME_ZONE_DESCRIPTION)
    time_zone_source: TimeZoneSource = Field(description=_TIME_ZONE_SOURCE_DESCRIPTION)
    revision: Revision = Field(description=_REVISION_DESCRIPTION)
    updated_at: UtcDatetime = Field(description="When the profile was changed.")

    @model_validator(mode="after")
    def _fields_once(self) -> Self:
        if len(set(self.changed_fields)) != len(self.changed_fields):
            raise ValueError("changed_fields lists each field once")
        return self

    @classmethod
    def example(cls) -> Self:
        return cls(
            user_id=42,
            telegram_id=123456789,
            changed_fields=("city", "time_zone"),
            display_name="Анна С.",
            city="Екатеринбург",
            locale="ru",
            time_zone="Asia/Yekaterinburg",
            time_zone_source="city",
            revision=3,
            updated_at=datetime(2025, 3, 2, 18, 5, tzinfo=UTC),
        )


class AvatarRemovedV1(EventData):
    """A learner deleted their current avatar: they have none until they set or restore one."""

    event_type: ClassVar[str] = "users.avatar_removed.v1"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "removed_at"

    user_id: DbId = Field(description="The learner.")
    avatar_id: DbId = Field(description="Id of the avatar that was removed (its images are deleted).")
    removed_at: UtcDatetime = Field(description="When the avatar was removed.")

    @classmethod
    def example(cls) -> Self:
        return cls(user_id=42, avatar_id=7, removed_at=datetime(2025, 3, 3, 8, 0, tzinfo=UTC))


class UserErasedV2(EventData):
    """A learner's account was erased (they withdrew their consent, 152-ФЗ art. 9 §2 and art. 21 §5).
    Every subscriber MUST delete what it holds about this user id, or detach it from the person where the
    law makes it keep a record (payments: pseudonymised, not deleted), and forget any file, cache entry or
    conversation state of theirs. A later registration of the same person is a new user id. Version 2
    carries no Telegram id: the event itself holds no personal data."""

    event_type: ClassVar[str] = "users.user_erased.v2"
    source_service: ClassVar[str] = _SERVICE
    occurred_at_field: ClassVar[str] = "erased_at"

    user_id: DbId = Field(description="The erased learner.")
    erased_at: UtcDatetime = Field(description="When the users service erased the account.")

    @classmethod
    def example(cls) -> Self:
        return cls(user_id=42, erased_at=datetime(2025, 4, 1, 12, 0, tzinfo=UTC))
