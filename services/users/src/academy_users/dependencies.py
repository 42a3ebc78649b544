"""Request dependencies shared by the users service's modules."""

from __future__ import annotations

from typing import Annotated

from academy_runtime.auth import Caller, accepts
from academy_runtime.dependencies import settings_dependency
from academy_runtime.errors import ValidationFailedError
from academy_runtime.fields import omit_null
from fastapi import Header

from academy_users.models import AUDIT_REASON_MAX_LENGTH, AUDIT_REASON_PATTERN
from academy_users.settings import UsersSettings

SettingsDep = Annotated[UsersSettings, settings_dependency(UsersSettings)]

# Who may call what (issue 9 §2): found from the callers' clients (gateway-bot's UsersClient, billing's
# receipt phone look-up). Support operators read and correct a learner's profile; the audit log names them.
Registrar = Annotated[Caller, accepts("gateway-bot")]
"""Registration: only the gateway, which speaks with the learner."""
LearnerReader = Annotated[Caller, accepts("gateway-bot", "billing", "progress", roles=("support",))]
"""A learner by id: the gateway, billing (a fiscal receipt's phone), progress (the full name printed on the
learner's transcript PDF, read at render time so that progress never stores it), support operators."""
TelegramLookup = Annotated[Caller, accepts("gateway-bot", roles=("support",))]
"""A learner by Telegram id: the gateway, support operators."""
ProfileEditor = Annotated[Caller, accepts("gateway-bot", roles=("support",))]
"""Profile changes: the gateway (the learner's own answers), support operators (recorded by name)."""
PhoneLookup = Annotated[Caller, accepts(roles=("support",))]
"""A learner by phone: support operators only (the gateway knows its learners by Telegram id)."""
PersonalDataHandler = Annotated[Caller, accepts("gateway-bot", roles=("support",))]
"""Export and erasure: the gateway (the learner asked in the bot), support operators (a request by mail)."""
SegmentReader = Annotated[Caller, accepts("gateway-bot")]
"""Ids of the learners of a city (a broadcast's segment, issue 12): the gateway only; ids, no personal data."""
AuditReader = Annotated[Caller, accepts(roles=("auditor",))]
"""The audit log: operators with the auditor role only (issue 10)."""

_REASON_DESCRIPTION = (
    "Why an operator reads or changes this learner's personal data: a ticket reference, 2..10 capital ASCII "
    "letters, `-` and 1..8 digits (`SUP-1234`), or a fixed code (`learner_request`); nothing else, so no name "
    "or phone fits. Recorded in the audit log. Required of operators, ignored for services."
)
AuditReasonHeader = Annotated[
    str | None,
    Header(
        alias="X-Audit-Reason",
        # Optional, but never the text "null": the schema offers a string or nothing.
        json_schema_extra=omit_null,
        pattern=AUDIT_REASON_PATTERN,
        min_length=3,
        max_length=AUDIT_REASON_MAX_LENGTH,
        description=_REASON_DESCRIPTION,
        examples=["SUP-1234"],
    ),
]
"""`X-Audit-Reason` where services call too (optional in the schema; `reason_of` requires it of operators)."""
RequiredAuditReasonHeader = Annotated[
    str,
    Header(
        alias="X-Audit-Reason",
        pattern=AUDIT_REASON_PATTERN,
        min_length=3,
        max_length=AUDIT_REASON_MAX_LENGTH,
        description=_REASON_DESCRIPTION,
        examples=["SUP-1234"],
    ),
]
"""`X-Audit-Reason` on the routes only operators call."""


class AuditReasonRequiredError(ValidationFailedError):
    """An operator read or changed a learner's personal data without saying why (`X-Audit-Reason`)."""

    code = "audit_reason_required"


def reason_of(caller: Caller, x_audit_reason: str | None, *, service_reason: str | None = None) -> str | None:
    """The audit reason of a request: the operator's `X-Audit-Reason` (422 `audit_reason_required` when
    they gave none), or `service_reason` for a service (the gateway's fixed code, `learner_request`)."""
    if not caller.is_operator:
        return service_reason
    if x_audit_reason is None:
        raise AuditReasonRequiredError(
            "X-Audit-Reason is required of an operator reading or changing a learner's personal data: the "
            "ticket you work on, such as SUP-1234 (it goes into the audit log)",
            details={"header": "X-Audit-Reason"},
        )
    return x_audit_reason
