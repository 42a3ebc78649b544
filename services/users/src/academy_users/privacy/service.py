"""The export of a learner's data and their erasure (issue 10)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from academy_contracts.users import UserErasedV2
from academy_runtime.errors import LearnerNotFoundError
from academy_runtime.resources import Resources
from academy_runtime.storage import object_storage
from sqlalchemy import delete, or_
from sqlalchemy.ext.asyncio import AsyncSession

from academy_users import metrics
from academy_users.accounts.names import display_name
from academy_users.accounts.repository import UserRepository
from academy_users.accounts.service import publish_about
from academy_users.audit.repository import AuditRepository
from academy_users.audit.schemas import AuditEntryOut
from academy_users.avatars.service import avatar_history, erase_avatars
from academy_users.models import messaging
from academy_users.privacy.schemas import ErasureGrounds, ErasureOut, PersonalDataExport, ProfileExport

log = logging.getLogger(__name__)


def subject_of(user_id: int) -> str:
    """The CloudEvents subject, and the idempotency records' subject, of everything about a learner."""
    return f"user/{user_id}"


async def export_personal_data(
    session: AsyncSession, user_id: int, *, actor: str, reason: str | None
) -> PersonalDataExport:
    """Everything held about `user_id`: the decrypted profile, the avatar history and the audit entries
    about them, this export's own (`exported`, by `actor`, with `reason`) included. LearnerNotFoundError
    (404 `learner_not_found`) for an unknown or erased learner."""
    user = await UserRepository(session).by_id(user_id)
    if user is None:
        raise LearnerNotFoundError(user_id)
    avatars = await avatar_history(session, user_id)
    UserRepository(session).audit(
        user_id=user_id,
        actor=actor,
        action="exported",
        details={"sections": ["profile", "avatars", "audit_log"], "avatars": len(avatars)},
        reason=reason,
    )
    await session.flush()
    entries = [AuditEntryOut.model_validate(row) for row in await AuditRepository(session).of_learner(user_id)]
    stored = {name: getattr(user, name) for name in ProfileExport.model_fields if name != "display_name"}
    profile = ProfileExport.model_validate(stored | {"display_name": display_name(user.full_name)})
    return PersonalDataExport(
        user_id=user_id, exported_at=datetime.now(UTC), profile=profile, avatars=avatars, audit_log=entries
    )


async def erase_learner(
    session: AsyncSession,
    resources: Resources,
    user_id: int,
    *,
    grounds: ErasureGrounds,
    actor: str,
    reason: str,
) -> ErasureOut:
    """Erase a learner, in the caller's transaction (152-ФЗ art. 21 §5: consent withdrawn, the data is
    destroyed):

    - their avatars, rows and S3 objects (`academy_users.avatars.service.erase_avatars`; S3 unreachable is
      a 503 and nothing is erased), and their row in `users` (a later registration of the same Telegram
      account is a new learner with a new id);
    - the outbox rows about them (subject `user/<id>`, published or not: they carry their profile);
    - the idempotency records whose stored answers hold their profile (subject `user/<id>`);
    - then an `erased` audit entry (`reason`, the grounds, counts; no personal value) and
      `users.user_erased.v2`, which tells every other service to erase them too.

    The row is locked first, so two erasures at once erase once; the second (and any later one) is a
    LearnerNotFoundError (404 `learner_not_found`). The audit entries about the learner stay: they hold
    the user id and what was done, never a value, and they are the record that the erasure happened.
    """
    repo = UserRepository(session)
    user = await repo.by_id(user_id, for_update=True)
    if user is None:
        raise LearnerNotFoundError(user_id, f"learner {user_id} is not known (never registered, or erased already)")
    revision = user.revision
    avatars = await erase_avatars(session, object_storage(resources), user_id)
    subject = subject_of(user_id)
    outbox = messaging.outbox
    purged = await session.execute(
        delete(outbox).where(or_(outbox.c.partition_key == str(user_id), outbox.c.payload["subject"].astext == subject))
    )
    forgotten = await messaging.idempotency.forget_subject(session, subject)
    await session.delete(user)
    await session.flush()
    erased_at = datetime.now(UTC)
    repo.audit(
        user_id=user_id,
        actor=actor,
        action="erased",
        details={
            "grounds": grounds,
            "avatars": avatars,
            "outbox_rows": int(getattr(purged, "rowcount", 0) or 0),
            "idempotency_records": forgotten,
        },
        reason=reason,
    )
    await publish_about(session, user_id, revision, UserErasedV2(user_id=user_id, erased_at=erased_at))
    await session.flush()
    metrics.ERASURES.labels(grounds).inc()
    log.info("learner erased", extra={"user_id": user_id, "grounds": grounds})
    return ErasureOut(user_id=user_id, erased_at=erased_at)
