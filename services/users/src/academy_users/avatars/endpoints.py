"""The avatar API (internal): upload, history, go back, delete, the images."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from academy_runtime.auth import Caller, accepts
from academy_runtime.bodylimit import body_limit
from academy_runtime.db import SessionDep
from academy_runtime.dependencies import ResourcesDep
from academy_runtime.errors import error_responses
from academy_runtime.idempotency import idempotency_key_header
from academy_runtime.ids import IntegerId, UserId
from academy_runtime.resources import Resources
from academy_runtime.settings import ServiceSettings, settings_as
from academy_runtime.storage import object_storage
from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from academy_users.accounts.service import LEARNER_REQUEST
from academy_users.avatars import service
from academy_users.avatars.images import ACCEPTED_TYPES, OUTPUT_CONTENT_TYPE
from academy_users.avatars.schemas import AvatarOut, AvatarSize, SetCurrentAvatar
from academy_users.dependencies import AuditReasonHeader, SettingsDep, reason_of
from academy_users.models import messaging
from academy_users.settings import UsersSettings

# The routes in this order: the OpenAPI document lists them so, and the API test sends each operation's
# examples in the document's order (an avatar is uploaded, listed and shown before it is deleted).
router = APIRouter(prefix="/internal/users", tags=["avatars"])

# Who may call (issue 9 §2): the learner acts through the gateway; support operators may look at a
# learner's avatars and delete the current one, saying why (`X-Audit-Reason`, in the audit log with their
# name); progress puts the current small image on the transcript PDF.
AvatarChanger = Annotated[Caller, accepts("gateway-bot")]
"""Setting an avatar and going back to an earlier one: the learner's own choices, through the gateway."""
AvatarRemover = Annotated[Caller, accepts("gateway-bot", roles=("support",))]
"""Deleting the current avatar: the learner (gateway), support operators (an unfit photo)."""
AvatarHistoryReader = Annotated[Caller, accepts("gateway-bot", roles=("support",))]
"""The history and any avatar's image: the gateway (the learner's album), support operators."""
CurrentAvatarReader = Annotated[Caller, accepts("gateway-bot", "progress", roles=("support",))]
"""The current avatar's image: the gateway (the profile), progress (the transcript PDF), support operators."""

IdempotencyKey = Annotated[str | None, Depends(idempotency_key_header)]
LearnerPath = Annotated[UserId, Path(examples=[1])]
AvatarPath = Annotated[IntegerId, Path(description="An avatar of this learner.", examples=[1])]
SizeQuery = Annotated[
    AvatarSize, Query(description="`large`: 512 px square (at most); `small`: 128 px square (at most).")
]


def avatar_max_bytes(settings: ServiceSettings) -> int:
    """AVATAR_MAX_BYTES: the upload route's own body limit (academy_runtime.bodylimit)."""
    return settings_as(settings, UsersSettings).avatar_max_bytes


_BINARY: dict[str, Any] = {"type": "string", "format": "binary"}
_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The image file itself as the body (not a form), with its own Content-Type: a JPEG, PNG "
        "or WEBP of at most `AVATAR_MAX_BYTES` (10 MiB) and `AVATAR_MAX_PIXELS` (40 million pixels).",
        "content": {media_type: {"schema": _BINARY} for media_type in ACCEPTED_TYPES},
    }
}
_IMAGE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "The image: a WEBP square.", "content": {OUTPUT_CONTENT_TYPE: {"schema": _BINARY}}}
}
_LEARNER_OR_AVATAR = "`learner_not_found`: no such learner; `avatar_not_found`: no such avatar of this learner."
_STORAGE_DOWN = "Object storage is unavailable; try again later."


@router.post(
    "/{user_id}/avatars",
    status_code=status.HTTP_201_CREATED,
    response_model=AvatarOut,
    responses=error_responses(
        404,
        415,
        503,
        s404="`learner_not_found`: no such learner.",
        s415="`unsupported_image_type`: the Content-Type, or the file's real format, is not JPEG, PNG or WEBP.",
        s503=_STORAGE_DOWN,
    ),
    openapi_extra=_UPLOAD_BODY,
    dependencies=[body_limit(avatar_max_bytes, setting="AVATAR_MAX_BYTES")],
)
async def upload_avatar(  # noqa: PLR0917 - FastAPI dependencies
    user_id: LearnerPath,
    request: Request,
    session: SessionDep,
    caller: AvatarChanger,
    resources: ResourcesDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey,
) -> AvatarOut:
    """Set the learner's avatar: the raw image as the body with its Content-Type (`image/jpeg`, `image/png`,
    `image/webp`). It becomes the current one; the previous stays in the history. The original is kept as
    sent; the images served are WEBP squares, upright, without metadata (EXIF, GPS). Publishes
    `users.avatar_updated.v1`.

    Refusals: 413 `payload_too_large` (over AVATAR_MAX_BYTES), 415 `unsupported_image_type`, 422
    `not_an_image`, `image_type_mismatch` (the file is not of its declared type), `image_too_many_pixels`
    (over AVATAR_MAX_PIXELS: nothing is decoded). `Idempotency-Key` honoured.
    """
    data = await request.body()
    content_type = request.headers.get("content-type")
    return await messaging.idempotency.run(
        session,
        request,
        key=idempotency_key,
        # The image's digest, not the image: the record stays small and holds no picture of anyone.
        payload={"content_type": content_type, "sha256": hashlib.sha256(data).hexdigest()},
        response_model=AvatarOut,
        action=lambda: service.set_avatar(
            session,
            object_storage(resources),
            user_id=user_id,
            data=data,
            content_type=content_type,
            max_pixels=settings.avatar_max_pixels,
            actor=caller.actor,
            reason=LEARNER_REQUEST,
        ),
        # The stored answer and request digest are about the learner: an erasure deletes them with them.
        subject=f"user/{user_id}",
    )


@router.get(
    "/{user_id}/avatars",
    response_model=list[AvatarOut],
    responses=error_responses(404, s404="`learner_not_found`: no such learner."),
)
async def list_avatars(
    user_id: LearnerPath, session: SessionDep, caller: AvatarHistoryReader, x_audit_reason: AuditReasonHeader = None
) -> list[AvatarOut]:
    """The learner's avatars, newest first (at most one `is_current`; none after the current one was
    deleted). An operator gives `X-Audit-Reason`, and the look is audited."""
    reason = reason_of(caller, x_audit_reason)
    avatars = await service.list_avatars(session, user_id)
    if caller.is_operator:
        service.record_operator_read(session, user_id=user_id, actor=caller.actor, reason=reason)
    return avatars


@router.get(
    "/{user_id}/avatars/{avatar_id}/image",
    response_class=Response,
    responses={**_IMAGE_RESPONSE, **error_responses(404, 503, s404=_LEARNER_OR_AVATAR, s503=_STORAGE_DOWN)},
)
async def avatar_image(  # noqa: PLR0917 - FastAPI dependencies
    user_id: LearnerPath,
    avatar_id: AvatarPath,
    session: SessionDep,
    caller: AvatarHistoryReader,
    resources: ResourcesDep,
    size: SizeQuery = "large",
    x_audit_reason: AuditReasonHeader = None,
) -> Response:
    """One avatar of the learner's history as a WEBP image (`image/webp`). An operator gives
    `X-Audit-Reason`, and the look is audited."""
    return await _image_response(
        session, resources, caller, x_audit_reason, user_id=user_id, avatar_id=avatar_id, size=size
    )


@router.get(
    "/{user_id}/avatar",
    response_class=Response,
    responses={
        **_IMAGE_RESPONSE,
        **error_responses(
            404,
            503,
            s404="`learner_not_found`: no such learner; `avatar_not_found`: the learner has no current avatar.",
            s503=_STORAGE_DOWN,
        ),
    },
)
async def current_avatar_image(  # noqa: PLR0917 - FastAPI dependencies
    user_id: LearnerPath,
    session: SessionDep,
    caller: CurrentAvatarReader,
    resources: ResourcesDep,
    size: SizeQuery = "large",
    x_audit_reason: AuditReasonHeader = None,
) -> Response:
    """The learner's current avatar as a WEBP image (`image/webp`); 404 `avatar_not_found` when they have
    none. Progress puts `size=small` on the transcript PDF. An operator gives `X-Audit-Reason`, and the
    look is audited."""
    return await _image_response(session, resources, caller, x_audit_reason, user_id=user_id, avatar_id=None, size=size)


async def _image_response(
    session: AsyncSession,
    resources: Resources,
    caller: Caller,
    x_audit_reason: str | None,
    *,
    user_id: int,
    avatar_id: int | None,
    size: AvatarSize,
) -> Response:
    """The avatar `avatar_id` (None: the current one) as WEBP; an operator's look is audited with the
    avatar shown. An operator's reason is checked before anything is read (422 `audit_reason_required`
    without one); 404 for no such learner or avatar, 503 when object storage does not answer."""
    reason = reason_of(caller, x_audit_reason)
    shown, image = await service.avatar_image(
        session, object_storage(resources), user_id=user_id, avatar_id=avatar_id, size=size
    )
    if caller.is_operator:
        service.record_operator_read(session, user_id=user_id, actor=caller.actor, reason=reason, avatar_id=shown)
    return Response(content=image, media_type=OUTPUT_CONTENT_TYPE)


@router.put(
    "/{user_id}/avatars/current",
    response_model=AvatarOut,
    responses=error_responses(
        404,
        503,
        s404=_LEARNER_OR_AVATAR + " Also `avatar_not_found` when the avatar's images are gone from the storage.",
        s503=_STORAGE_DOWN,
    ),
)
async def restore_avatar(
    user_id: LearnerPath, command: SetCurrentAvatar, session: SessionDep, caller: AvatarChanger, resources: ResourcesDep
) -> AvatarOut:
    """Go back to an earlier avatar of the learner: it becomes the current one (`users.avatar_updated.v1`).
    Already current: answered as it is, nothing published. An avatar whose images are gone from the
    object storage is refused with 404 `avatar_not_found`."""
    return await service.restore_avatar(
        session,
        object_storage(resources),
        user_id=user_id,
        avatar_id=command.avatar_id,
        actor=caller.actor,
        reason=LEARNER_REQUEST,
    )


@router.delete(
    "/{user_id}/avatars/current",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(
        404,
        503,
        s404="`learner_not_found`: no such learner; `avatar_not_found`: the learner has no current avatar.",
        s503=_STORAGE_DOWN,
    ),
)
async def delete_current_avatar(
    user_id: LearnerPath,
    session: SessionDep,
    caller: AvatarRemover,
    resources: ResourcesDep,
    x_audit_reason: AuditReasonHeader = None,
) -> Response:
    """Delete the learner's current avatar: its row and its images are gone, and no avatar is current
    until they set or go back to one (`users.avatar_removed.v1`). The rest of the history stays. An
    operator gives `X-Audit-Reason` (the deletion is audited with it)."""
    reason = reason_of(caller, x_audit_reason, service_reason=LEARNER_REQUEST)
    await service.remove_current_avatar(
        session, object_storage(resources), user_id=user_id, actor=caller.actor, reason=reason
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
