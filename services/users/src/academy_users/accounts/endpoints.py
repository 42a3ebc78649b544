from __future__ import annotations

from typing import Annotated

from academy_runtime.auth import ServiceCaller
from academy_runtime.db import SessionDep
from academy_runtime.idempotency import idempotency_key_header
from fastapi import APIRouter, Depends, Path, Request

from academy_users.accounts import service
from academy_users.accounts.schemas import LearnerOut, RegisterLearner, RegistrationOut
from academy_users.models import messaging

router = APIRouter(prefix="/internal/users", tags=["learners"])

IdempotencyKey = Annotated[str | None, Depends(idempotency_key_header)]
UserId = Annotated[int, Path(gt=0, le=2_147_483_647)]
TelegramId = Annotated[int, Path(gt=0)]


@router.post("/register", response_model=RegistrationOut)
async def register(
    command: RegisterLearner,
    session: SessionDep,
    caller: ServiceCaller,
    request: Request,
    idempotency_key: IdempotencyKey,
) -> RegistrationOut:
    """Register a Telegram user as a learner; calling it again returns the same learner."""
    return await messaging.idempotency.run(
        session,
        request,
        key=idempotency_key,
        payload=command.model_dump(),
        response_model=RegistrationOut,
        action=lambda: service.register_learner(session, command, actor=caller),
    )


@router.get("/by-telegram/{telegram_id}", response_model=LearnerOut)
async def get_by_telegram_id(telegram_id: TelegramId, session: SessionDep, _: ServiceCaller) -> LearnerOut:
    return await service.get_learner_by_telegram_id(session, telegram_id)


@router.get("/{user_id}", response_model=LearnerOut)
async def get_learner(user_id: UserId, session: SessionDep, _: ServiceCaller) -> LearnerOut:
    return await service.get_learner(session, user_id)
