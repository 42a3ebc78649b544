"""Events a learner should hear about, turned into Telegram messages through the one sender."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from academy_contracts.gamification import PointsAwardedV1
from academy_contracts.users import UserRegisteredV1
from academy_runtime.consumer import Consumer, EventContext
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from academy_gateway_bot.bot import bot_runtime
from academy_gateway_bot.i18n import t
from academy_gateway_bot.learners import find_learner, remember_learner
from academy_gateway_bot.models import Learner, NotificationLog
from academy_gateway_bot.notifications.sender import LearnerUnreachableError

log = logging.getLogger(__name__)

learner_directory = Consumer("learner-directory")
notifications = Consumer("notifications")


@learner_directory.on(UserRegisteredV1)
async def remember_registered_learner(ctx: EventContext, event: UserRegisteredV1) -> None:
    await remember_learner(ctx.session, user_id=event.user_id, telegram_id=event.telegram_id, locale=event.locale)


@notifications.on(PointsAwardedV1)
async def notify_points_awarded(ctx: EventContext, event: PointsAwardedV1) -> None:
    key = "points.awarded.welcome" if event.reason == "welcome" else "points.awarded.other"
    await notify(
        ctx, event.user_id, kind=f"points.{event.reason}", text_key=key, points=event.points, total=event.total_points
    )


async def notify(ctx: EventContext, user_id: int, *, kind: str, text_key: str, **values: object) -> None:
    """Send one notification for one event (the inbox makes a redelivery a no-op) and log it."""
    runtime = bot_runtime(ctx.resources)
    learner = await find_learner(ctx.session, runtime.clients, user_id)
    text = t(text_key, learner.locale, **values)
    if not learner.notifications_enabled or learner.blocked_at is not None:
        await _log(ctx.session, ctx, learner, kind, text, status="skipped")
        return
    try:
        message = await runtime.sender.send_message(learner.telegram_id, text)
    except LearnerUnreachableError as exc:
        await ctx.session.execute(
            update(Learner).where(Learner.user_id == user_id).values(blocked_at=datetime.now(UTC))
        )
        await _log(ctx.session, ctx, learner, kind, text, status="blocked", error=str(exc))
        return
    await _log(ctx.session, ctx, learner, kind, text, status="sent", message_id=message.message_id)


async def _log(
    session: AsyncSession,
    ctx: EventContext,
    learner: Learner,
    kind: str,
    text: str,
    *,
    status: str,
    message_id: int | None = None,
    error: str | None = None,
) -> None:
    await session.execute(
        insert(NotificationLog)
        .values(
            user_id=learner.user_id,
            chat_id=learner.telegram_id,
            kind=kind,
            event_id=ctx.event.id,
            text=text,
            status=status,
            telegram_message_id=message_id,
            error=error,
        )
        .on_conflict_do_nothing()
    )
