from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from academy_users.accounts.schemas import TimeZoneSource
from academy_users.audit.schemas import AuditEntryOut
from academy_users.avatars.schemas import AvatarOut

ErasureGrounds = Literal["consent_withdrawn", "operator_request"]


class ErasureRequest(BaseModel):
    """Command: erase a learner (their account and everything the users service holds about them)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "consent_withdrawn"}]})

    reason: ErasureGrounds = Field(
        description="`consent_withdrawn`: the learner withdrew their consent (in the bot, or by a letter support "
        "received); `operator_request`: support erases the account on another legal ground"
    )


class ErasureOut(BaseModel):
    """The learner is gone: `users.user_erased.v2` tells the other services."""

    user_id: int
    erased_at: datetime


class ProfileExport(BaseModel):
    """The learner's profile as stored, decrypted."""

    telegram_id: int
    username: str | None = Field(description="Telegram username, as Telegram gave it at registration.")
    full_name: str | None
    display_name: str | None = Field(description="What other learners see: «Анна П.».")
    phone: str | None
    city: str | None
    locale: str
    time_zone: str
    time_zone_source: TimeZoneSource
    consent_personal_data: bool
    consent_version: str | None
    consent_at: datetime | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


class PersonalDataExport(BaseModel):
    """Everything the users service holds about one learner (152-ФЗ art. 14: the data, and what was done
    with it by whom): the profile, the avatar history and the audit entries about them."""

    user_id: int
    exported_at: datetime
    profile: ProfileExport
    avatars: list[AvatarOut] = Field(description="The avatar history, newest first (ids, types, sizes, dates).")
    audit_log: list[AuditEntryOut] = Field(
        description="Who read or changed the learner's data, when and why, oldest first (this export included)."
    )
