"""Learning: the course card and enrolment, lessons (view and completion), my courses, the transcript.

The course comes from the catalog (texts, video and PDF links, price); what the learner may open and
has done comes from progress, which decides access (enrolled, or a free preview lesson).
"""

from __future__ import annotations

from typing import Any

import httpx
from academy_runtime.client import ServiceCallError
from academy_runtime.errors import DependencyUnavailableError, NotFoundError
from aiogram import Bot, F, Router
from aiogram.enums import ChatAction
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from academy_gateway_bot import keyboards
from academy_gateway_bot.callbacks import CourseCb, LessonCb, MyCoursesCb, RemindersCb
from academy_gateway_bot.clients import ServiceClients
from academy_gateway_bot.context import LearnerCtx
from academy_gateway_bot.i18n import _, button_filter
from academy_gateway_bot.money import course_offer
from academy_gateway_bot.screens import (
    Event,
    answer_callback,
    category_titles,
    course_title,
    escape,
    format_coins,
    format_date,
    format_money,
    format_price,
    is_free,
    not_registered,
    progress_bar,
    show,
)

PAYMENT_REQUIRED = 402
FORBIDDEN = 403
TRANSCRIPT_DOWNLOAD_TIMEOUT_S = 30.0
TRANSCRIPT_FILENAME = "transcript.pdf"


# -- data ------------------------------------------------------------------------------------------


async def catalog_course(clients: ServiceClients, course_id: int) -> dict[str, Any] | None:
    """The published course with its lessons, or None when it is gone (archived, unpublished)."""
    try:
        course: dict[str, Any] = await clients.catalog.get(f"/internal/courses/{course_id}")
    except NotFoundError:
        return None
    return course


async def learner_course(clients: ServiceClients, user_id: int, course_id: int) -> dict[str, Any] | None:
    """Progress's view of the course for this learner (enrolled or not), None when it does not know it."""
    try:
        state: dict[str, Any] = await clients.progress.get(f"/internal/learners/{user_id}/courses/{course_id}")
    except NotFoundError:
        return None
    return state


def lesson_state(state: dict[str, Any] | None, lesson_id: int) -> dict[str, Any] | None:
    if state is None:
        return None
    return next((lesson for lesson in state["lessons"] if lesson["lesson_id"] == lesson_id), None)


def first_open_lesson(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """The lesson to continue with: progress's `next_lesson_id`, else the first lesson not done yet."""
    if state is None:
        return None
    if state.get("next_lesson_id") is not None:
        return lesson_state(state, state["next_lesson_id"])
    return next((lesson for lesson in state["lessons"] if lesson["accessible"] and not lesson["completed"]), None)


def as_listed_lesson(lesson: dict[str, Any]) -> dict[str, Any]:
    """A catalog lesson in the shape progress lists lessons in (what the keyboards take)."""
    return {"lesson_id": lesson["id"], "order": lesson["order"], "title": lesson["title"]}


# -- the course card and enrolment -----------------------------------------------------------------


async def course_button(
    callback: CallbackQuery, callback_data: CourseCb, learner: LearnerCtx | None, clients: ServiceClients
) -> None:
    if learner is None:
        await not_registered(callback)
        return
    edit = not callback_data.fresh
    if callback_data.action == "card":
        await show_course_card(callback, learner, clients, callback_data, edit=edit)
    elif callback_data.action == "lessons":
        await show_lessons(callback, learner, clients, callback_data, edit=edit)
    elif callback_data.action == "continue":
        await continue_course(callback, learner, clients, callback_data.course_id)
    await answer_callback(callback)


async def enrol_button(
    callback: CallbackQuery,
    callback_data: CourseCb,
    learner: LearnerCtx | None,
    clients: ServiceClients,
    idempotency_key: str,
) -> None:
    if learner is None:
        await not_registered(callback)
        return
    course = await catalog_course(clients, callback_data.course_id)
    if course is None:
        await answer_callback(callback, _("course-not-found"), alert=True)
        return
    if not is_free(course):
        # A paid course: its card, with the ways to pay (Stars, coins, a top-up).
        await answer_callback(callback)
        await show_course_card(callback, learner, clients, callback_data, edit=True, course=course)
        return
    try:
        enrolment = await clients.progress.post(
            f"/internal/learners/{learner.user_id}/enrolments",
            json={"course_id": course["id"]},
            idempotency_key=f"{idempotency_key}:enrol",
        )
    except ServiceCallError as exc:
        if exc.status_code != PAYMENT_REQUIRED:  # the price changed since the catalog answered
            raise
        await answer_callback(callback)
        await show_course_card(callback, learner, clients, callback_data, edit=True)
        return
    await answer_callback(callback)
    state = await learner_course(clients, learner.user_id, course["id"])
    await show_course_card(callback, learner, clients, callback_data, edit=True, course=course, state=state)
    key = "course-enrolled" if enrolment["created"] else "course-already-enrolled"
    await show(
        callback,
        _(key, title=escape(course["title"])),
        keyboards.start_course(course["id"], first_open_lesson(state)),
        edit=False,
    )


async def show_course_card(
    event: Event,
    learner: LearnerCtx,
    clients: ServiceClients,
    callback_data: CourseCb,
    *,
    edit: bool,
    course: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
) -> None:
    course = course or await catalog_course(clients, callback_data.course_id)
    if course is None:
        await show(event, _("course-not-found"), edit=edit)
        return
    state = state or await learner_course(clients, learner.user_id, course["id"])
    categories = await category_titles(clients)
    duration = (
        _("course-hours", hours=course["duration_hours"]) if course.get("duration_hours") else _("course-no-duration")
    )
    enrolled = bool(state and state["enrolled"])
    # A paid course not taken yet: billing says what it costs in Stars and coins and what the wallet holds.
    offer = None if enrolled or is_free(course) else await course_offer(clients, learner.user_id, course["id"])
    price = format_price(course)
    if offer is not None and offer.get("stars_price"):
        price = _(
            "money-price-stars", price=format_money(offer["price"], offer["currency"]), stars=offer["stars_price"]
        )
    text = _(
        "course-card",
        title=escape(course["title"]),
        description=escape(course["description"]),
        category=escape(categories.get(course["category"], course["category"])),
        lessons=course["lessons_count"],
        duration=duration,
        price=price,
    )
    free_lessons = [lesson for lesson in course["lessons"] if lesson["is_free"]]
    if free_lessons:
        listed = "\n".join(f"• {lesson['order']}. {escape(lesson['title'])}" for lesson in free_lessons)
        text += "\n\n" + _("course-free-lessons", lessons=listed)
    if state is not None and enrolled:
        text += ("\n\n" + _("course-completed")) if state["is_completed"] else ""
        text += "\n\n" + _("course-your-progress", bar=progress_bar(state["progress_percent"]))
    elif not is_free(course):
        text += offer_text(offer)
    next_lesson = first_open_lesson(state) if enrolled else None
    markup = keyboards.course_card(
        course,
        enrolled=enrolled,
        next_lesson_id=next_lesson["lesson_id"] if next_lesson else None,
        category=callback_data.category,
        page=callback_data.page,
        offer=offer,
    )
    await show(event, text, markup, edit=edit)


def offer_text(offer: dict[str, Any] | None) -> str:
    """Under a paid card: the wallet and what is missing, or why it cannot be bought right now."""
    if offer is None:
        return "\n\n" + _("money-card-unavailable")
    if offer.get("owned"):
        return "\n\n" + _("money-card-owned")
    if not offer.get("on_sale"):
        return "\n\n" + _("money-card-not-on-sale")
    text = "\n\n" + _("money-card-balance", coins=format_coins(int(offer["balance"])))
    if int(offer.get("missing_coins") or 0) > 0:
        text += "\n" + _("money-card-missing", missing=format_coins(int(offer["missing_coins"]), case="gen"))
    return text


# -- lessons ---------------------------------------------------------------------------------------


async def show_lessons(
    event: Event, learner: LearnerCtx, clients: ServiceClients, callback_data: CourseCb, *, edit: bool
) -> None:
    state = await learner_course(clients, learner.user_id, callback_data.course_id)
    if state is None:
        await show(event, _("course-not-found"), edit=edit)
        return
    text = _(
        "lessons-title",
        title=escape(course_title(state)),
        done=state["completed_lessons"],
        total=state["total_lessons"],
        bar=progress_bar(state["progress_percent"]),
    )
    markup = keyboards.lesson_list(
        callback_data.course_id,
        sorted(state["lessons"], key=lambda lesson: lesson["order"]),
        category=callback_data.category,
        page=callback_data.page,
    )
    await show(event, text, markup, edit=edit)


async def continue_course(event: Event, learner: LearnerCtx, clients: ServiceClients, course_id: int) -> None:
    """The next lesson as a new message; the lesson list when every lesson is done."""
    state = await learner_course(clients, learner.user_id, course_id)
    lesson = first_open_lesson(state)
    if lesson is None:
        await show_lessons(event, learner, clients, CourseCb(action="lessons", course_id=course_id), edit=False)
        return
    await show_lesson(event, learner, clients, course_id, lesson["lesson_id"], edit=False)


async def lesson_button(
    callback: CallbackQuery, callback_data: LessonCb, learner: LearnerCtx | None, clients: ServiceClients
) -> None:
    if learner is None:
        await not_registered(callback)
        return
    await show_lesson(
        callback, learner, clients, callback_data.course_id, callback_data.lesson_id, edit=not callback_data.fresh
    )
    await answer_callback(callback)


async def show_lesson(
    event: Event,
    learner: LearnerCtx,
    clients: ServiceClients,
    course_id: int,
    lesson_id: int,
    *,
    edit: bool,
    course: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
) -> None:
    course = course or await catalog_course(clients, course_id)
    lesson = next((item for item in course["lessons"] if item["id"] == lesson_id), None) if course else None
    if course is None or lesson is None:
        await show(event, _("lesson-not-found"), edit=edit)
        return
    state = state or await learner_course(clients, learner.user_id, course_id)
    progress = lesson_state(state, lesson_id)
    accessible = bool(progress["accessible"]) if progress else bool(lesson["is_free"])
    completed = bool(progress and progress["completed"])
    text = _(
        "lesson-view",
        order=lesson["order"],
        total=len(course["lessons"]),
        title=escape(lesson["title"]),
        course=escape(course["title"]),
    )
    if lesson.get("description"):
        text += "\n\n" + _("lesson-description", description=escape(lesson["description"]))
    if lesson.get("video_duration"):
        text += "\n\n" + _("lesson-video-minutes", minutes=max(1, round(lesson["video_duration"] / 60)))
    if not accessible:
        text += "\n\n" + _("lesson-locked")
    elif completed and progress is not None:
        text += "\n\n" + _("lesson-completed-on", date=format_date(progress["completed_at"]))
    else:
        text += "\n\n" + _("lesson-materials")
    markup = keyboards.lesson_view(course, lesson, accessible=accessible, completed=completed)
    await show(event, text, markup, edit=edit)


async def complete_lesson(
    callback: CallbackQuery,
    callback_data: LessonCb,
    learner: LearnerCtx | None,
    clients: ServiceClients,
    idempotency_key: str,
) -> None:
    if learner is None:
        await not_registered(callback)
        return
    try:
        result = await clients.progress.post(
            f"/internal/learners/{learner.user_id}/lessons/{callback_data.lesson_id}/complete",
            json={},
            idempotency_key=f"{idempotency_key}:complete",
        )
    except NotFoundError:
        await answer_callback(callback, _("lesson-not-found"), alert=True)
        return
    except ServiceCallError as exc:
        if exc.status_code != FORBIDDEN:
            raise
        await answer_callback(callback, _("lesson-forbidden"), alert=True)
        return
    await answer_callback(callback, None if result["newly_completed"] else _("lesson-already-done"))
    course_id = int(result["course_id"])
    course = await catalog_course(clients, course_id)
    state = await learner_course(clients, learner.user_id, course_id)
    # The lesson's message turns "completed" in place (its button goes), and the progress comes below.
    await show_lesson(
        callback, learner, clients, course_id, callback_data.lesson_id, edit=True, course=course, state=state
    )
    lessons = {lesson["id"]: lesson for lesson in course["lessons"]} if course else {}
    this_lesson = lessons.get(callback_data.lesson_id)
    title = escape(this_lesson["title"]) if this_lesson else ""
    if result["course_completed"]:
        text = _("lesson-done-course", title=title, total=result["total_lessons"])
    else:
        text = _(
            "lesson-done",
            title=title,
            done=result["completed_lessons"],
            total=result["total_lessons"],
            bar=progress_bar(result["progress_percent"]),
        )
    next_lesson = lessons.get(result["next_lesson_id"]) if result.get("next_lesson_id") else None
    markup = keyboards.after_lesson(course_id, as_listed_lesson(next_lesson) if next_lesson else None)
    await show(callback, text, markup, edit=False)


# -- my courses and the transcript -----------------------------------------------------------------


async def my_courses_command(message: Message, learner: LearnerCtx | None, clients: ServiceClients) -> None:
    if learner is None:
        await not_registered(message)
        return
    await show_my_courses(message, learner, clients, edit=False)


async def my_courses_button(
    callback: CallbackQuery,
    *,
    callback_data: MyCoursesCb,
    learner: LearnerCtx | None,
    clients: ServiceClients,
    bot: Bot,
    idempotency_key: str,
) -> None:
    if learner is None:
        await not_registered(callback)
        return
    if callback_data.action == "transcript":
        await answer_callback(callback, _("transcript-preparing"))
        await send_transcript(bot, learner, clients, idempotency_key)
        return
    await show_my_courses(callback, learner, clients, edit=not callback_data.fresh)
    await answer_callback(callback)


async def show_my_courses(event: Event, learner: LearnerCtx, clients: ServiceClients, *, edit: bool) -> None:
    courses: list[dict[str, Any]] = await clients.progress.get(f"/internal/learners/{learner.user_id}/courses")
    if not courses:
        await show(event, _("my-empty"), keyboards.empty_my_courses(), edit=edit)
        return
    # Courses in progress first (the latest enrolment on top), then the completed ones.
    courses.sort(key=lambda c: c["enrolled_at"], reverse=True)
    courses.sort(key=lambda c: c["is_completed"])
    text = _("my-title")
    for number, course in enumerate(courses, start=1):
        values = {
            "n": number,
            "title": escape(course_title(course)),
            "bar": progress_bar(course["progress_percent"]),
            "done": course["completed_lessons"],
            "total": course["total_lessons"],
        }
        if course["is_completed"]:
            text += "\n\n" + _("my-course-done", date=format_date(course["completed_at"]), **values)
        else:
            text += "\n\n" + _("my-course-active", **values)
    has_completed = any(course["is_completed"] for course in courses)
    await show(event, text, keyboards.my_courses(courses, has_completed=has_completed), edit=edit)


async def transcript_command(
    message: Message, learner: LearnerCtx | None, clients: ServiceClients, bot: Bot, idempotency_key: str
) -> None:
    if learner is None:
        await not_registered(message)
        return
    await send_transcript(bot, learner, clients, idempotency_key)


async def send_transcript(bot: Bot, learner: LearnerCtx, clients: ServiceClients, idempotency_key: str) -> None:
    """Have progress render the transcript PDF, fetch it from object storage and send it as a document."""
    chat_id = learner.telegram_id
    await bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
    try:
        transcript = await clients.progress.post(
            f"/internal/learners/{learner.user_id}/transcript",
            json={"full_name": learner.full_name} if learner.full_name else {},
            idempotency_key=f"{idempotency_key}:transcript",
        )
    except NotFoundError:
        await bot.send_message(chat_id, _("transcript-none"))
        return
    pdf = await download(transcript["download_url"])
    caption = _("transcript-caption", courses=len(transcript["courses"]), hours=transcript.get("total_hours", 0))
    await bot.send_document(chat_id, BufferedInputFile(pdf, filename=TRANSCRIPT_FILENAME), caption=caption)


async def download(url: str) -> bytes:
    """The rendered PDF from object storage (a presigned URL, valid for minutes)."""
    try:
        async with httpx.AsyncClient(timeout=TRANSCRIPT_DOWNLOAD_TIMEOUT_S) as http:
            response = await http.get(url)
            response.raise_for_status()
    except httpx.HTTPError as exc:
        # The learner gets "try again in a minute", like for any service that is down.
        raise DependencyUnavailableError(f"transcript download failed: {exc!r}") from exc
    return response.content


# -- inactivity reminders ----------------------------------------------------------------------------


async def reminders_button(
    callback: CallbackQuery, callback_data: RemindersCb, learner: LearnerCtx | None, clients: ServiceClients
) -> None:
    """ "No reminders" under a reminder (and "turn them back on"): progress's opt-out, which its
    inactivity check respects."""
    if learner is None:
        await not_registered(callback)
        return
    opt_out = callback_data.action == "off"
    await clients.progress.put(f"/internal/learners/{learner.user_id}/preferences", json={"reminders_opt_out": opt_out})
    await answer_callback(callback)
    if opt_out:
        await show(callback, _("reminders-off"), keyboards.reminders_off(), edit=False)
    else:
        await show(callback, _("reminders-on"), edit=True)


def make_router() -> Router:
    """A fresh router each time: an aiogram router can belong to one dispatcher only."""
    router = Router(name="learning")
    router.message.register(my_courses_command, Command("mycourses"))
    router.message.register(my_courses_command, button_filter("menu-my-courses"))
    router.message.register(transcript_command, Command("transcript"))
    router.callback_query.register(enrol_button, CourseCb.filter(F.action == "enrol"))
    router.callback_query.register(course_button, CourseCb.filter(F.action != "enrol"))
    router.callback_query.register(complete_lesson, LessonCb.filter(F.action == "done"))
    router.callback_query.register(lesson_button, LessonCb.filter(F.action == "open"))
    router.callback_query.register(my_courses_button, MyCoursesCb.filter())
    router.callback_query.register(reminders_button, RemindersCb.filter())
    return router
