from __future__ import annotations

from typing import Annotated

from academy_runtime.db import SessionDep
from academy_runtime.errors import error_responses
from academy_runtime.idempotency import idempotency_key_header
from academy_runtime.ids import INT32_MAX, TelegramId, UserId
from fastapi import APIRouter, Depends, Path, Query, Request

from academy_users.accounts import service
from academy_users.accounts.schemas import (
    City,
    LearnerIdsPage,
    LearnerOut,
    LearnersFound,
    PhoneQuery,
    RegisterLearner,
    RegistrationOut,
    UpdateProfile,
)
from academy_users.dependencies import (
    AuditReasonHeader,
    LearnerReader,
    PhoneLookup,
    ProfileEditor,
    Registrar,
    RequiredAuditReasonHeader,
    SegmentReader,
    SettingsDep,
    TelegramLookup,
    reason_of,
)
from academy_users.models import messaging

router = APIRouter(prefix="/internal/users", tags=["learners"])

IdempotencyKey = Annotated[str | None, Depends(idempotency_key_header)]
_NO_LEARNER = "`learner_not_found`: no such learner (the code of every route that names a learner)."


@router.post("/register", response_model=RegistrationOut)
async def register(  # noqa: PLR0917 - FastAPI dependencies
    command: RegisterLearner,
    session: SessionDep,
    caller: Registrar,
    request: Request,
    idempotency_key: IdempotencyKey,
    settings: SettingsDep,
) -> RegistrationOut:
    """Register the Telegram user who has consented to personal-data processing; calling it again
    returns the same learner. Without a `time_zone` the zone is derived from the city (`time_zone_source`
    says `city`, or `default` when the city is unknown: ask the learner)."""
    return await messaging.idempotency.run(
        session,
        request,
        key=idempotency_key,
        payload=command.model_dump(mode="json"),
        response_model=RegistrationOut,
        action=lambda: service.register_learner(session, command, actor=caller.actor, settings=settings),
        subject=_learner_subject,
    )


def _learner_subject(answer: RegistrationOut | LearnerOut) -> str:
    # The stored answer holds the learner's profile: an erasure deletes it with them (by this subject).
    learner = answer.learner if isinstance(answer, RegistrationOut) else answer
    return f"user/{learner.id}"


@router.post("/lookup-by-phone", response_model=LearnersFound)
async def lookup_by_phone(
    query: PhoneQuery, session: SessionDep, caller: PhoneLookup, x_audit_reason: RequiredAuditReasonHeader
) -> LearnersFound:
    """Support: the learners with this phone (the number travels in the body, never in a URL or an access
    log). Found through the phone's keyed digest; each learner found, and a search that finds nobody, is
    in the audit log with the operator and their `X-Audit-Reason`."""
    found = await service.find_by_phone(session, query.phone, actor=caller.actor, reason=x_audit_reason)
    return LearnersFound(learners=found)


@router.get(
    "/by-telegram/{telegram_id}",
    responses=error_responses(404, s404="`learner_not_found`: no learner has this Telegram account."),
    response_model=LearnerOut,
)
async def get_by_telegram_id(
    telegram_id: Annotated[TelegramId, Path(examples=[880001])],
    session: SessionDep,
    caller: TelegramLookup,
    x_audit_reason: AuditReasonHeader = None,
) -> LearnerOut:
    """The learner of a Telegram account. An operator gives `X-Audit-Reason`, and the read is audited."""
    reason = reason_of(caller, x_audit_reason)
    learner = await service.get_learner_by_telegram_id(session, telegram_id)
    if caller.is_operator:
        service.record_operator_read(session, learner, actor=caller.actor, reason=reason, via="telegram_id")
    return learner


@router.get("/ids", response_model=LearnerIdsPage)
async def learner_ids_in_city(
    session: SessionDep,
    _: SegmentReader,
    city: Annotated[City, Query(examples=["Казань"], description="The learners' city, as they gave it (any case).")],
    after_user_id: Annotated[int, Query(ge=0, le=INT32_MAX, description="Keyset pagination: the last id seen.")] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> LearnerIdsPage:
    """Ids of the registered learners of a city, ascending (a broadcast's segment): ids only, no personal
    data, so nothing is audited."""
    return await service.learner_ids_in_city(session, city, after_user_id=after_user_id, limit=limit)


@router.get("/{user_id}", responses=error_responses(404, s404=_NO_LEARNER), response_model=LearnerOut)
async def get_learner(
    user_id: Annotated[UserId, Path(examples=[1])],
    session: SessionDep,
    caller: LearnerReader,
    x_audit_reason: AuditReasonHeader = None,
) -> LearnerOut:
    """A learner by id. An operator gives `X-Audit-Reason`, and the read is audited."""
    reason = reason_of(caller, x_audit_reason)
    learner = await service.get_learner(session, user_id)
    if caller.is_operator:
        service.record_operator_read(session, learner, actor=caller.actor, reason=reason, via="id")
    return learner


@router.patch("/{user_id}", responses=error_responses(404, s404=_NO_LEARNER), response_model=LearnerOut)
async def update_profile(  # noqa: PLR0917 - FastAPI dependencies
    user_id: Annotated[UserId, Path(examples=[1])],
    changes: UpdateProfile,
    session: SessionDep,
    caller: ProfileEditor,
    request: Request,
    idempotency_key: IdempotencyKey,
    settings: SettingsDep,
    x_audit_reason: AuditReasonHeader = None,
) -> LearnerOut:
    """Change any of full_name, city, locale, phone, time_zone (null: back to the city's zone);
    `users.profile_updated.v3` when the display name, city, locale or zone changed. A new city brings its
    zone unless the learner chose one. An operator gives `X-Audit-Reason` (the change is audited with it)."""
    reason = reason_of(caller, x_audit_reason, service_reason=service.LEARNER_REQUEST)
    return await messaging.idempotency.run(
        session,
        request,
        key=idempotency_key,
        payload=changes.model_dump(mode="json", exclude_unset=True),
        response_model=LearnerOut,
        action=lambda: service.update_profile(
            session, user_id, changes, actor=caller.actor, settings=settings, reason=reason
        ),
        subject=f"user/{user_id}",
    )
