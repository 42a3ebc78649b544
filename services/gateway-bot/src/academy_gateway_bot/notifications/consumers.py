"""Events a learner should hear about, turned into Telegram messages: rendered here and queued for the learner's
chat in the event's transaction; the delivery job (`notifications.delivery`) sends each chat's queue in order,
within Telegram's limits.

One message per fact, with its reason, in an order that makes sense. Events of one learner arrive in
any order (several producers, handlers running side by side, retries coming back later), so the order
is not left to arrival: a notification waits for its turn (`wait_for_turn`, the handler's `turn`, before its
transaction) until what it follows has been handled (queued: the chat's queue keeps that order) —

- gamification's `points_awarded.v2` and `achievement_unlocked.v2` of a learner form a chain (each
  names the one before it in `follows_event_id`), handled strictly in that order, the quiet ones too
  (points for a lesson, an achievement's points, told in the achievement's message), so that nothing
  overtakes through them;
- points for a course come after the congratulation on that course (`course_completed:<id>` in the log);
- an achievement's coins (billing's reward) come after the achievement's message (`achievement:<id>`).

The wait is bounded: a predecessor that never arrives (dead-lettered, or published before this queue
was bound to it) delays what follows it by a few retries, never silences it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from academy_contracts.billing import BalanceChangedV1, BalanceLowV1, PaymentFailedV1, PurchaseRefundedV1
from academy_contracts.gamification import AchievementUnlockedV2, Level, PointsAwardedFor, PointsAwardedV2
from academy_contracts.progress import CourseCompletedV2, CourseEnrolledV1, LearnerInactiveV1
from academy_contracts.users import ProfileUpdatedV3, UserErasedV2, UserRegisteredV3
from academy_runtime.after_commit import run_after_commit
from academy_runtime.client import RejectedCallError
from academy_runtime.consumer import Consumer, EventContext, TurnContext
from academy_runtime.db import autocommit_session
from academy_runtime.errors import NotFoundError
from aiogram.types import InlineKeyboardMarkup

from academy_gateway_bot import keyboards
from academy_gateway_bot.clients import ServiceClients
from academy_gateway_bot.erasure import forget_erased_learner
from academy_gateway_bot.i18n import _, current_locale, use_locale
from academy_gateway_bot.learners import LearnerErasedError, LearnerRepository, find_learner
from academy_gateway_bot.notifications.repository import NotificationRepository
from academy_gateway_bot.runtime import bot_runtime
from academy_gateway_bot.screens import course_title, escape, format_coins, format_money

log = logging.getLogger(__name__)

learner_directory = Consumer("learner-directory")
# Most of its handlers wait for their turn a while (a learner's facts in order), holding no connection: with
# the default 32 places, the waiting ones kept the events they wait for, and everyone else's, in the queue.
notifications = Consumer("notifications", prefetch=128)


@learner_directory.on(UserRegisteredV3)
async def remember_registered_learner(ctx: EventContext, event: UserRegisteredV3) -> None:
    """v3 (users publishes only v3 from issue 10 on): it carries the users `revision`, so a registration
    delivered after a later profile change is recognised as older and changes nothing; one delivered
    after the learner's erasure changes nothing either. Its display name is not kept: the projection
    reaches learners, it does not name them."""
    await LearnerRepository(ctx.session).remember(
        user_id=event.user_id,
        telegram_id=event.telegram_id,
        locale=event.locale,
        time_zone=event.time_zone,
        revision=event.revision,
    )


@learner_directory.on(ProfileUpdatedV3)
async def remember_updated_learner(ctx: EventContext, event: ProfileUpdatedV3) -> None:
    """The same revision rule as the registration (v3 revisions may skip numbers: a change of the phone
    alone is not published)."""
    await LearnerRepository(ctx.session).remember(
        user_id=event.user_id,
        telegram_id=event.telegram_id,
        locale=event.locale,
        time_zone=event.time_zone,
        revision=event.revision,
    )


@learner_directory.on(UserErasedV2)
async def forget_erased(ctx: EventContext, event: UserErasedV2) -> None:
    """The learner was erased (by the bot's own flow, which has forgotten them already, or elsewhere):
    their rows, their chat's conversation and every Redis key of theirs go, a tombstone of the id stays."""
    settings = ctx.resources.settings
    await forget_erased_learner(
        ctx.session, ctx.resources.redis, settings.redis_prefix, event.user_id, erased_at=event.erased_at
    )


# -- points, achievements, levels, completed courses ---------------------------------------------------

# What each reason's points are told as. Points for a lesson are told only when they reach a new level
# (the lesson screen shows progress; a message per lesson would be noise); an achievement's points are
# told in the achievement's own message.
_POINTS_TEXTS = {
    "welcome": "points-for-welcome",
    "course_completed": "points-for-course",
    "lesson_completed": "points-for-lesson",
    "streak": "points-for-streak",
}


def _points_course(event: PointsAwardedV2) -> PointsAwardedFor | None:
    return event.awarded_for if event.reason == "course_completed" else None


async def points_turn(ctx: TurnContext, event: PointsAwardedV2) -> None:
    """After the award before it (`follows_event_id`), and a course's points after its congratulation."""
    course = _points_course(event)
    after = [f"course_completed:{course.id}"] if course is not None else []
    await wait_for_turn(ctx, event.user_id, follows_event_id=event.follows_event_id, after_kinds=after)


@notifications.on(PointsAwardedV2, turn=points_turn)
async def notify_points_awarded(ctx: EventContext, event: PointsAwardedV2) -> None:
    """«⭐ +100 баллов за курс «…». Всего баллов: 180.» and, when these points reached a new level,
    «🎖 Новый уровень: 2 — «Ученик»!» in the same message."""
    course = _points_course(event)
    reached = _level_reached(event.level_before, event.level_after)
    if event.reason == "achievement" or (event.reason == "lesson_completed" and reached is None):
        return
    key = _POINTS_TEXTS.get(event.reason, "points-for-other")
    if event.reason == "course_completed" and course is None:  # the producer did not name the course
        key = "points-for-other"

    async def render() -> Rendered:
        if course is not None:
            title = course_title({"title": course.title, "course_id": course.id})
            text = _(key, points=event.points, total=event.total_points, title=escape(title))
        else:
            text = _(key, points=event.points, total=event.total_points)
        if reached is not None:
            text += "\n" + _level_line(reached)
        return text, None

    # Keyed by the award (v1 and v2 of one award share it): the same points are told once.
    await deliver(ctx, event.user_id, kind=f"points:{event.award_id}", render=render, once=True)


async def achievement_turn(ctx: TurnContext, event: AchievementUnlockedV2) -> None:
    """After the award before it (`follows_event_id`)."""
    await wait_for_turn(ctx, event.user_id, follows_event_id=event.follows_event_id)


@notifications.on(AchievementUnlockedV2, turn=achievement_turn)
async def notify_achievement_unlocked(ctx: EventContext, event: AchievementUnlockedV2) -> None:
    """«🏆 Новое достижение: …», what it is for, its points and the level they reached: one message
    (its `points_awarded` says nothing of its own). Everything in the learner's language is in the event."""
    reached = _level_reached(event.level_before, event.level_after)

    async def render() -> Rendered:
        russian = current_locale() == "ru"
        title = event.title if russian else event.title_en or event.title
        description = event.description if russian else event.description_en
        lines = [_("notify-achievement", title=escape(title))]
        if description:
            lines.append(_("notify-achievement-description", description=escape(description)))
        if event.award_id is not None:  # null: worth nothing, or its points were given before
            lines.append(
                _("points-for-achievement", points=event.points, total=event.total_points, title=escape(title))
            )
        if reached is not None:
            lines.append(_level_line(reached))
        return "\n".join(lines), keyboards.achievement_unlocked()

    # Keyed by the achievement, not the event: the same unlock told twice is said once.
    await deliver(ctx, event.user_id, kind=f"achievement:{event.achievement_id}", render=render, once=True)


def _level_reached(before: Level, after: Level) -> Level | None:
    return after if after.level > before.level else None


def _level_line(level: Level) -> str:
    title = level.title if current_locale() == "ru" else level.title_en
    return _("points-level-reached", level=level.level, title=escape(title))


@notifications.on(CourseCompletedV2)
async def notify_course_completed(ctx: EventContext, event: CourseCompletedV2) -> None:
    """«Поздравляем! Вы прошли курс «…»» with the course to take next. The title comes in the event; the
    suggestion cannot (it depends on the catalog and on what the learner holds by now), so it is asked for."""
    clients = bot_runtime(ctx.resources).clients

    async def render() -> Rendered:
        enrolled = await clients.progress.get(f"/internal/learners/{event.user_id}/courses")
        suggestion = await _next_course(clients, event, {c["course_id"] for c in enrolled})
        text = _("notify-course-completed", title=escape(event.course_title))
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


async def _next_course(clients: ServiceClients, event: CourseCompletedV2, enrolled: set[int]) -> dict[str, Any] | None:
    """What to learn next: the course of the month, else another course of the same category, never
    one the learner already has."""
    try:
        top: dict[str, Any] | None = await clients.catalog.get("/internal/courses/top")
    except NotFoundError:
        top = None
    if top is not None and top["id"] not in enrolled:
        return top
    try:
        listing = await clients.catalog.get(
            "/internal/courses", params={"category": event.category, "page": 1, "page_size": _SUGGESTION_CANDIDATES}
        )
    except RejectedCallError:
        # A category the catalog does not know (any more): no suggestion, but the congratulation is still told.
        # Raising here retried the event until it was dead-lettered, and the learner never heard of the course.
        log.info("no suggestion: category unknown to the catalog", extra={"category": event.category})
        return None
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


async def balance_turn(ctx: TurnContext, event: BalanceChangedV1) -> None:
    """An achievement's coins after the achievement's own message, not before it: billing credits them as
    soon as the unlock is published, while the achievement's message waits for its turn (behind a course's
    congratulation and points). Told first, they also took the chat's send slot ahead of the congratulation
    (issue 11's bot bench)."""
    if event.reason != "achievement_reward":
        return
    achievement_id = await _rewarded_achievement(bot_runtime(ctx.resources).clients, event)
    if achievement_id is not None:
        await wait_for_turn(ctx, event.user_id, after_kinds=[f"achievement:{achievement_id}"])


@notifications.on(BalanceChangedV1, turn=balance_turn)
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


async def _rewarded_achievement(clients: ServiceClients, event: BalanceChangedV1) -> str | None:
    """The achievement a reward transaction is for: billing's `reference` of it, `achievement:<user>:<id>`
    (billing's `reward_achievement_with_coins`); None when the transaction is gone or says otherwise."""
    try:
        transaction = await clients.billing.get(
            f"/internal/wallets/{event.user_id}/transactions/{event.transaction_id}"
        )
    except NotFoundError:
        return None
    kind, _, rest = str(transaction.get("reference") or "").partition(":")
    user, _, achievement_id = rest.partition(":")
    if kind != "achievement" or user != str(event.user_id) or not achievement_id:
        return None
    return achievement_id


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


# -- order ---------------------------------------------------------------------------------------------


class NotTheirTurnYetError(Exception):
    """What this notification comes after has not been handled yet: the runtime retries the event after
    its backoff delay (the transaction, inbox row included, is rolled back)."""


# Predecessors are usually being handled at the same moment (the same prefetch window): one fact (a course
# completed) brings several events from several services at once. A handler only renders and queues (the
# chat's send seconds are waited for by the delivery job), so a predecessor is soon handled; wait for it
# here that long before handing the event back to the retry queues.
_TURN_WAIT_S = 10.0
_TURN_POLL_S = (0.05, 0.5)  # first and longest pause between two looks


async def wait_for_turn(
    ctx: TurnContext, user_id: int, *, follows_event_id: str | None = None, after_kinds: Sequence[str] = ()
) -> None:
    """Return once the event `follows_event_id` has been handled by this consumer and the learner's facts
    `after_kinds` are in the log (told, skipped or failed: their turn has passed).

    Run as the handler's turn (`Consumer.on(..., turn=...)`), before its transaction: each look is one
    statement on a connection given back at once (the first also asks whether the learner was erased), and
    between two looks it holds nothing. An event this process committed lately is known without a look
    (`ctx.handled_here`): with one worker, a chain link's wait for its predecessor costs no statement. A predecessor
    handled by this process wakes it at once (`ctx.next_commit()`); one handled by another process is seen
    at the next look (`_TURN_POLL_S`). When the waits held the event's transaction open, the pool's
    connections filled up with waiting handlers, and every other learner's notifications waited for one
    until those waits gave up (issue 11; `test_notifications_waiting_for_their_turn_hold_up_no_other_learners`).

    Bounded: after `_TURN_WAIT_S` the event goes back to the retry queues; on the attempt before the last
    one it goes on regardless, so a predecessor that never comes delays what follows, never silences it.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _TURN_WAIT_S
    pause, longest_pause = _TURN_POLL_S
    first = True
    while True:
        changed = ctx.next_commit()  # before the look: a commit during it is not missed
        if follows_event_id is not None and ctx.handled_here(follows_event_id):
            follows_event_id = None  # this process committed it: no need to ask the database
        if follows_event_id is None and not after_kinds:
            return
        async with autocommit_session(ctx.resources.sessionmaker) as session:
            # An erased learner: nothing will be told (`deliver` drops it), so nothing to wait for.
            waiting = await NotificationRepository(session).not_handled_yet(
                user_id, after_kinds, follows_event_id=follows_event_id, consumer=ctx.consumer, unless_erased=first
            )
        first = False
        if not waiting:
            return
        if loop.time() >= deadline:
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), timeout=min(pause, max(0.0, deadline - loop.time())))
        pause = min(pause * 2, longest_pause)
    if ctx.attempt < ctx.resources.settings.consumer_max_attempts - 1:
        raise NotTheirTurnYetError(f"learner {user_id}: {', '.join(waiting)} first")
    log.warning(
        "notification told without what it follows",
        extra={"user_id": user_id, "event_id": ctx.event.id, "waiting_for": waiting},
    )


# -- delivery ------------------------------------------------------------------------------------------


async def deliver(ctx: EventContext, user_id: int, *, kind: str, render: Render, once: bool = False) -> None:
    """Queue one notification for one event (the inbox makes a redelivery a no-op) in the log, for the
    delivery job to send (`notifications.delivery`); `skipped` when the learner turned notifications off.

    `once`: `kind` names the fact (an achievement, a course completed), and a learner already told
    about it is not told again, even when another event brings the same fact.
    """
    runtime = bot_runtime(ctx.resources)
    try:
        learner = await find_learner(ctx.session, runtime.clients, user_id)
    except LearnerErasedError:
        log.info("notification of an erased learner dropped", extra={"user_id": user_id, "kind": kind})
        return
    if not await LearnerRepository(ctx.session).hold_for_delivery(user_id):
        log.info("notification of a learner erased meanwhile dropped", extra={"user_id": user_id, "kind": kind})
        return
    log_entries = NotificationRepository(ctx.session)
    if once:
        await log_entries.hold_fact(user_id, kind)
        if await log_entries.was_told(user_id, kind):
            return
    with use_locale(learner.locale):
        text, markup = await render()

    if not learner.notifications_enabled or learner.blocked_at is not None:
        await log_entries.record(learner, kind=kind, event_id=ctx.event.id, text=text, status="skipped")
        return
    # Queued, not sent: the delivery job sends the chat's messages in the order they were queued, each in
    # its chat's next send second, while this handler's place and connection go to the next event.
    reply_markup = markup.model_dump(mode="json", exclude_none=True) if markup is not None else None
    await log_entries.record(
        learner, kind=kind, event_id=ctx.event.id, text=text, status="pending", reply_markup=reply_markup
    )
    run_after_commit(ctx.session, _ring(runtime.notifications_queued))


def _ring(queued: asyncio.Event) -> Callable[[], Awaitable[None]]:
    async def ring() -> None:
        queued.set()

    return ring
