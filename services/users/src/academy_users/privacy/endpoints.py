from __future__ import annotations

from typing import Annotated

from academy_runtime.db import SessionDep
from academy_runtime.dependencies import ResourcesDep
from academy_runtime.errors import error_responses
from academy_runtime.ids import UserId
from fastapi import APIRouter, Path

from academy_users.accounts.service import LEARNER_REQUEST
from academy_users.dependencies import AuditReasonHeader, PersonalDataHandler, reason_of
from academy_users.privacy import service
from academy_users.privacy.schemas import ErasureOut, ErasureRequest, PersonalDataExport

router = APIRouter(prefix="/internal/users", tags=["personal data"])

_NOT_FOUND = error_responses(404, s404="`learner_not_found`: no such learner (never registered, or erased).")


@router.get("/{user_id}/personal-data", responses=_NOT_FOUND, response_model=PersonalDataExport)
async def export_personal_data(
    user_id: Annotated[UserId, Path(examples=[1])],
    session: SessionDep,
    caller: PersonalDataHandler,
    x_audit_reason: AuditReasonHeader = None,
) -> PersonalDataExport:
    """Everything the users service holds about the learner, as JSON (152-ФЗ art. 14): the decrypted profile,
    the avatar history and the audit entries about them. The gateway asks for it when the learner does
    («Мои данные»); a support operator gives `X-Audit-Reason`. Audited as `exported`."""
    reason = reason_of(caller, x_audit_reason, service_reason=LEARNER_REQUEST)
    return await service.export_personal_data(session, user_id, actor=caller.actor, reason=reason)


@router.post("/{user_id}/erasure", responses=_NOT_FOUND, response_model=ErasureOut)
async def erase_learner(  # noqa: PLR0917 - FastAPI dependencies
    user_id: Annotated[UserId, Path(examples=[4])],
    command: ErasureRequest,
    session: SessionDep,
    resources: ResourcesDep,
    caller: PersonalDataHandler,
    x_audit_reason: AuditReasonHeader = None,
) -> ErasureOut:
    """Erase the learner: their profile, avatars, the outbox rows and idempotency records about them, in one
    transaction, then `users.user_erased.v2` so that every service erases them too. The gateway calls it
    when the learner withdraws consent in the bot; a support operator gives `X-Audit-Reason` (their ticket).
    Erasing again is a 404 `learner_not_found`: the learner is gone already."""
    reason = reason_of(caller, x_audit_reason, service_reason=command.reason)
    return await service.erase_learner(
        session, resources, user_id, grounds=command.reason, actor=caller.actor, reason=reason or command.reason
    )
