from __future__ import annotations

from typing import Annotated

from academy_runtime.db import SessionDep
from academy_runtime.ids import UserId
from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from academy_users.audit import service
from academy_users.audit.repository import AuditFilter
from academy_users.audit.schemas import AUDIT_PAGE_MAX, AuditPage
from academy_users.dependencies import AuditReader, AuditReasonHeader

router = APIRouter(prefix="/internal/audit-log", tags=["audit log"])

_ID_MAX = 2**63 - 1


@router.get("", response_model=AuditPage)
async def read_audit_log(  # noqa: PLR0917 - query parameters
    session: SessionDep,
    caller: AuditReader,
    user_id: Annotated[UserId | None, Query(description="Entries about this learner.", examples=[1])] = None,
    actor: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="`gateway-bot`, `operator:alice`...", examples=["gateway-bot"]),
    ] = None,
    action: Annotated[
        str | None, Query(min_length=1, max_length=100, description="`profile_read`, `erased`...")
    ] = None,
    since: Annotated[AwareDatetime | None, Query(description="Entries at or after this moment.")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Entries before this moment.")] = None,
    before_id: Annotated[
        int | None, Query(ge=1, le=_ID_MAX, description="The previous page's `next_before_id`: older entries.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=AUDIT_PAGE_MAX, description="Entries per page.")] = 50,
    x_audit_reason: AuditReasonHeader = None,
) -> AuditPage:
    """The audit log, newest first, for auditors (operators with the `auditor` role): who read or changed
    which learner's personal data, when and why. Filters combine; pages continue with `before_id`. This
    read is itself recorded (`audit_log_read`, with the filters' names and the optional `X-Audit-Reason`)."""
    where = AuditFilter(user_id=user_id, actor=actor, action=action, since=since, until=until)
    return await service.read_audit_log(
        session, where, before_id=before_id, limit=limit, actor=caller.actor, reason=x_audit_reason
    )
