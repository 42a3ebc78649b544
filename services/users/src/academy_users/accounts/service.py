"""Registration and profile of learners, with their time zone and the revision other services order by.

Time zone rules (the API and the README say the same):
- a zone the learner chose (`time_zone` in the registration or a PATCH) is kept as it is, source
  `learner`, whatever city they move to, until they choose another or send `time_zone: null`;
- otherwise the zone is derived from the city through the gazetteer (source `city`), again whenever
  the city changes;
- a city the gazetteer does not know leaves the settings' default zone with source `default`, which
  tells the bot to ask.

Every change to a learner bumps `revision` (the model's version counter). Subscribers hear of it as
`users.profile_updated.v3` only when a field v3 carries changed (the display name, city, locale, time
zone): a new phone, or a new full name with the same display name, publishes nothing, so the revisions
a subscriber sees may skip numbers. Registrations are `users.user_registered.v3`. Versions 1 and 2 are
no longer published: they carry the full name (contracts' module docstring; issue 10).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any, cast

from academy_contracts import EventData
from academy_contracts.users import ProfileFieldV3, ProfileUpdatedV3, TimeZoneSource, UserRegisteredV3
from academy_runtime.db import transaction
from academy_runtime.errors import LearnerNotFoundError, NotFoundError
from academy_runtime.phones import phone_region
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from academy_users import metrics
from academy_users.accounts.gazetteer import load_gazetteer
from academy_users.accounts.names import display_name
from academy_users.accounts.repository import UserRepository, audit_code
from academy_users.accounts.schemas import LearnerIdsPage, LearnerOut, RegisterLearner, RegistrationOut, UpdateProfile
from academy_users.models import User, messaging
from academy_users.settings import UsersSettings

log = logging.getLogger(__name__)

# What subscribers hold of a learner (`users.profile_updated.v3`); the full name and the phone never leave users.
_SHARED_FIELDS: tuple[ProfileFieldV3, ...] = ("display_name", "city", "locale", "time_zone")
_EDITABLE_FIELDS = ("full_name", "city", "locale", "phone")
LEARNER_REQUEST = "learner_request"
"""The audit reason of what the gateway does for the learner who asked (a fixed code, issue 10)."""
# Event ids derive from (learner, revision, type): a fact told again is the same event, not a second one.
_EVENT_NAMESPACE = uuid.UUID("6f0b8a52-3c1e-4d7a-9a2b-51c4e8d0f7a3")

ZoneChoice = tuple[str, TimeZoneSource]


async def locate_time_zone(city: str | None, phone: str | None, settings: UsersSettings) -> ZoneChoice:
    """The zone of `city` (namesakes: the most populous in the country of the phone number, else anywhere),
    or the settings' default zone when the gazetteer does not know the city."""
    if city:
        gazetteer = await load_gazetteer(settings.gazetteer_min_population, settings.gazetteer_directory())
        found = gazetteer.find(city, country_code=phone_region(phone) if phone else None)
        if found is not None:
            return found.time_zone, "city"
    return settings.default_time_zone, "default"


async def register_learner(
    session: AsyncSession, command: RegisterLearner, *, actor: str, settings: UsersSettings
) -> RegistrationOut:
    """Register the Telegram user who has just consented, once; `users.user_registered.v3` is published
    only for a new learner. A second registration returns the learner as they are."""
    repo = UserRepository(session)
    consent_at = command.consent.accepted_at.astimezone(UTC)
    if command.time_zone is not None:
        time_zone, source = command.time_zone, "learner"
    else:
        time_zone, source = await locate_time_zone(command.city, command.phone, settings)
    created = await repo.insert_if_absent(
        telegram_id=command.telegram_id,
        username=command.username,
        locale=command.locale,
        full_name=command.full_name,
        phone=command.phone,
        city=command.city,
        time_zone=time_zone,
        time_zone_source=source,
        consent_version=command.consent.version,
        consent_at=consent_at,
    )
    if created is None:
        existing = await repo.by_telegram_id(command.telegram_id, for_update=True)
        if existing is None:  # deleted between the two statements: vanishingly rare, safe to retry
            raise NotFoundError("learner vanished during registration; retry")
        if not existing.consent_personal_data:
            await _complete_registration(session, existing, command, actor=actor, settings=settings)
        return RegistrationOut(learner=LearnerOut.model_validate(existing), created=False)
    # The Telegram id stays out of the audit (issue 10): the entry names the learner by user id only.
    repo.audit(
        user_id=created.id,
        actor=actor,
        action="registered",
        details=_consent_details(command.consent.version),
        reason=LEARNER_REQUEST,
    )
    await _publish(session, created, _registered_event(created))
    await session.flush()
    metrics.REGISTRATIONS.inc()
    metrics.TIME_ZONES_SET.labels(source).inc()
    return RegistrationOut(learner=LearnerOut.model_validate(created), created=True)


async def _complete_registration(
    session: AsyncSession, user: User, command: RegisterLearner, *, actor: str, settings: UsersSettings
) -> None:
    """An account made before registration asked for consent (only the Telegram id was kept) gets the
    learner's answers now; other services hear of them as a profile update."""
    user.consent_personal_data = True
    user.consent_version = command.consent.version
    user.consent_at = command.consent.accepted_at.astimezone(UTC)
    answers: dict[str, Any] = {
        "full_name": command.full_name,
        "city": command.city,
        "locale": command.locale,
        "phone": command.phone,
    }
    if command.time_zone is not None:
        answers["time_zone"] = command.time_zone
    UserRepository(session).audit(
        user_id=user.id,
        actor=actor,
        action="consented",
        details=_consent_details(command.consent.version),
        reason=LEARNER_REQUEST,
    )
    await _apply_profile_changes(
        session, user, UpdateProfile(**answers), actor=actor, settings=settings, reason=LEARNER_REQUEST
    )


def _consent_details(version: str) -> dict[str, object]:
    # The version the gateway sends is a code ("2026-11-01"); a free text there stays on the learner's
    # row and out of the audit log, which holds names, ids and codes only.
    code = audit_code(version)
    return {"consent_version": code} if code is not None else {}


async def update_profile(
    session: AsyncSession,
    user_id: int,
    changes: UpdateProfile,
    *,
    actor: str,
    settings: UsersSettings,
    reason: str | None = None,
) -> LearnerOut:
    """Change the fields given; an audit row (with `reason`: the operator's ticket, or the gateway's
    `learner_request`) when something changed, and `users.profile_updated.v3` when something subscribers
    hold changed. LearnerNotFoundError (404 `learner_not_found`) for an unknown learner."""
    user = await UserRepository(session).by_id(user_id, for_update=True)
    if user is None:
        raise LearnerNotFoundError(user_id, f"learner {user_id} not found")
    await _apply_profile_changes(session, user, changes, actor=actor, settings=settings, reason=reason)
    return LearnerOut.model_validate(user)


async def _apply_profile_changes(
    session: AsyncSession,
    user: User,
    changes: UpdateProfile,
    *,
    actor: str,
    settings: UsersSettings,
    reason: str | None,
) -> None:
    given = changes.model_dump(exclude_unset=True)
    changed = [name for name in _EDITABLE_FIELDS if given.get(name) is not None and getattr(user, name) != given[name]]
    shown_before = display_name(user.full_name)
    for name in changed:
        setattr(user, name, given[name])
    zone = await _time_zone_after(user, given, city_changed="city" in changed, settings=settings)
    if zone is not None and zone != (user.time_zone, user.time_zone_source):
        user.time_zone, user.time_zone_source = zone
        changed.append("time_zone")
        metrics.TIME_ZONES_SET.labels(zone[1]).inc()
    if not changed:
        return
    if display_name(user.full_name) != shown_before:
        changed.append("display_name")
    await _record_change(session, user, changed, actor=actor, reason=reason)


async def _time_zone_after(
    user: User, given: dict[str, Any], *, city_changed: bool, settings: UsersSettings
) -> ZoneChoice | None:
    """The learner's zone after a change; None when it stays as it is."""
    if given.get("time_zone") is not None:
        return given["time_zone"], "learner"
    if "time_zone" in given or (city_changed and user.time_zone_source != "learner"):
        # `time_zone: null`: the learner gives up their choice; or a city that carries its zone moved.
        return await locate_time_zone(user.city, user.phone, settings)
    return None


async def _record_change(
    session: AsyncSession, user: User, changed: list[str], *, actor: str, reason: str | None = None
) -> None:
    user.updated_at = datetime.now(UTC)
    await session.flush()  # the UPDATE bumps `revision`, which the events carry
    # The audit names what changed; values stay out of it (the phone above all).
    UserRepository(session).audit(
        user_id=user.id, actor=actor, action="profile_updated", details={"fields": changed}, reason=reason
    )
    event = _profile_event(user, changed)
    if event is not None:
        await _publish(session, user, event)
    await session.flush()


def _profile_event(user: User, changed: list[str]) -> ProfileUpdatedV3 | None:
    """`users.profile_updated.v3` for a change of what subscribers hold; None for a change they cannot
    see (the phone, or a full name whose display name stays the same)."""
    shared = tuple(field for field in _SHARED_FIELDS if field in changed)
    if not shared:
        return None
    return ProfileUpdatedV3(
        user_id=user.id,
        telegram_id=user.telegram_id,
        changed_fields=shared,
        display_name=display_name(user.full_name),
        city=user.city,
        locale=user.locale,
        time_zone=user.time_zone,
        time_zone_source=_time_zone_source(user),
        revision=user.revision,
        updated_at=user.updated_at,
    )


def _registered_event(user: User) -> UserRegisteredV3:
    return UserRegisteredV3(
        user_id=user.id,
        telegram_id=user.telegram_id,
        display_name=display_name(user.full_name),
        locale=user.locale,
        city=user.city,
        time_zone=user.time_zone,
        time_zone_source=_time_zone_source(user),
        consent_version=user.consent_version,
        revision=user.revision,
        registered_at=user.created_at.astimezone(UTC),
    )


def _time_zone_source(user: User) -> TimeZoneSource:
    return cast("TimeZoneSource", user.time_zone_source)  # the column's CHECK allows only these


async def _publish(session: AsyncSession, user: User, event: EventData) -> None:
    await publish_about(session, user.id, user.revision, event)


async def publish_about(session: AsyncSession, user_id: int, revision: int, event: EventData) -> None:
    """Write `event` about learner `user_id` at `revision` to the outbox, with the id derived from (type,
    learner, revision): the same fact told again is the same event."""
    event_id = uuid.uuid5(_EVENT_NAMESPACE, f"{event.event_type}:{user_id}:{revision}")
    await messaging.publish(session, event, event_id=event_id, occurred_at=event.occurred_at())


async def derive_missing_time_zones(
    sessionmaker: async_sessionmaker[AsyncSession], settings: UsersSettings, *, batch_size: int = 500
) -> int:
    """Derive the zone of every learner still on the default zone whose city the gazetteer knows (those
    registered before learners had zones, or whose city it learnt since), publishing each change like a
    profile update. One transaction per batch; a learner being changed right now is skipped (run again).
    Returns how many learners got a zone."""
    derived, after_id = 0, 0
    while True:
        async with transaction(sessionmaker) as session:
            learners = await UserRepository(session).without_time_zone(after_id=after_id, limit=batch_size)
            for user in learners:
                zone = await locate_time_zone(user.city, user.phone, settings)
                if zone[1] == "city":
                    user.time_zone, user.time_zone_source = zone
                    await _record_change(session, user, ["time_zone"], actor="users:derive-time-zones")
                    metrics.TIME_ZONES_SET.labels("city").inc()
                    derived += 1
            last_id = learners[-1].id if learners else None
        if last_id is None or len(learners) < batch_size:
            break
        after_id = last_id
    log.info("time zones derived from cities", extra={"count": derived})
    return derived


class TelegramAccountNotFoundError(NotFoundError):
    """No learner has this Telegram account: the same code as an unknown learner id
    (`academy_runtime.errors.LearnerNotFoundError`), whose details would name a user id there is none of."""

    code = LearnerNotFoundError.code


async def get_learner(session: AsyncSession, user_id: int) -> LearnerOut:
    """The learner `user_id`; LearnerNotFoundError (404 `learner_not_found`, as on every route that names a
    learner) when there is none."""
    user = await UserRepository(session).by_id(user_id)
    if user is None:
        raise LearnerNotFoundError(user_id, f"learner {user_id} not found")
    return LearnerOut.model_validate(user)


def record_operator_read(
    session: AsyncSession, learner: LearnerOut, *, actor: str, reason: str | None, via: str
) -> None:
    """A person read a learner's personal data (name, phone): the audit log says who (`operator:alice`),
    why (`reason`, their ticket) and how they found the learner (`via`: `id`, `telegram_id`, `phone`).
    Services' reads are not recorded: they read on the learner's behalf, every minute."""
    UserRepository(session).audit(
        user_id=learner.id, actor=actor, action="profile_read", details={"via": via}, reason=reason
    )


async def get_learner_by_telegram_id(session: AsyncSession, telegram_id: int) -> LearnerOut:
    """The learner of a Telegram account; TelegramAccountNotFoundError (404 `learner_not_found`) when there
    is none."""
    user = await UserRepository(session).by_telegram_id(telegram_id)
    if user is None:
        raise TelegramAccountNotFoundError(f"no learner with telegram id {telegram_id}")
    return LearnerOut.model_validate(user)


async def find_by_phone(session: AsyncSession, phone: str, *, actor: str, reason: str) -> list[LearnerOut]:
    """The learners with this E.164 phone (by its keyed digest), for a support operator: each one found is
    a `profile_read` (via `phone`) in the audit log, and a search that finds nobody is a `phone_lookup`
    entry without a learner (someone looked for a number: that too is accounted for)."""
    found = [LearnerOut.model_validate(user) for user in await UserRepository(session).by_phone(phone)]
    for learner in found:
        record_operator_read(session, learner, actor=actor, reason=reason, via="phone")
    if not found:
        UserRepository(session).audit(
            user_id=None, actor=actor, action="phone_lookup", details={"found": 0}, reason=reason
        )
    return found


async def learner_ids_in_city(session: AsyncSession, city: str, *, after_user_id: int, limit: int) -> LearnerIdsPage:
    """A page of the ids of the registered learners of `city` (a broadcast's segment, issue 12), ascending
    from after `after_user_id`; `next_after_user_id` is null on the last page."""
    ids = list(await UserRepository(session).ids_in_city(city, after_id=after_user_id, limit=limit))
    return LearnerIdsPage(user_ids=ids, next_after_user_id=ids[-1] if len(ids) == limit else None)
