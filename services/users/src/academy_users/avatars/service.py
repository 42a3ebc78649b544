"""Learners' avatars: set (upload), history, go back, delete, the images, erasure and export.

Storage: three objects per avatar in the service's private bucket (`avatar_keys`):
`avatars/<user_id>/<avatar_id>/original` (the bytes as uploaded), `.../large.webp`, `.../small.webp`.

Order of S3 and PostgreSQL, so that neither holds what the other does not know of:
- upload: the avatar's id is drawn from the table's sequence, the three objects are put, then the row is
  written in the request's transaction; should that transaction roll back (a failed insert, event or
  commit), the objects are removed again (`run_after_rollback`, best effort: a process that dies in
  between leaves objects under the learner's prefix, which an erasure sweeps);
- delete and erasure: the rows are deleted first (flushed), then the objects, before the commit; deleting
  a missing object is no error, so a retry after a failed commit finishes the job. An S3 failure is a
  503 and the transaction (the rows) rolls back.

Every change publishes through the outbox, in the same transaction: `users.avatar_updated.v1` when an
avatar becomes current (set, or gone back to), `users.avatar_removed.v1` when the current one is deleted;
and writes an audit entry (`avatar_set`, `avatar_restored`, `avatar_removed`; an operator's look at a
learner's avatars is `avatars_read`) whose details hold ids only, with its reason: `learner_request` for
the learner's own changes through the gateway, an operator's `X-Audit-Reason` (their ticket).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from academy_contracts import EventData
from academy_contracts.users import AvatarRemovedV1, AvatarUpdatedV1
from academy_runtime.after_commit import run_after_rollback
from academy_runtime.errors import DependencyUnavailableError, LearnerNotFoundError, NotFoundError
from academy_runtime.storage import ObjectNotFoundError, ObjectStorage
from miniopy_async.error import MinioException
from sqlalchemy.ext.asyncio import AsyncSession

from academy_users import metrics
from academy_users.accounts.repository import UserRepository
from academy_users.avatars.images import OUTPUT_CONTENT_TYPE, ProcessedAvatar, process_avatar
from academy_users.avatars.repository import AvatarRepository
from academy_users.avatars.schemas import AvatarOut, AvatarSize
from academy_users.models import UserAvatar, messaging

log = logging.getLogger(__name__)

AVATARS_PREFIX = "avatars"
# Event ids of facts that happen once per avatar derive from it: told again, the same event.
_EVENT_NAMESPACE = uuid.UUID("0d9c3f3e-5a61-4b8e-9a57-2f6f1c8e4b21")
_STORAGE_ERRORS = (MinioException, OSError)


class AvatarNotFoundError(NotFoundError):
    """404 `avatar_not_found`: no such avatar among the learner's (another learner's id included), no
    current avatar, or its image is gone from the object storage."""

    code = "avatar_not_found"


@dataclass(frozen=True)
class AvatarKeys:
    """The object keys of one avatar in the service's bucket."""

    original: str
    large: str
    small: str

    @property
    def all(self) -> tuple[str, str, str]:
        return (self.original, self.large, self.small)

    def of_size(self, size: AvatarSize) -> str:
        return self.large if size == "large" else self.small


def learner_prefix(user_id: int) -> str:
    """`avatars/<user_id>/`: every object of the learner's avatars is under it."""
    return f"{AVATARS_PREFIX}/{user_id}/"


def avatar_keys(user_id: int, avatar_id: int) -> AvatarKeys:
    """`avatars/<user_id>/<avatar_id>/original`, `.../large.webp`, `.../small.webp`."""
    base = f"{learner_prefix(user_id)}{avatar_id}"
    return AvatarKeys(original=f"{base}/original", large=f"{base}/large.webp", small=f"{base}/small.webp")


async def set_avatar(
    session: AsyncSession,
    storage: ObjectStorage,
    *,
    user_id: int,
    data: bytes,
    content_type: str | None,
    max_pixels: int,
    actor: str,
    reason: str | None,
) -> AvatarOut:
    """Check and process an upload (academy_users.avatars.images), store it and make it the learner's
    current avatar; the previous one stays in the history. `data` is the body as sent, `content_type` its
    declared type, `max_pixels` AVATAR_MAX_PIXELS; `actor` and `reason` go into the audit entry.

    Raises LearnerNotFoundError (404), the images module's refusals (415/422), DependencyUnavailableError
    (503) when S3 cannot be reached (nothing is kept then).
    """
    repo = AvatarRepository(session)
    await _require_learner(repo, user_id)
    try:
        processed = await asyncio.to_thread(
            process_avatar, data, declared_content_type=content_type, max_pixels=max_pixels
        )
    except Exception as exc:
        metrics.AVATAR_UPLOADS.labels(getattr(exc, "code", "error")).inc()
        raise
    await _require_learner(repo, user_id, lock=True)  # one change of a learner's avatars at a time
    avatar_id = await repo.next_id()
    keys = avatar_keys(user_id, avatar_id)
    # Registered before the first put: a failure anywhere from here on removes what was stored.
    run_after_rollback(session, lambda: _remove_quietly(storage, keys.all))
    await _store(storage, keys, data, processed)
    await repo.clear_current(user_id)
    avatar = await repo.add(
        UserAvatar(
            id=avatar_id,
            user_id=user_id,
            object_key=keys.large,
            content_type=OUTPUT_CONTENT_TYPE,
            size_bytes=processed.large.size_bytes,
            width=processed.large.side,
            height=processed.large.side,
            original_content_type=processed.original_content_type,
            original_size_bytes=len(data),
            is_current=True,
        )
    )
    await session.refresh(avatar)  # created_at and updated_at, set by the database
    UserRepository(session).audit(
        user_id=user_id, actor=actor, action="avatar_set", details={"avatar_id": avatar_id}, reason=reason
    )
    await _publish(session, _updated(avatar, at=avatar.created_at), event_id=_event_id("set", avatar_id))
    metrics.AVATAR_UPLOADS.labels("accepted").inc()
    return AvatarOut.model_validate(avatar)


async def _store(storage: ObjectStorage, keys: AvatarKeys, data: bytes, processed: ProcessedAvatar) -> None:
    try:
        await storage.put_bytes(keys.original, data, content_type=processed.original_content_type)
        await storage.put_bytes(keys.large, processed.large.data, content_type=OUTPUT_CONTENT_TYPE)
        await storage.put_bytes(keys.small, processed.small.data, content_type=OUTPUT_CONTENT_TYPE)
    except _STORAGE_ERRORS as exc:
        raise DependencyUnavailableError("object storage is unavailable; try again later") from exc


async def _remove_quietly(storage: ObjectStorage, keys: tuple[str, ...]) -> None:
    """Remove objects of an avatar whose row was never committed (after a rollback)."""
    for key in keys:
        try:
            await storage.remove(key)
        except _STORAGE_ERRORS as exc:
            log.warning("an orphan avatar object is left in S3", extra={"key": key, "error": repr(exc)})


async def list_avatars(session: AsyncSession, user_id: int) -> list[AvatarOut]:
    """The learner's avatars, newest first (LearnerNotFoundError for an unknown learner)."""
    await _require_learner(AvatarRepository(session), user_id)
    return await avatar_history(session, user_id)


async def restore_avatar(
    session: AsyncSession, storage: ObjectStorage, *, user_id: int, avatar_id: int, actor: str, reason: str | None
) -> AvatarOut:
    """Make an earlier avatar of the learner current again (the one current until now stays in the
    history). Nothing changes, and nothing is published, when it is current already. Its images must
    still be in the object storage: an avatar whose images were lost (a bucket restored from an older
    backup; locally, moto forgets its objects on restart) is not made current, so no learner is left
    with a current avatar nobody can show. Raises LearnerNotFoundError, AvatarNotFoundError (not one of
    this learner's avatars, or its images are gone), DependencyUnavailableError (S3 down)."""
    repo = AvatarRepository(session)
    await _require_learner(repo, user_id, lock=True)
    avatar = await repo.of_learner(user_id, avatar_id, for_update=True)
    if avatar is None:
        raise AvatarNotFoundError(f"learner {user_id} has no avatar {avatar_id}", details={"avatar_id": avatar_id})
    if avatar.is_current:
        return AvatarOut.model_validate(avatar)
    keys = avatar_keys(user_id, avatar_id)
    try:
        present = [await storage.exists(key) for key in (keys.large, keys.small)]
    except _STORAGE_ERRORS as exc:
        raise DependencyUnavailableError("object storage is unavailable; try again later") from exc
    if not all(present):
        raise AvatarNotFoundError(
            f"the images of avatar {avatar_id} are missing from the object storage: it cannot be shown again",
            details={"avatar_id": avatar_id},
        )
    await repo.clear_current(user_id)
    avatar.is_current = True
    await session.flush()
    UserRepository(session).audit(
        user_id=user_id, actor=actor, action="avatar_restored", details={"avatar_id": avatar_id}, reason=reason
    )
    # Going back to an avatar can happen many times: each is a fact of its own.
    await _publish(session, _updated(avatar, at=datetime.now(UTC)), event_id=uuid.uuid4())
    return AvatarOut.model_validate(avatar)


async def remove_current_avatar(
    session: AsyncSession, storage: ObjectStorage, *, user_id: int, actor: str, reason: str | None
) -> int:
    """Delete the learner's current avatar, its row and its three objects; afterwards no avatar is
    current (going back to an earlier one is the learner's choice). Returns its id. Raises
    LearnerNotFoundError, AvatarNotFoundError (no current avatar), DependencyUnavailableError (S3 down:
    the row stays)."""
    repo = AvatarRepository(session)
    await _require_learner(repo, user_id, lock=True)
    avatar = await repo.current(user_id, for_update=True)
    if avatar is None:
        raise AvatarNotFoundError(f"learner {user_id} has no current avatar")
    avatar_id = avatar.id
    await session.delete(avatar)
    await session.flush()
    UserRepository(session).audit(
        user_id=user_id, actor=actor, action="avatar_removed", details={"avatar_id": avatar_id}, reason=reason
    )
    removed = AvatarRemovedV1(user_id=user_id, avatar_id=avatar_id, removed_at=datetime.now(UTC))
    await _publish(session, removed, event_id=_event_id("removed", avatar_id))
    try:
        for key in avatar_keys(user_id, avatar_id).all:
            await storage.remove(key)
    except _STORAGE_ERRORS as exc:
        raise DependencyUnavailableError("object storage is unavailable; try again later") from exc
    return avatar_id


async def avatar_image(
    session: AsyncSession, storage: ObjectStorage, *, user_id: int, avatar_id: int | None, size: AvatarSize
) -> tuple[int, bytes]:
    """The WEBP bytes of one of the learner's avatars (`avatar_id`), or of the current one (None), with
    the avatar's id. Raises LearnerNotFoundError, AvatarNotFoundError (no such avatar of this learner, no
    current one, or its object is missing), DependencyUnavailableError (S3 down)."""
    repo = AvatarRepository(session)
    await _require_learner(repo, user_id)
    avatar = await (repo.current(user_id) if avatar_id is None else repo.of_learner(user_id, avatar_id))
    if avatar is None:
        which = "no current avatar" if avatar_id is None else f"no avatar {avatar_id}"
        raise AvatarNotFoundError(f"learner {user_id} has {which}")
    try:
        return avatar.id, await storage.get_bytes(avatar_keys(user_id, avatar.id).of_size(size))
    except ObjectNotFoundError as exc:
        raise AvatarNotFoundError(f"the image of avatar {avatar.id} is missing from the object storage") from exc
    except _STORAGE_ERRORS as exc:
        raise DependencyUnavailableError("object storage is unavailable; try again later") from exc


def record_operator_read(
    session: AsyncSession, *, user_id: int, actor: str, reason: str | None, avatar_id: int | None = None
) -> None:
    """A person looked at a learner's avatars (a photo is personal data): the audit log says who and why
    (`reason`, their ticket). The services' reads (the gateway showing the learner their own, progress's
    transcript) are not recorded."""
    details: dict[str, object] = {} if avatar_id is None else {"avatar_id": avatar_id}
    UserRepository(session).audit(user_id=user_id, actor=actor, action="avatars_read", details=details, reason=reason)


async def erase_avatars(session: AsyncSession, storage: ObjectStorage, user_id: int) -> int:
    """Erase everything of the learner's avatars (issue 10, erasure): every row, then every object under
    `avatars/<user_id>/` (orphans of failed uploads included). Returns how many avatars (rows) there were.

    Rows first (flushed in the caller's transaction), objects second, before the caller commits: when S3
    fails, DependencyUnavailableError (503) and the caller's transaction rolls back with the rows in it;
    when the commit fails after the objects went, the rows name missing objects (their images answer 404)
    and erasing again finishes, missing objects being no error. Publishes and audits nothing: the erasure
    that calls it does, once for the whole learner. The learner's row, while it is there, is locked first:
    an upload of theirs that has put its objects but not committed its row is waited for (and erased), a
    later one finds no learner.
    """
    repo = AvatarRepository(session)
    await repo.learner_exists(user_id, lock=True)
    removed = await repo.delete_all(user_id)
    await session.flush()
    try:
        await storage.remove_prefix(learner_prefix(user_id))
    except _STORAGE_ERRORS as exc:
        raise DependencyUnavailableError("object storage is unavailable; try again later") from exc
    return len(removed)


async def avatar_history(session: AsyncSession, user_id: int) -> list[AvatarOut]:
    """The learner's avatars, newest first, as the API lists them (for the data export: ids, types,
    sizes and dates, no image data). Empty for a learner without avatars, or an unknown one."""
    return [AvatarOut.model_validate(avatar) for avatar in await AvatarRepository(session).history(user_id)]


async def _require_learner(repo: AvatarRepository, user_id: int, *, lock: bool = False) -> None:
    if not await repo.learner_exists(user_id, lock=lock):
        raise LearnerNotFoundError(user_id, f"learner {user_id} not found")


def _updated(avatar: UserAvatar, *, at: datetime) -> AvatarUpdatedV1:
    return AvatarUpdatedV1(
        user_id=avatar.user_id,
        avatar_id=avatar.id,
        object_key=avatar.object_key,
        content_type=avatar.content_type,
        width=avatar.width,
        height=avatar.height,
        updated_at=at.astimezone(UTC),
    )


def _event_id(fact: str, avatar_id: int) -> uuid.UUID:
    return uuid.uuid5(_EVENT_NAMESPACE, f"{fact}:{avatar_id}")


async def _publish(session: AsyncSession, event: EventData, *, event_id: uuid.UUID) -> None:
    await messaging.publish(session, event, event_id=event_id, occurred_at=event.occurred_at())
    await session.flush()
