"""The learner's transcript (roadmap UserTranscript): completed courses with dates and hours, as a PDF in S3.

The PDF is rendered again only when what it shows changed: its content (courses, dates, hours, name,
time zone, language, layout version) is hashed, the hash names the object
(`transcripts/<user>/<hash>.pdf`) and is kept in `user_transcripts.transcript_data`; an unchanged
transcript hands out a fresh link to the stored PDF. The language is part of the hash, so a Russian
PDF is never handed out for an English request (the row remembers the latest rendition only:
switching languages renders again). Upload first, then the row: a failed commit leaves an orphan
object that the next request overwrites with the same bytes, never a row pointing at nothing (and an
erasure deletes every object under the learner's prefix, orphans included: `learners.erasure`).

The learner's current avatar (issue 10) is drawn in the corner when they have one: asked of the users
service on every request (`transcript_avatar`), its hash is part of the content, so a new avatar renders
the PDF again. No avatar, users unreachable, or an answer that is not a small WEBP image: the transcript is
produced without it.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from academy_runtime.errors import DependencyUnavailableError, NotFoundError
from academy_runtime.storage import ObjectStorage
from miniopy_async.error import MinioException
from reportlab.lib.utils import ImageReader
from sqlalchemy.ext.asyncio import AsyncSession

from academy_progress import metrics
from academy_progress.clients import AvatarRefusedError, UsersClient
from academy_progress.models import DEFAULT_TIMEZONE
from academy_progress.reminders.schemas import is_known_timezone
from academy_progress.settings import ProgressSettings
from academy_progress.transcripts.pdf import RENDERER_VERSION, render_transcript_pdf
from academy_progress.transcripts.repository import TranscriptRepository
from academy_progress.transcripts.schemas import TranscriptCourse, TranscriptOut
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


def _digest(content: dict[str, Any]) -> str:
    canonical = json.dumps({"renderer": RENDERER_VERSION, **content}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


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

    `language` is a language tag (`en`, `en-GB`, `ru`...): English for `en`, else Russian. `avatar`: the
    learner's picture to draw (`transcript_avatar`), or None for a transcript without one.
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
        # The picture's hash, not the picture: another avatar is another PDF.
        "avatar": hashlib.sha256(avatar).hexdigest() if avatar else None,
    }
    digest = _digest(content)
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
            data = {**content, "digest": digest, "generated_at": generated_at.isoformat()}
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
