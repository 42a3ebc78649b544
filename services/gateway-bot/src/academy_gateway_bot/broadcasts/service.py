"""What operators do with broadcasts (issue 12): create, list, read, preview, send or schedule, pause,
resume, cancel. The states:

    draft --send--> scheduled --(its moment)--> sending --(nobody left)--> finished
          --send (now)------------------------> sending
    scheduled | sending --pause--> paused --resume--> scheduled (moment ahead) | sending
    draft | scheduled | sending | paused --cancel--> cancelled (the pending recipients: skipped)

Any other move is a 409 naming the current status. The worker (`broadcasts.delivery`) does the sending.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from academy_runtime.errors import ConflictError, NotFoundError, ValidationFailedError
from aiogram.exceptions import TelegramBadRequest, TelegramNotFound
from sqlalchemy.ext.asyncio import AsyncSession

from academy_gateway_bot.broadcasts import message
from academy_gateway_bot.broadcasts.message import Content
from academy_gateway_bot.broadcasts.repository import BroadcastRepository
from academy_gateway_bot.broadcasts.schemas import (
    BroadcastOut,
    BroadcastPage,
    Button,
    CreateBroadcast,
    Figures,
    PreviewBroadcast,
    PreviewMessage,
    PreviewOut,
)
from academy_gateway_bot.models import Broadcast
from academy_gateway_bot.notifications.sender import LearnerUnreachableError, NotificationSender

_MOVES: dict[str, tuple[str, ...]] = {
    "send": ("draft",),
    "pause": ("scheduled", "sending"),
    "resume": ("paused",),
    "cancel": ("draft", "scheduled", "sending", "paused"),
}


class InvalidTransitionError(ConflictError):
    """The broadcast's status does not allow the move (409 `invalid_transition`, `details.status`)."""

    code = "invalid_transition"


class PreviewUndeliverableError(ValidationFailedError):
    """Telegram would not deliver the preview to that chat (422 `preview_undeliverable`)."""

    code = "preview_undeliverable"


def _out(broadcast: Broadcast, figures: Figures) -> BroadcastOut:
    button = None
    if broadcast.button_url:
        button = Button(
            url=broadcast.button_url, text_ru=broadcast.button_text_ru or "", text_en=broadcast.button_text_en
        )
    return BroadcastOut(
        id=broadcast.id,
        status=broadcast.status,  # the CHECK constraint keeps it within BroadcastStatus
        text_ru=broadcast.text_ru,
        text_en=broadcast.text_en,
        photo=broadcast.photo,
        button=button,
        segment=broadcast.segment,
        scheduled_at=broadcast.scheduled_at,
        created_by=broadcast.created_by,
        created_at=broadcast.created_at,
        started_at=broadcast.started_at,
        resolved_at=broadcast.resolved_at,
        finished_at=broadcast.finished_at,
        figures=figures,
    )


async def _require(session: AsyncSession, broadcast_id: int, *, for_update: bool = False) -> Broadcast:
    broadcast = await BroadcastRepository(session).get(broadcast_id, for_update=for_update)
    if broadcast is None:
        raise NotFoundError(f"no broadcast {broadcast_id}", details={"broadcast_id": broadcast_id})
    return broadcast


async def describe(session: AsyncSession, broadcast: Broadcast) -> BroadcastOut:
    """The broadcast with its figures as they are now."""
    await session.flush()
    await session.refresh(broadcast)
    figures = await BroadcastRepository(session).figures([broadcast.id])
    return _out(broadcast, figures[broadcast.id])


async def create(session: AsyncSession, command: CreateBroadcast, *, operator: str) -> BroadcastOut:
    """A new draft by `operator` (their name)."""
    broadcast = Broadcast(
        text_ru=command.text_ru,
        text_en=command.text_en,
        photo=command.photo,
        button_url=command.button.url if command.button else None,
        button_text_ru=command.button.text_ru if command.button else None,
        button_text_en=command.button.text_en if command.button else None,
        segment=command.segment.model_dump(mode="json"),
        status="draft",
        created_by=operator,
    )
    await BroadcastRepository(session).add(broadcast)
    return await describe(session, broadcast)


async def get(session: AsyncSession, broadcast_id: int) -> BroadcastOut:
    """404 when there is no such broadcast."""
    return await describe(session, await _require(session, broadcast_id))


async def page(session: AsyncSession, *, status: str | None, before_id: int | None, limit: int) -> BroadcastPage:
    """Newest first, `limit` a page, keyset on the id."""
    repository = BroadcastRepository(session)
    rows: Sequence[Broadcast] = await repository.page(status=status, before_id=before_id, limit=limit)
    figures = await repository.figures([row.id for row in rows])
    items = [_out(row, figures[row.id]) for row in rows]
    return BroadcastPage(items=items, next_before_id=rows[-1].id if len(rows) == limit else None)


def _check_move(broadcast: Broadcast, move: str) -> None:
    if broadcast.status not in _MOVES[move]:
        raise InvalidTransitionError(
            f"a {broadcast.status} broadcast cannot {move}; {move} takes a broadcast that is "
            f"{' or '.join(_MOVES[move])}",
            details={"status": broadcast.status},
        )


async def send(session: AsyncSession, broadcast_id: int, *, scheduled_at: datetime | None) -> BroadcastOut:
    """Send a draft now, or at `scheduled_at` (in the past: now)."""
    broadcast = await _require(session, broadcast_id, for_update=True)
    _check_move(broadcast, "send")
    now = datetime.now(UTC)
    if scheduled_at is not None and scheduled_at > now:
        broadcast.status, broadcast.scheduled_at = "scheduled", scheduled_at
    else:
        broadcast.status, broadcast.started_at = "sending", now
    return await describe(session, broadcast)


async def pause(session: AsyncSession, broadcast_id: int) -> BroadcastOut:
    """Stop sending (the sends in flight end; the rest waits) or hold a scheduled one."""
    broadcast = await _require(session, broadcast_id, for_update=True)
    _check_move(broadcast, "pause")
    broadcast.status = "paused"
    return await describe(session, broadcast)


async def resume(session: AsyncSession, broadcast_id: int) -> BroadcastOut:
    """Go on where it stopped: sending, or scheduled when its moment is still ahead."""
    broadcast = await _require(session, broadcast_id, for_update=True)
    _check_move(broadcast, "resume")
    now = datetime.now(UTC)
    if broadcast.scheduled_at is not None and broadcast.scheduled_at > now:
        broadcast.status = "scheduled"
    else:
        broadcast.status = "sending"
        broadcast.started_at = broadcast.started_at or now
    return await describe(session, broadcast)


async def cancel(session: AsyncSession, broadcast_id: int) -> BroadcastOut:
    """End it for good: nobody else gets it (its pending recipients become `skipped`)."""
    broadcast = await _require(session, broadcast_id, for_update=True)
    _check_move(broadcast, "cancel")
    broadcast.status, broadcast.finished_at = "cancelled", datetime.now(UTC)
    await BroadcastRepository(session).skip_pending(broadcast_id)
    return await describe(session, broadcast)


async def preview(
    session: AsyncSession,
    sender: NotificationSender,
    broadcast_id: int,
    command: PreviewBroadcast,
    *,
    operator: str | None,
    preview_chats: dict[str, int],
) -> PreviewOut:
    """Send the broadcast to one chat only — the one given, else the operator's configured one — as learners
    will see it (each variant, or the `locale` asked); no recipient is listed, no figure changes. 422 when
    there is no chat to send to or Telegram refuses it (`preview_undeliverable`)."""
    broadcast = await _require(session, broadcast_id)
    chat_id = command.chat_id or (preview_chats.get(operator) if operator else None)
    if chat_id is None:
        raise ValidationFailedError(
            "give chat_id: no preview chat is configured for you (BROADCAST_PREVIEW_CHATS)",
            details={"field": "chat_id"},
        )
    content = Content.of(broadcast)
    sent: list[PreviewMessage] = []
    for locale in [command.locale] if command.locale else content.variants():
        try:
            result = await message.send(sender, chat_id, content, locale)
        except (LearnerUnreachableError, TelegramBadRequest, TelegramNotFound) as exc:
            raise PreviewUndeliverableError(
                f"Telegram refused the preview for chat {chat_id}: {exc}", details={"chat_id": chat_id}
            ) from exc
        sent.append(PreviewMessage(locale=locale, message_id=result.message_id))
    return PreviewOut(chat_id=chat_id, messages=sent)
