from __future__ import annotations

from datetime import UTC

from academy_contracts.users import UserRegisteredV1
from academy_runtime.errors import NotFoundError
from sqlalchemy.ext.asyncio import AsyncSession

from academy_users import metrics
from academy_users.accounts.repository import UserRepository
from academy_users.accounts.schemas import LearnerOut, RegisterLearner, RegistrationOut
from academy_users.models import User, messaging


async def register_learner(session: AsyncSession, command: RegisterLearner, *, actor: str) -> RegistrationOut:
    """Register the Telegram user once; `users.user_registered.v1` is published only for a new learner."""
    repo = UserRepository(session)
    created = await repo.insert_if_absent(
        telegram_id=command.telegram_id, username=command.username, locale=command.locale
    )
    if created is None:
        existing = await repo.by_telegram_id(command.telegram_id)
        if existing is None:  # deleted between the two statements: vanishingly rare, safe to retry
            raise NotFoundError("learner vanished during registration; retry")
        return RegistrationOut(learner=LearnerOut.model_validate(existing), created=False)
    repo.audit(user_id=created.id, actor=actor, action="registered", details={"telegram_id": command.telegram_id})
    await messaging.publish(session, _registered_event(created))
    await session.flush()
    metrics.REGISTRATIONS.inc()
    return RegistrationOut(learner=LearnerOut.model_validate(created), created=True)


def _registered_event(user: User) -> UserRegisteredV1:
    return UserRegisteredV1(
        user_id=user.id,
        telegram_id=user.telegram_id,
        username=user.username,
        full_name=user.full_name,
        locale=user.locale,
        city=user.city,
        consent_personal_data=user.consent_personal_data,
        consent_version=user.consent_version,
        registered_at=user.created_at.astimezone(UTC),
    )


async def get_learner(session: AsyncSession, user_id: int) -> LearnerOut:
    user = await UserRepository(session).by_id(user_id)
    if user is None:
        raise NotFoundError(f"learner {user_id} not found")
    return LearnerOut.model_validate(user)


async def get_learner_by_telegram_id(session: AsyncSession, telegram_id: int) -> LearnerOut:
    user = await UserRepository(session).by_telegram_id(telegram_id)
    if user is None:
        raise NotFoundError(f"no learner with telegram id {telegram_id}")
    return LearnerOut.model_validate(user)
