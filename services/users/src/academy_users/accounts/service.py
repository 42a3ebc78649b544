from __future__ import annotations

from datetime import UTC, datetime

from academy_contracts.users import ProfileField, ProfileUpdatedV1, UserRegisteredV1
from academy_runtime.errors import NotFoundError
from sqlalchemy.ext.asyncio import AsyncSession

from academy_users import metrics
from academy_users.accounts.repository import UserRepository
from academy_users.accounts.schemas import LearnerOut, RegisterLearner, RegistrationOut, UpdateProfile
from academy_users.models import User, messaging

# The profile fields other services receive in `users.profile_updated.v1`; the phone never leaves users.
_SHARED_FIELDS: tuple[ProfileField, ...] = ("full_name", "city", "locale")


async def register_learner(session: AsyncSession, command: RegisterLearner, *, actor: str) -> RegistrationOut:
    """Register the Telegram user who has just consented, once; `users.user_registered.v1` is published
    only for a new learner. A second registration returns the learner as they are."""
    repo = UserRepository(session)
    consent_at = command.consent.accepted_at.astimezone(UTC)
    created = await repo.insert_if_absent(
        telegram_id=command.telegram_id,
        username=command.username,
        locale=command.locale,
        full_name=command.full_name,
        phone=command.phone,
        city=command.city,
        consent_version=command.consent.version,
        consent_at=consent_at,
    )
    if created is None:
        existing = await repo.by_telegram_id(command.telegram_id, for_update=True)
        if existing is None:  # deleted between the two statements: vanishingly rare, safe to retry
            raise NotFoundError("learner vanished during registration; retry")
        if not existing.consent_personal_data:
            await _complete_registration(session, existing, command, actor=actor)
        return RegistrationOut(learner=LearnerOut.model_validate(existing), created=False)
    repo.audit(
        user_id=created.id,
        actor=actor,
        action="registered",
        details={"telegram_id": command.telegram_id, "consent_version": command.consent.version},
    )
    await messaging.publish(session, _registered_event(created))
    await session.flush()
    metrics.REGISTRATIONS.inc()
    return RegistrationOut(learner=LearnerOut.model_validate(created), created=True)


async def _complete_registration(session: AsyncSession, user: User, command: RegisterLearner, *, actor: str) -> None:
    """An account made before registration asked for consent (only the Telegram id was kept) gets the
    learner's answers now; other services hear of them as a profile update."""
    user.consent_personal_data = True
    user.consent_version = command.consent.version
    user.consent_at = command.consent.accepted_at.astimezone(UTC)
    changes = UpdateProfile(full_name=command.full_name, city=command.city, locale=command.locale, phone=command.phone)
    UserRepository(session).audit(
        user_id=user.id, actor=actor, action="consented", details={"consent_version": command.consent.version}
    )
    await _apply_profile_changes(session, user, changes, actor=actor)


async def update_profile(session: AsyncSession, user_id: int, changes: UpdateProfile, *, actor: str) -> LearnerOut:
    """Change the fields given; `users.profile_updated.v1` and an audit row only when something changed."""
    user = await UserRepository(session).by_id(user_id, for_update=True)
    if user is None:
        raise NotFoundError(f"learner {user_id} not found")
    await _apply_profile_changes(session, user, changes, actor=actor)
    return LearnerOut.model_validate(user)


async def _apply_profile_changes(session: AsyncSession, user: User, changes: UpdateProfile, *, actor: str) -> None:
    changed = [
        name
        for name, value in changes.model_dump(exclude_unset=True).items()
        if value is not None and getattr(user, name) != value
    ]
    if not changed:
        return
    for name in changed:
        setattr(user, name, getattr(changes, name))
    now = datetime.now(UTC)
    user.updated_at = now
    # The audit names what changed; values stay out of it (the phone above all).
    UserRepository(session).audit(user_id=user.id, actor=actor, action="profile_updated", details={"fields": changed})
    await messaging.publish(
        session,
        ProfileUpdatedV1(
            user_id=user.id,
            changed_fields=tuple(field for field in _SHARED_FIELDS if field in changed),
            full_name=user.full_name,
            city=user.city,
            locale=user.locale,
            phone_changed="phone" in changed,
            updated_at=now,
        ),
    )
    await session.flush()


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
