from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

AUDIT_PAGE_MAX = 200
"""Most entries one page of the audit log holds."""


class AuditEntryOut(BaseModel):
    """One audit entry: who (`actor`), what (`action`), about whom (`user_id`), when, why (`reason`), and
    `details` naming fields and ids (never their values)."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="Increases with time: page with `before_id`.")
    user_id: int | None = Field(description="The learner; null for an entry about no one learner.")
    actor: str = Field(
        description="`gateway-bot` (the learner, through the bot), `operator:<name>`, `users:<command>`."
    )
    action: str = Field(
        description="`registered`, `consented`, `profile_read`, `profile_updated`, `phone_lookup`, `exported`, "
        "`erased`, `audit_log_read`, `personal_data_reencrypted`, the avatars' actions..."
    )
    reason: str | None = Field(
        description="An operator's ticket (`SUP-1234`) or the gateway's code (`learner_request`, "
        "`consent_withdrawn`); null where none was asked for."
    )
    details: dict[str, Any] = Field(description="Field names, ids, codes and counts; never a personal value.")
    created_at: datetime


class AuditPage(BaseModel):
    """A page of the audit log, newest first."""

    entries: list[AuditEntryOut]
    next_before_id: int | None = Field(
        description="Pass as `before_id` for the next (older) page; null when this page is the last."
    )
