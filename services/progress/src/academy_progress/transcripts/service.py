"""The learner's transcript (roadmap UserTranscript): completed courses with dates and hours, as a PDF in S3.

The PDF is rendered again only when what it shows changed: its content (courses, dates, hours, name,
avatar, time zone, language, layout version) is hashed, the hash names the object
(`transcripts/<user>/<hash>.pdf`) and is kept in `user_transcripts.transcript_data`; an unchanged
transcript hands out a fresh link to the stored PDF. The language is part of the hash, so a Russian
PDF is never handed out for an English request (the row remembers the latest rendition only:
switching languages renders again). Upload first, then the row: a failed commit leaves an orphan
object that the next request overwrites with the same bytes, never a row pointing at nothing (and an
erasure deletes every object under the learner's prefix, orphans included: `learners.erasure`).

The learner's full name and current avatar (issue 10) are the users service's: both are asked of it on
every request (`transcript_full_name`, `transcript_avatar`) and drawn on the PDF, which is the learner's
own document in S3; progress's tables never hold them (QA found the name in `transcript_data`). The hash
is keyed (`transcript_digest_key`): it covers the name, so a new name renders the PDF again, yet an
unkeyed hash of a name stored next to the rest of the content could be confirmed by trying names. The
name is required: users unreachable is a 503 to retry, never a certificate without the learner's name. The
avatar is not: no avatar, users unreachable, or an answer that is not a small WEBP image, and the
transcript is produced without it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from academy_runtime.errors import DependencyUnavailableError, LearnerNotFoundError, NotFoundError
from academy_runtime.storage import ObjectStorage
from miniopy_async.error import MinioException, S3Error
from reportlab.lib.utils import ImageReader
from sqlalchemy.ext.asyncio import AsyncSession

from academy_progress import metrics
from academy_progress.clients import AvatarRefusedError, UsersClient
from academy_progress.models import DEFAULT_TIMEZONE
from academy_progress.reminders.schemas import is_known_timezone
from academy_progress.settings import ProgressSettings
from academy_progress.transcripts.pdf import RENDERER_VERSION, render_transcript_pdf
from academy_progress.transcripts.repository import TranscriptRepository
from academy_progress.transcripts.schemas import (
    IssuedTranscript,
    LearnerTranscriptsOut,
    StoredTranscriptFile,
    TranscriptCourse,
    TranscriptOut,
)
from academy_progress.transcripts.texts import resolve_language

log = logging.getLogger(__name__)

PDF_CONTENT_TYPE = "application/pdf"


def transcript_prefix(user_id: int) -> str:
    """Where the learner's transcript PDFs are in the bucket: `transcripts/<user_id>/`."""
    return f"transcripts/{user_id}/"


def _checked_avatar(image: bytes, max_side_px: int) -> bytes:
    """`image` when it is a picture reportlab can draw (through Pillow) of at most `max_side_px` a side;
    AvatarRefusedError otherwise. Only the header is read: a picture of too many pixels is never decoded."""
    try:
        width, height = ImageReader(io.BytesIO(image)).getSize()
    except Exception as exc:  # Pillow's errors for a truncated, unknown or oversized image vary
        raise AvatarRefusedError(f"not an image progress can draw: {type(exc).__name__}") from exc
    if not (0 < width <= max_side_px and 0 < height <= max_side_px):
        raise AvatarRefusedError(f"an avatar of {width}×{height} pixels, more than {max_side_px} a side")
    return image


async def transcript_avatar(users: UsersClient | None, settings: ProgressSettings, user_id: int) -> bytes | None:
    """The learner's current small avatar to draw on their transcript, or None: they have none, the users
    service cannot be reached or fails, or it answered with something that is not a small WEBP picture
    (`AVATAR_MAX_BYTES`, `AVATAR_MAX_SIDE_PX`). Never raises: the transcript is produced either way."""
    if users is None:
        return None
    try:
        image = await users.small_avatar(user_id, max_bytes=settings.avatar_max_bytes)
        if image is not None:
            image = await asyncio.to_thread(_checked_avatar, image, settings.avatar_max_side_px)
    except AvatarRefusedError as exc:
        log.warning("avatar not drawn on the transcript", extra={"user_id": user_id, "reason": str(exc)})
        metrics.TRANSCRIPT_AVATARS.labels("refused").inc()
        return None
    except DependencyUnavailableError as exc:
        log.warning("transcript without the avatar: users unavailable", extra={"user_id": user_id, "error": str(exc)})
        metrics.TRANSCRIPT_AVATARS.labels("unavailable").inc()
        return None
    metrics.TRANSCRIPT_AVATARS.labels("none" if image is None else "embedded").inc()
    return image


async def transcript_full_name(users: UsersClient | None, user_id: int) -> str | None:
    """The learner's full name as the users service holds it now, to print on their transcript; None when
    they gave none. DependencyUnavailableError (503, retry) when users cannot answer: a learning record
    without the learner's name is not one to hand out. LearnerNotFoundError when users no longer knows
    them (an erasure on its way). The name is never logged nor stored by progress."""
    if users is None:
        raise DependencyUnavailableError("the users service is not configured; the transcript needs the name")
    try:
        name = await users.full_name(user_id)
    except DependencyUnavailableError as exc:
        log.warning("transcript refused: users unavailable for the name", extra={"user_id": user_id, "error": str(exc)})
        metrics.TRANSCRIPT_NAMES.labels("unavailable").inc()
        raise DependencyUnavailableError(
            "the users service is unavailable, so the transcript cannot show the learner's name; try again later"
        ) from exc
    except LearnerNotFoundError:
        metrics.TRANSCRIPT_NAMES.labels("unknown").inc()
        raise
    metrics.TRANSCRIPT_NAMES.labels("none" if name is None else "printed").inc()
    return name


# Derived, not the signing key itself: the same secret serves another purpose only through its own label.
_DIGEST_KEY_LABEL = b"academy-progress/transcript-digest/v1"


def transcript_digest_key(settings: ProgressSettings) -> bytes:
    """The key of the transcripts' content hash, derived from this service's signing key (a secret every
    deployment already has, refused when it is a development key outside development). A new signing key
    changes every hash: each transcript is rendered once more, nothing else breaks."""
    secret = settings.signing_key().private_key.private_bytes_raw()
    return hmac.new(secret, _DIGEST_KEY_LABEL, hashlib.sha256).digest()


def _digest(key: bytes, content: dict[str, Any]) -> str:
    canonical = json.dumps({"renderer": RENDERER_VERSION, **content}, sort_keys=True, ensure_ascii=False)
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


# What the row keeps of the content: everything but the learner's values (the name, the avatar's hash, the
# time zone already in `learner_preferences`); the keyed digest stands for them.
_NOT_STORED = frozenset({"full_name", "avatar", "timezone"})


async def issue_transcript(
    session: AsyncSession,
    storage: ObjectStorage,
    settings: ProgressSettings,
    *,
    user_id: int,
    full_name: str | None = None,
    language: str | None = None,
    avatar: bytes | None = None,
    now: datetime | None = None,
) -> TranscriptOut:
    """The learner's transcript PDF (rendered if it changed) and a short-lived link to download it.

    `language` is a language tag (`en`, `en-GB`, `ru`...): English for `en`, else Russian. `full_name`: the
    name to print (`transcript_full_name`), or None for "learner No. <id>". `avatar`: the learner's picture
    to draw (`transcript_avatar`), or None for a transcript without one. Neither is stored: the row keeps
    the courses, the language and the keyed digest.
    """
    repo = TranscriptRepository(session)
    rows = await repo.completed_courses(user_id)
    if not rows:
        raise NotFoundError(f"learner {user_id} has not completed any course yet")
    courses = [TranscriptCourse.model_validate(row) for row in rows]
    time_zone = await repo.time_zone(user_id)
    content: dict[str, Any] = {
        "user_id": user_id,
        "full_name": full_name,
        "language": resolve_language(language),
        "timezone": time_zone if time_zone and is_known_timezone(time_zone) else DEFAULT_TIMEZONE,
        "courses": [course.model_dump(mode="json") for course in courses],
        "total_hours": sum(course.duration_hours or 0 for course in courses),
        # The picture's hash, not the picture: another avatar is another PDF (hashed again, keyed, below).
        "avatar": hashlib.sha256(avatar).hexdigest() if avatar else None,
    }
    digest = _digest(transcript_digest_key(settings), content)
    object_key = f"{transcript_prefix(user_id)}{digest[:32]}.pdf"
    stored = await repo.get(user_id)
    try:
        current = (
            stored is not None
            and stored.object_key == object_key
            and stored.transcript_data.get("digest") == digest
            and await storage.exists(object_key)
        )
        if current:
            assert stored is not None
            generated_at = datetime.fromisoformat(stored.transcript_data["generated_at"])
        else:
            generated_at = now or datetime.now(UTC)
            pdf = await asyncio.to_thread(render_transcript_pdf, content, avatar)
            await storage.put_bytes(object_key, pdf, content_type=PDF_CONTENT_TYPE)
            stored_content = {field: value for field, value in content.items() if field not in _NOT_STORED}
            data = {**stored_content, "digest": digest, "generated_at": generated_at.isoformat()}
            await repo.save(user_id, object_key=object_key, data=data)
            metrics.TRANSCRIPTS_RENDERED.inc()
        url = await storage.presigned_get_url(
            object_key, expires=timedelta(minutes=settings.transcript_url_ttl_minutes)
        )
    except (MinioException, OSError) as exc:
        raise DependencyUnavailableError("object storage is unavailable; try again later") from exc
    return TranscriptOut(
        user_id=user_id,
        courses=courses,
        total_hours=content["total_hours"],
        language=content["language"],
        object_key=object_key,
        download_url=url,
        generated_at=generated_at,
        regenerated=not current,
    )


async def learner_transcripts(session: AsyncSession, storage: ObjectStorage, user_id: int) -> LearnerTranscriptsOut:
    """What progress holds of the learner's transcripts (their export, «Мои данные»): the issued one as
    `user_transcripts` records it, and every PDF under their prefix in S3 (earlier renditions too). Empty
    for a learner with none, or one progress never heard of. DependencyUnavailableError when S3 cannot be
    listed: a list without the files would tell the learner less than is stored."""
    stored = await TranscriptRepository(session).get(user_id)
    issued = []
    if stored is not None:
        data = stored.transcript_data
        language = data.get("language")
        generated_at = data.get("generated_at")
        issued.append(
            IssuedTranscript(
                object_key=stored.object_key,
                language=language if language in {"ru", "en"} else None,
                course_ids=[course["course_id"] for course in data.get("courses", []) if "course_id" in course],
                total_hours=data.get("total_hours"),
                generated_at=datetime.fromisoformat(generated_at) if generated_at else None,
            )
        )
    try:
        files = [
            StoredTranscriptFile(object_key=obj.object_name, size_bytes=obj.size, last_modified=obj.last_modified)
            async for obj in storage.client.list_objects(
                storage.bucket, prefix=transcript_prefix(user_id), recursive=True
            )
            if obj.object_name is not None
        ]
    except S3Error as exc:
        if exc.code != "NoSuchBucket":  # nothing was ever stored
            raise DependencyUnavailableError("object storage is unavailable; try again later") from exc
        files = []
    except (MinioException, OSError) as exc:
        raise DependencyUnavailableError("object storage is unavailable; try again later") from exc
    return LearnerTranscriptsOut(user_id=user_id, transcripts=issued, files=files)
