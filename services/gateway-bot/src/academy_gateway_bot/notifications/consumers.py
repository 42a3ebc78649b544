"""Events a learner should hear about, turned into Telegram messages through the one sender."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from academy_contracts.billing import BalanceChangedV1, BalanceLowV1, PaymentFailedV1, PurchaseRefundedV1
from academy_contracts.gamification import AchievementUnlockedV1, PointsAwardedV1
from academy_contracts.progress import CourseCompletedV1, CourseEnrolledV1, LearnerInactiveV1
from academy_contracts.users import ProfileUpdatedV2, UserRegisteredV2
from academy_runtime.consumer import Consumer, EventContext
from academy_runtime.errors import NotFoundError
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from academy_gateway_bot import keyboards
from academy_gateway_bot.bot import bot_runtime
from academy_gateway_bot.clients import ServiceClients
from academy_gateway_bot.i18n import _, current_locale, use_locale
from academy_gateway_bot.learners import LearnerRepository, find_learner
from academy_gateway_bot.models import Learner, NotificationLog
from academy_gateway_bot.notifications.sender import LearnerUnreachableError
from academy_gateway_bot.screens import course_title, escape, format_coins, format_money

log = logging.getLogger(__name__)

learner_directory = Consumer("learner-directory")
notifications = Consumer("notifications")


@learner_directory.on(UserRegisteredV2)
async def remember_registered_learner(ctx: EventContext, event: UserRegisteredV2) -> None:
    """v2, not v1: it carries the users `revision`, so a registration delivered after a later profile
    change is recognised as older and changes nothing (users publishes both during the transition)."""
    await LearnerRepository(ctx.session).remember(
        user_id=event.user_id,
        telegram_id=event.telegram_id,
        locale=event.locale,
        time_zone=event.time_zone,
        revision=event.revision,
    )


@learner_directory.on(ProfileUpdatedV2)
async def remember_updated_learner(ctx: EventContext, event: ProfileUpdatedV2) -> None:
    await LearnerRepository(ctx.session).remember(
        user_id=event.user_id,
        telegram_id=event.telegram_id,
        locale=event.locale,
        time_zone=event.time_zone,
        revision=event.revision,
    )


# Points a learner hears about: one short line for a course or an achievement, nothing per lesson
# (the lesson screen already shows progress; a message per lesson would be noise).
_QUIET_POINTS_REASONS = frozenset({"lesson_completed"})


@notifications.on(PointsAwardedV1)
async def notify_points_awarded(ctx: EventContext, event: PointsAwardedV1) -> None:
    if event.reason in _QUIET_POINTS_REASONS:
        return
    key = "points-awarded-welcome" if event.reason == "welcome" else "points-awarded-other"
    await notify(
        ctx, event.user_id, kind=f"points.{event.reason}", text_key=key, points=event.points, total=event.total_points
    )


@notifications.on(AchievementUnlockedV1)
async def notify_achievement_unlocked(ctx: EventContext, event: AchievementUnlockedV1) -> None:
    clients = bot_runtime(ctx.resources).clients

    async def render() -> Rendered:
        locale = current_locale()
        title, description = event.title, ""
        if locale != "ru":  # the event carries the Russian title; the rule table has the others
            achievements = await clients.gamification.get(f"/internal/learners/{event.user_id}/achievements")
            rule = next((a for a in achievements["items"] if a["achievement_id"] == event.achievement_id), None)
            if rule is not None:
                title = rule.get("title_en") or title
                description = rule.get("description_en") or ""
        text = _("notify-achievement", title=escape(title))
        if description:
            text += "\n" + _("notify-achievement-description", description=escape(description))
        return text, keyboards.achievement_unlocked()

    # Keyed by the achievement, not the event: the same unlock told twice is said once.
    await deliver(ctx, event.user_id, kind=f"achievement:{event.achievement_id}", render=render, once=True)


@notifications.on(CourseCompletedV1)
async def notify_course_completed(ctx: EventContext, event: CourseCompletedV1) -> None:
    clients = bot_runtime(ctx.resources).clients

    async def render() -> Rendered:
        enrolled = await clients.progress.get(f"/internal/learners/{event.user_id}/courses")
        course = await _catalog_course(clients, event.course_id)
        if course is not None:
            title = course_title(course)
        else:  # archived since: progress still knows its title
            known = next((c for c in enrolled if c["course_id"] == event.course_id), {"course_id": event.course_id})
            title = course_title(known)
        suggestion = await _next_course(clients, event, {c["course_id"] for c in enrolled})
        text = _("notify-course-completed", title=escape(title))
        if suggestion is not None:
            text += "\n\n" + _("notify-next-course", title=escape(course_title(suggestion)))
        return text, keyboards.course_completed(suggestion)

    await deliver(ctx, event.user_id, kind=f"course_completed:{event.course_id}", render=render, once=True)


async def _catalog_course(clients: ServiceClients, course_id: int) -> dict[str, Any] | None:
    try:
        course: dict[str, Any] = await clients.catalog.get(f"/internal/courses/{course_id}")
    except NotFoundError:
        return None
    return course


async def _next_course(clients: ServiceClients, event: CourseCompletedV1, enrolled: set[int]) -> dict[str, Any] | None:
    """What to learn next: the course of the month, else another course of the same category, never
    one the learner already has."""
    try:
        top: dict[str, Any] | None = await clients.catalog.get("/internal/courses/top")
    except NotFoundError:
        top = None
    if top is not None and top["id"] not in enrolled:
        return top
    listing = await clients.catalog.get(
        "/internal/courses", params={"category": event.category, "page": 1, "page_size": _SUGGESTION_CANDIDATES}
    )
    return next((c for c in listing["items"] if c["id"] not in enrolled), None)


_SUGGESTION_CANDIDATES = 20


@notifications.on(LearnerInactiveV1)
async def remind_inactive_learner(ctx: EventContext, event: LearnerInactiveV1) -> None:
    clients = bot_runtime(ctx.resources).clients

    async def render() -> Rendered:
        courses = await clients.progress.get(f"/internal/learners/{event.user_id}/courses")
        unfinished = sorted((c for c in courses if not c["is_completed"]), key=lambda c: c["enrolled_at"], reverse=True)
        hint = "\n\n" + _("notify-opt-out-hint")
        if not unfinished:
            return _("notify-inactive-general", days=event.inactive_days) + hint, (
                keyboards.inactivity_reminder(None, None)
            )
        course = unfinished[0]
        state = await clients.progress.get(f"/internal/learners/{event.user_id}/courses/{course['course_id']}")
        text = _(
            "notify-inactive",
            days=event.inactive_days,
            title=escape(course_title(course)),
            left=max(0, course["total_lessons"] - course["completed_lessons"]),
        )
        markup = keyboards.inactivity_reminder(course["course_id"], _lesson_to_continue(state))
        return text + hint, markup

    # One reminder per inactivity period, whichever event brings it.
    await deliver(ctx, event.user_id, kind=f"inactive:{event.period_start.isoformat()}", render=render, once=True)


def _lesson_to_continue(state: dict[str, Any]) -> dict[str, Any] | None:
    lessons = state.get("lessons") or []
    next_id = state.get("next_lesson_id")
    if next_id is not None:
        return next((lesson for lesson in lessons if lesson["lesson_id"] == next_id), None)
    return next((lesson for lesson in lessons if lesson["accessible"] and not lesson["completed"]), None)


# -- money ---------------------------------------------------------------------------------------------


@notifications.on(CourseEnrolledV1)
async def notify_course_opened(ctx: EventContext, event: CourseEnrolledV1) -> None:
    """A bought course is open (progress enrolled on billing's purchase): «Курс «…» открыт» and its
    first lesson. Free enrolments are answered by the enrol button itself."""
    if event.source != "purchase":
        return
    clients = bot_runtime(ctx.resources).clients

    async def render() -> Rendered:
        state = await clients.progress.get(f"/internal/learners/{event.user_id}/courses/{event.course_id}")
        course = await _catalog_course(clients, event.course_id)
        title = course_title(course or state)
        started = any(lesson.get("completed") for lesson in state.get("lessons", []))
        key = "notify-course-reopened" if started else "notify-course-opened"  # bought again after a refund
        text = _(key, title=escape(title))
        return text, keyboards.course_opened(event.course_id, _lesson_to_continue(state))

    opened = event.purchase_id or event.enrollment_id
    await deliver(ctx, event.user_id, kind=f"course_open:{event.course_id}:{opened}", render=render, once=True)


# Reasons of balance changes the learner made in the chat a moment ago (and saw the result there).
_QUIET_BALANCE_REASONS = frozenset({"course_purchase"})
_BALANCE_TEXTS = {
    "top_up": "notify-balance-top-up",
    "achievement_reward": "notify-balance-achievement-reward",
}


@notifications.on(BalanceChangedV1)
async def notify_balance_changed(ctx: EventContext, event: BalanceChangedV1) -> None:
    """Coins the learner did not just move themselves: a top-up credited (YooKassa), a refund, a reward,
    an operator's adjustment. A purchase, and a Stars top-up (answered in the chat), are not told."""
    if event.reason in _QUIET_BALANCE_REASONS:
        return
    clients = bot_runtime(ctx.resources).clients
    if event.reason == "top_up" and await _paid_in_chat(clients, event):
        return
    if event.reason in _BALANCE_TEXTS:
        key = _BALANCE_TEXTS[event.reason]
    elif event.reason == "refund":
        key = "notify-balance-refund" if event.delta > 0 else "notify-balance-refund-debit"
    else:
        key = "notify-balance-credit" if event.delta > 0 else "notify-balance-debit"

    async def render() -> Rendered:
        delta = format_coins(event.delta).replace("-", "−")
        text = _(key, delta=delta, balance=format_coins(event.balance))
        return text, keyboards.balance_notification()

    await deliver(ctx, event.user_id, kind=f"balance:{event.transaction_id}", render=render, once=True)


async def _paid_in_chat(clients: ServiceClients, event: BalanceChangedV1) -> bool:
    """Whether this top-up was paid in Telegram Stars: the successful-payment reply already said it."""
    try:
        transaction = await clients.billing.get(
            f"/internal/wallets/{event.user_id}/transactions/{event.transaction_id}"
        )
    except NotFoundError:
        return False
    payment_id = transaction.get("payment_id")
    if payment_id is None:
        return False
    try:
        payment = await clients.billing.get(f"/internal/learners/{event.user_id}/payments/{payment_id}")
    except NotFoundError:
        return False
    method = payment.get("payment_method") or payment.get("provider")
    return bool(method == "telegram_stars")


@notifications.on(BalanceLowV1)
async def notify_balance_low(ctx: EventContext, event: BalanceLowV1) -> None:
    async def render() -> Rendered:
        text = _("notify-balance-low", balance=format_coins(event.balance))
        return text, keyboards.balance_notification(top_up=True)

    await deliver(ctx, event.user_id, kind="balance_low", render=render)


@notifications.on(PurchaseRefundedV1)
async def notify_purchase_refunded(ctx: EventContext, event: PurchaseRefundedV1) -> None:
    """An operator reversed a purchase: the money is back and the course closed. (A purchase refunded
    because the learner already owned the course was explained in the chat when they paid.)"""
    if event.reason == "already_owned":
        return
    clients = bot_runtime(ctx.resources).clients

    async def render() -> Rendered:
        course = await _catalog_course(clients, event.course_id)
        if course is None:  # archived since: progress still knows its title
            enrolled = await clients.progress.get(f"/internal/learners/{event.user_id}/courses")
            course = next((c for c in enrolled if c["course_id"] == event.course_id), {"course_id": event.course_id})
        if event.payment_id is None:
            returned = _("notify-returned-coins")
        elif event.amount.currency == "XTR":
            returned = _("notify-returned-stars", amount=int(event.amount.amount))
        else:
            amount = format_money(event.amount.amount, event.amount.currency)
            returned = _("notify-returned-money", amount=amount)
        text = _("notify-purchase-refunded", title=escape(course_title(course)), returned=returned)
        return text, keyboards.balance_notification()

    await deliver(ctx, event.user_id, kind=f"purchase_refunded:{event.purchase_id}", render=render, once=True)


@notifications.on(PaymentFailedV1)
async def notify_payment_failed(ctx: EventContext, event: PaymentFailedV1) -> None:
    """A YooKassa top-up was cancelled (declined card, expired confirmation): nothing was charged.
    Stars payments never fail this way: Telegram takes them only after our pre-checkout approval."""
    if event.provider != "yookassa":
        return

    async def render() -> Rendered:
        amount = format_money(event.amount.amount, event.amount.currency)
        return _("notify-payment-failed", amount=amount), keyboards.balance_notification(top_up=True)

    await deliver(ctx, event.user_id, kind=f"payment_failed:{event.payment_id}", render=render, once=True)


Rendered = tuple[str, InlineKeyboardMarkup | None]
Render = Callable[[], Awaitable[Rendered]]


async def notify(
    ctx: EventContext,
    user_id: int,
    *,
    kind: str,
    text_key: str,
    reply_markup: Callable[[], InlineKeyboardMarkup] | None = None,
    **values: object,
) -> None:
    """Send one message (`text_key` with `values`, and an optional keyboard) for one event."""

    async def render() -> Rendered:
        return _(text_key, **values), reply_markup() if reply_markup else None

    await deliver(ctx, user_id, kind=kind, render=render)


async def deliver(ctx: EventContext, user_id: int, *, kind: str, render: Render, once: bool = False) -> None:
    """Send one notification for one event (the inbox makes a redelivery a no-op) and log it.

    `once`: `kind` names the fact (an achievement, a course completed), and a learner already told
    about it is not told again, even when another event brings the same fact.
    """
    runtime = bot_runtime(ctx.resources)
    learner = await find_learner(ctx.session, runtime.clients, user_id)
    if once:
        # Two events with the same fact may be handled at the same moment: the second waits for the
        # first's transaction (lock held until commit), then finds it in the log.
        await ctx.session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(f"notify:{user_id}:{kind}", 0)))
        )
        if await _already_told(ctx.session, user_id, kind):
            return
    # Everything that can fail (other services) happens before sending: a retry never sends twice.
    with use_locale(learner.locale):
        text, markup = await render()
    if not learner.notifications_enabled or learner.blocked_at is not None:
        await _log(ctx.session, ctx, learner, kind, text, status="skipped")
        return
    try:
        message = await runtime.sender.send_message(learner.telegram_id, text, reply_markup=markup)
    except LearnerUnreachableError as exc:
        await LearnerRepository(ctx.session).mark_blocked(user_id)
        await _log(ctx.session, ctx, learner, kind, text, status="blocked", error=str(exc))
        return
    except TelegramBadRequest as exc:
        # "chat not found": the learner registered elsewhere and never opened the bot. Retrying
        # cannot help; the log keeps what they would have been told.
        if "chat not found" not in str(exc).lower():
            raise
        await _log(ctx.session, ctx, learner, kind, text, status="failed", error=str(exc))
        return
    await _log(ctx.session, ctx, learner, kind, text, status="sent", message_id=message.message_id)


async def _already_told(session: AsyncSession, user_id: int, kind: str) -> bool:
    told = await session.execute(
        select(NotificationLog.id)
        .where(NotificationLog.user_id == user_id, NotificationLog.kind == kind, NotificationLog.status == "sent")
        .limit(1)
    )
    return told.first() is not None


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
