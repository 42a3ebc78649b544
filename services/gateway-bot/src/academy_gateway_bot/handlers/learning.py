"""Learning: the course card and enrolment, lessons (view and completion), my courses, the transcript.

Progress decides what a learner may see and do (enrolled, a free preview lesson, a course withdrawn
from the catalog that its learners keep); the catalog gives the content. So progress is asked first,
and the catalog's `include_archived=true` only for a learner progress says is enrolled.

Every screen built from stored text goes through `fitting`: a course description of 20,000
characters becomes a card that fits (4,096 characters, or 1,024 under a cover photo) with «Читать
полностью», which opens the whole text in pages; lists longer than a message come in pages too.
Every screen has buttons, and every button press is answered, whatever happened.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import httpx
from academy_runtime.client import ServiceCallError
from academy_runtime.errors import DependencyUnavailableError, NotFoundError
from academy_runtime.resources import Resources
from aiogram import Bot, F, Router
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from pydantic import Field

from academy_gateway_bot import keyboards
from academy_gateway_bot.callbacks import CatalogCb, CourseCb, LessonCb, MyCoursesCb, RemindersCb
from academy_gateway_bot.clients import ServiceClients
from academy_gateway_bot.context import LearnerCtx
from academy_gateway_bot.fitting import CAPTION_LIMIT, TEXT_LIMIT, fit, paginate, room_for, truncate
from academy_gateway_bot.i18n import _, button_filter, current_locale
from academy_gateway_bot.money import course_offer
from academy_gateway_bot.presses import first_press
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
    short,
    show,
)

log = logging.getLogger(__name__)

TRANSCRIPT_DOWNLOAD_TIMEOUT_S = 30.0
TRANSCRIPT_FILENAME = "transcript.pdf"
# Telegram shows at most 100 buttons under a message: long lists come in pages well below that.
LESSONS_PER_PAGE = 20
MY_COURSES_PER_PAGE = 10
# The card lists a few preview lessons (each title shortened), not all 500 a course may have.
FREE_LESSONS_LISTED = 5
FREE_LESSON_TITLE_CHARS = 80
# Under a cover the card is a caption (1,024 characters): when titles and prices leave less than this
# for the description, the card goes as text (4,096) without the cover.
MIN_CAPTION_DESCRIPTION = 160

DbId = Annotated[int, Field(ge=0, le=2_147_483_647)]
PageNumber = Annotated[int, Field(ge=1, le=10_000)]


class LearningPageCb(CallbackData, prefix="lrn"):
    """A page of a learning screen that outgrows one message: the whole description of a course
    (`about`) or of a lesson (`lesson_text`), the lessons of a course (`lessons`), my courses (`my`)."""

    screen: Literal["about", "lesson_text", "lessons", "my"]
    course_id: DbId = 0
    lesson_id: DbId = 0
    page: PageNumber = 1


# Fluent refuses a placeable longer than 2,500 characters (fluent.runtime's MAX_PART_LENGTH, a guard
# against oversized input) and a description may hold 20,000: stored text goes in after rendering.
_STORED_TEXT = "\u2063"  # INVISIBLE SEPARATOR, in no message of ours


def with_stored_text(key: str, slot: str, text: str, **values: Any) -> str:
    """The message `key` with `text` (escaped HTML, of any length) in its placeable `slot`."""
    return _(key, **values, **{slot: _STORED_TEXT}).replace(_STORED_TEXT, text, 1)


# -- data ------------------------------------------------------------------------------------------


async def catalog_course(
    clients: ServiceClients, course_id: int, *, include_archived: bool = False
) -> dict[str, Any] | None:
    """The course with its lessons, or None when the catalog does not serve it. `include_archived`
    (only for a learner progress says is enrolled) also finds a course withdrawn after publication."""
    params = {"include_archived": "true"} if include_archived else None
    try:
        course: dict[str, Any] = await clients.catalog.get(f"/internal/courses/{course_id}", params=params)
    except NotFoundError:
        return None
    return course


async def learner_course(clients: ServiceClients, user_id: int, course_id: int) -> dict[str, Any] | None:
    """Progress's view of the course for this learner (enrolled or not); None when progress does not
    know it, or it is withdrawn and the learner is not enrolled on it (404 `course_not_found`)."""
    try:
        state: dict[str, Any] = await clients.progress.get(f"/internal/learners/{user_id}/courses/{course_id}")
    except NotFoundError:
        return None
    return state


@dataclass(frozen=True)
class LearnerCourseView:
    """A course as this learner may see it: progress's `state` and the catalog's `course` (its content)."""

    state: dict[str, Any] | None
    course: dict[str, Any] | None

    @property
    def enrolled(self) -> bool:
        return bool(self.state and self.state["enrolled"])

    @property
    def in_catalog(self) -> bool:
        """Listed in the catalog (on sale): not archived or hidden. A course progress has not heard of
        yet came from the catalog's public listing, so it is listed."""
        return self.state is None or bool(self.state.get("in_catalog", True))

    def title(self, course_id: int) -> str:
        if self.course is not None:
            return str(self.course["title"])
        return course_title(self.state or {"course_id": course_id})


async def load_course(clients: ServiceClients, user_id: int, course_id: int) -> LearnerCourseView:
    state = await learner_course(clients, user_id, course_id)
    enrolled = bool(state and state["enrolled"])
    return LearnerCourseView(state, await catalog_course(clients, course_id, include_archived=enrolled))


def lesson_state(state: dict[str, Any] | None, lesson_id: int | None) -> dict[str, Any] | None:
    if state is None or lesson_id is None:
        return None
    return next((lesson for lesson in state["lessons"] if lesson["lesson_id"] == lesson_id), None)


def next_lesson(view: LearnerCourseView, *, skip: int | None = None) -> dict[str, Any] | None:
    """The lesson to continue with (in progress's listing shape): progress's next lesson, unless the
    catalog's content no longer has it (removed a moment ago; progress hears of it shortly) or it is
    `skip`: then the first open, uncompleted lesson the content still has."""
    state = view.state
    if state is None:
        return None
    present = {lesson["id"] for lesson in view.course["lessons"]} if view.course is not None else None

    def can_open(lesson: dict[str, Any] | None) -> bool:
        return (
            lesson is not None
            and lesson["accessible"]
            and not lesson["completed"]
            and lesson["lesson_id"] != skip
            and (present is None or lesson["lesson_id"] in present)
        )

    preferred = lesson_state(state, state.get("next_lesson_id"))
    if can_open(preferred):
        return preferred
    return next(
        (lesson for lesson in sorted(state["lessons"], key=lambda item: item["order"]) if can_open(lesson)), None
    )


# -- sending screens -------------------------------------------------------------------------------


def _photo_message(event: Event) -> Message | None:
    """The photo message (a course card with its cover) a button was pressed under, if it was one."""
    if isinstance(event, CallbackQuery) and isinstance(event.message, Message) and event.message.photo:
        return event.message
    return None


async def _delete_quietly(message: Message) -> None:
    # Telegram lets a bot delete its messages for 48 hours; an older one just stays above the new screen.
    with contextlib.suppress(TelegramBadRequest):
        await message.delete()


async def show_screen(event: Event, text: str, markup: InlineKeyboardMarkup, *, edit: bool) -> None:
    """`screens.show`, also over a course card with a cover: a photo message cannot become text, so the
    screen comes as a new message and replaces the card."""
    photo = _photo_message(event) if edit else None
    if photo is None:
        await show(event, text, markup, edit=edit)
        return
    await photo.answer(text, reply_markup=markup, disable_web_page_preview=True)
    await _delete_quietly(photo)


async def show_photo_screen(
    event: Event, photo_url: str, caption: str, markup: InlineKeyboardMarkup, *, edit: bool
) -> bool:
    """A course card with its cover; False when Telegram cannot use the cover (it fetches the URL itself)."""
    photo = _photo_message(event) if edit else None
    if photo is not None:
        try:
            await photo.edit_caption(caption=caption, reply_markup=markup)
        except TelegramBadRequest as exc:
            if "message is not modified" not in str(exc):
                raise
        return True
    message = event if isinstance(event, Message) else event.message
    try:
        if isinstance(message, Message):
            await message.answer_photo(photo_url, caption=caption, reply_markup=markup)
        elif isinstance(event, CallbackQuery) and event.bot is not None:
            await event.bot.send_photo(event.from_user.id, photo_url, caption=caption, reply_markup=markup)
        else:
            return False
    except TelegramBadRequest as exc:
        log.warning("course cover not usable, the card goes as text: %s", exc, extra={"cover": photo_url})
        return False
    if edit and isinstance(event, CallbackQuery) and isinstance(message, Message):
        await _delete_quietly(message)  # the screen the button was under: the card replaces it
    return True


def with_row(markup: InlineKeyboardMarkup, row: list[InlineKeyboardButton], *, at: int) -> InlineKeyboardMarkup:
    rows = list(markup.inline_keyboard)
    rows.insert(at if at >= 0 else len(rows) + at + 1, row)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def pager(page: int, pages: int, target: Callable[[int], CallbackData]) -> list[InlineKeyboardButton]:
    """«◀️ 2/5 ▶️» (the arrows only where there is such a page); no row for a single page."""
    if pages <= 1:
        return []
    row: list[InlineKeyboardButton] = []
    if page > 1:
        row.append(keyboards.button("◀️", target(page - 1)))
    row.append(keyboards.button(_("lessons-page", page=page, pages=pages), target(page)))
    if page < pages:
        row.append(keyboards.button("▶️", target(page + 1)))
    return row


def page_slice(items: list[Any], page: int, per_page: int) -> tuple[list[Any], int, int]:
    """The items of `page` (clamped to the pages there are now), the page and the number of pages."""
    pages = max(1, -(-len(items) // per_page))
    page = min(max(1, page), pages)
    return items[(page - 1) * per_page : page * per_page], page, pages


def gone_keyboard() -> InlineKeyboardMarkup:
    return keyboards.markup(
        [
            [keyboards.button(_("my-open-catalog"), CatalogCb(action="categories"))],
            [keyboards.button(_("menu-my-courses"), MyCoursesCb(action="list"))],
        ]
    )


async def show_course_gone(event: Event, *, edit: bool, key: str = "course-not-found") -> None:
    """The course cannot be shown (withdrawn and not the learner's, or unknown): the way on."""
    await show_screen(event, _(key), gone_keyboard(), edit=edit)


# -- the course card and enrolment -----------------------------------------------------------------


async def course_button(
    callback: CallbackQuery, callback_data: CourseCb, learner: LearnerCtx | None, clients: ServiceClients
) -> None:
    if learner is None:
        await not_registered(callback)
        return
    edit = not callback_data.fresh
    try:
        if callback_data.action == "card":
            await show_course_card(callback, learner, clients, callback_data, edit=edit)
        elif callback_data.action == "lessons":
            await show_lessons(callback, learner, clients, callback_data, edit=edit)
        elif callback_data.action == "continue":
            await continue_course(callback, learner, clients, callback_data.course_id)
    finally:
        await answer_callback(callback)


async def enrol_button(  # noqa: PLR0917 - aiogram injects what the handler needs
    callback: CallbackQuery,
    callback_data: CourseCb,
    learner: LearnerCtx | None,
    clients: ServiceClients,
    idempotency_key: str,
    resources: Resources,
) -> None:
    """Progress decides: a free open course enrols; a paid one shows its card with the ways to pay;
    one withdrawn, closed or unknown says so, with the way to other courses. A second press within
    `PRESS_WINDOW_S` is answered without a second «you are enrolled» message."""
    if learner is None:
        await not_registered(callback)
        return
    async with first_press(resources, learner.telegram_id, f"enrol:{callback_data.course_id}") as first:
        if not first:
            await answer_callback(callback)
            return
        await _enrol(callback, callback_data, learner, clients, idempotency_key)


async def _enrol(
    callback: CallbackQuery,
    callback_data: CourseCb,
    learner: LearnerCtx,
    clients: ServiceClients,
    idempotency_key: str,
) -> None:
    course_id = callback_data.course_id
    try:
        enrolment = await clients.progress.post(
            f"/internal/learners/{learner.user_id}/enrolments",
            json={"course_id": course_id},
            idempotency_key=f"{idempotency_key}:enrol",
        )
    except NotFoundError:  # course_not_found
        await answer_callback(callback, _("course-not-found"), alert=True)
        await show_course_gone(callback, edit=True)
        return
    except ServiceCallError as exc:
        if exc.code == "payment_required":  # a paid course (or its price changed): its card, with the ways to pay
            await answer_callback(callback)
            await show_course_card(callback, learner, clients, callback_data, edit=True)
            return
        if exc.code in {"course_archived", "course_not_open"}:
            key = "course-not-found" if exc.code == "course_archived" else "course-closed"
            await answer_callback(callback, _(key), alert=True)
            await show_course_gone(callback, edit=True, key=key)
            return
        raise
    await answer_callback(callback)
    view = await load_course(clients, learner.user_id, course_id)
    await show_course_card(callback, learner, clients, callback_data, edit=True, view=view)
    key = "course-enrolled" if enrolment["created"] else "course-already-enrolled"
    await show(
        callback,
        truncate(_(key, title=escape(view.title(course_id))), TEXT_LIMIT),
        keyboards.start_course(course_id, next_lesson(view)),
        edit=False,
    )


def course_about(course: dict[str, Any]) -> str:
    """The course's description (escaped HTML): the short one, then the full one when there is one."""
    about = escape(course["description"])
    full = str(course.get("full_description") or "").strip()
    if full and full != str(course["description"]).strip():
        about += "\n\n" + escape(full)
    return about


def free_lessons_text(course: dict[str, Any]) -> str:
    free = [lesson for lesson in course["lessons"] if lesson["is_free"]]
    if not free:
        return ""
    lines = [
        f"• {lesson['order']}. {escape(short(str(lesson['title']), FREE_LESSON_TITLE_CHARS))}"
        for lesson in free[:FREE_LESSONS_LISTED]
    ]
    if len(free) > FREE_LESSONS_LISTED:
        lines.append(_("course-free-lessons-more", count=len(free) - FREE_LESSONS_LISTED))
    return "\n\n" + _("course-free-lessons", lessons="\n".join(lines))


async def show_course_card(
    event: Event,
    learner: LearnerCtx,
    clients: ServiceClients,
    callback_data: CourseCb,
    *,
    edit: bool,
    view: LearnerCourseView | None = None,
) -> None:
    """The card: cover (when the catalog has one), description shortened to fit with «Читать полностью»,
    the details, and what the learner can do: enrol or pay (only for a course the catalog lists),
    continue, the lessons."""
    view = view or await load_course(clients, learner.user_id, callback_data.course_id)
    course = view.course
    if course is None:
        await show_course_gone(event, edit=edit)
        return
    enrolled, listed = view.enrolled, view.in_catalog
    categories = await category_titles(clients)
    duration = (
        _("course-hours", hours=course["duration_hours"]) if course.get("duration_hours") else _("course-no-duration")
    )
    # A paid course not taken yet: billing says what it costs in Stars and coins and what the wallet holds.
    for_sale = listed and not enrolled and not is_free(course)
    offer = await course_offer(clients, learner.user_id, course["id"]) if for_sale else None
    details = card_details(view, offer, for_sale=for_sale)
    title = escape(course["title"])
    category = escape(categories.get(course["category"], course["category"]))

    def card(description: str) -> str:
        head = with_stored_text(
            "course-card",
            "description",
            description,
            title=title,
            category=category,
            lessons=course["lessons_count"],
            duration=duration,
        )
        return head + details

    next_one = next_lesson(view) if enrolled else None
    markup = keyboards.course_card(
        course,
        enrolled=enrolled or not listed,  # nothing to buy in a withdrawn course
        next_lesson_id=next_one["lesson_id"] if next_one else None,
        category=callback_data.category,
        page=callback_data.page,
        offer=offer,
    )
    about = course_about(course)
    cover = course.get("cover_image_url")
    if cover and room_for(card, CAPTION_LIMIT) >= MIN_CAPTION_DESCRIPTION:
        fitted = fit(card, about, CAPTION_LIMIT)
        if await show_photo_screen(
            event, cover, fitted.text, _with_read_more(markup, fitted.shortened, course), edit=edit
        ):
            return
    fitted = fit(card, about, TEXT_LIMIT)
    await show_screen(event, fitted.text, _with_read_more(markup, fitted.shortened, course), edit=edit)


def card_details(view: LearnerCourseView, offer: dict[str, Any] | None, *, for_sale: bool) -> str:
    """What the card says under the description: the price and preview lessons of a course the catalog
    lists (never of a withdrawn one), the learner's progress, or the ways to pay."""
    course, state = view.course or {}, view.state
    details = ""
    if view.in_catalog:
        price = format_price(course)
        if offer is not None and offer.get("stars_price"):
            price = _(
                "money-price-stars", price=format_money(offer["price"], offer["currency"]), stars=offer["stars_price"]
            )
        details += "\n" + _("course-price", price=price)
        if not view.enrolled:
            details += free_lessons_text(course)
    if state is not None and view.enrolled:
        if not view.in_catalog:
            details += "\n\n" + _("course-archived")
        details += ("\n\n" + _("course-completed")) if state["is_completed"] else ""
        details += "\n\n" + _("course-your-progress", bar=progress_bar(state["progress_percent"]))
    elif for_sale:
        details += offer_text(offer)
    return details


def _with_read_more(markup: InlineKeyboardMarkup, shortened: bool, course: dict[str, Any]) -> InlineKeyboardMarkup:
    if not shortened:
        return markup
    more = keyboards.button(_("course-read-more"), LearningPageCb(screen="about", course_id=course["id"]))
    return with_row(markup, [more], at=0)


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


async def show_course_about(
    event: Event, learner: LearnerCtx, clients: ServiceClients, course_id: int, page: int, *, edit: bool
) -> None:
    """The course's whole description, in pages that each fit, and the way back to the card."""
    view = await load_course(clients, learner.user_id, course_id)
    course = view.course
    if course is None:
        await show_course_gone(event, edit=edit)
        return
    title = escape(course["title"])
    pages = paginate(
        lambda part, _page, _pages: with_stored_text("course-about", "text", part, title=title), course_about(course)
    )
    page = min(max(1, page), len(pages))
    rows = [
        pager(page, len(pages), lambda n: LearningPageCb(screen="about", course_id=course_id, page=n)),
        [keyboards.button(_("lessons-back-to-course"), CourseCb(action="card", course_id=course_id))],
    ]
    await show_screen(event, pages[page - 1], keyboards.markup(rows), edit=edit)


# -- lessons ---------------------------------------------------------------------------------------


async def show_lessons(
    event: Event, learner: LearnerCtx, clients: ServiceClients, callback_data: CourseCb, *, edit: bool, page: int = 1
) -> None:
    course_id = callback_data.course_id
    state = await learner_course(clients, learner.user_id, course_id)
    if state is None:
        await show_course_gone(event, edit=edit)
        return
    text = _(
        "lessons-title",
        title=escape(course_title(state)),
        done=state["completed_lessons"],
        total=state["total_lessons"],
        bar=progress_bar(state["progress_percent"]),
    )
    lessons = sorted(state["lessons"], key=lambda lesson: lesson["order"])
    shown, page, pages = page_slice(lessons, page, LESSONS_PER_PAGE)
    markup = keyboards.lesson_list(course_id, shown, category=callback_data.category, page=callback_data.page)
    nav = pager(page, pages, lambda n: LearningPageCb(screen="lessons", course_id=course_id, page=n))
    if nav:
        markup = with_row(markup, nav, at=-2)  # above «back to the course»
    await show_screen(event, truncate(text, TEXT_LIMIT), markup, edit=edit)


async def continue_course(event: Event, learner: LearnerCtx, clients: ServiceClients, course_id: int) -> None:
    """The next lesson as a new message; the lesson list when every lesson is done."""
    view = await load_course(clients, learner.user_id, course_id)
    if view.state is None and view.course is None:
        await show_course_gone(event, edit=False)
        return
    lesson = next_lesson(view)
    if lesson is None:
        await show_lessons(event, learner, clients, CourseCb(action="lessons", course_id=course_id), edit=False)
        return
    await show_lesson(event, learner, clients, course_id, lesson["lesson_id"], edit=False, view=view)


async def lesson_button(
    callback: CallbackQuery, callback_data: LessonCb, learner: LearnerCtx | None, clients: ServiceClients
) -> None:
    if learner is None:
        await not_registered(callback)
        return
    try:
        await show_lesson(
            callback, learner, clients, callback_data.course_id, callback_data.lesson_id, edit=not callback_data.fresh
        )
    finally:
        await answer_callback(callback)


async def show_lesson(
    event: Event,
    learner: LearnerCtx,
    clients: ServiceClients,
    course_id: int,
    lesson_id: int,
    *,
    edit: bool,
    view: LearnerCourseView | None = None,
) -> None:
    view = view or await load_course(clients, learner.user_id, course_id)
    course, state = view.course, view.state
    if course is None:
        await show_course_gone(event, edit=edit)
        return
    lesson = next((item for item in course["lessons"] if item["id"] == lesson_id), None)
    if lesson is None:
        await show_lesson_gone(event, view, course_id, lesson_id, edit=edit)
        return
    progress = lesson_state(state, lesson_id)
    accessible = bool(progress["accessible"]) if progress else bool(lesson["is_free"]) and view.in_catalog
    await show_screen(event, *lesson_screen(course_id, course, lesson, progress, accessible=accessible), edit=edit)


def lesson_screen(
    course_id: int,
    course: dict[str, Any],
    lesson: dict[str, Any],
    progress: dict[str, Any] | None,
    *,
    accessible: bool,
) -> tuple[str, InlineKeyboardMarkup]:
    """A lesson's message: the catalog's `course` and `lesson` (content), progress's state of the lesson for
    this learner (`progress`, None when progress has none) and whether they may open it."""
    lesson_id = int(lesson["id"])
    completed = bool(progress and progress["completed"])
    head = _(
        "lesson-view",
        order=lesson["order"],
        total=len(course["lessons"]),
        title=escape(lesson["title"]),
        course=escape(course["title"]),
    )
    tail = ""
    if lesson.get("video_duration"):
        tail += "\n\n" + _("lesson-video-minutes", minutes=max(1, round(lesson["video_duration"] / 60)))
    if not accessible:
        tail += "\n\n" + _("lesson-locked")
    elif completed and progress is not None:
        tail += "\n\n" + _("lesson-completed-on", date=format_date(progress["completed_at"]))
    else:
        tail += "\n\n" + _("lesson-materials")

    def screen(description: str) -> str:
        text = "\n\n" + with_stored_text("lesson-description", "description", description) if description else ""
        return head + text + tail

    fitted = fit(screen, escape(lesson.get("description") or ""))
    markup = keyboards.lesson_view(course, lesson, accessible=accessible, completed=completed)
    if fitted.shortened:
        more = LearningPageCb(screen="lesson_text", course_id=course_id, lesson_id=lesson_id)
        markup = with_row(markup, [keyboards.button(_("lesson-read-more"), more)], at=0)
    return fitted.text, markup


async def show_lesson_gone(
    event: Event, view: LearnerCourseView, course_id: int, lesson_id: int, *, edit: bool
) -> None:
    """A lesson the course no longer has: the lesson to continue with instead, the lessons, my courses."""
    rows: list[list[InlineKeyboardButton]] = []
    instead = next_lesson(view, skip=lesson_id)
    if instead is not None:
        label = _("lesson-next", title=short(str(instead["title"]), 32))
        rows.append(
            [keyboards.button(label, LessonCb(action="open", course_id=course_id, lesson_id=instead["lesson_id"]))]
        )
    if view.state is not None:
        rows.append([keyboards.button(_("lesson-to-list"), CourseCb(action="lessons", course_id=course_id))])
    rows.append([keyboards.button(_("menu-my-courses"), MyCoursesCb(action="list"))])
    await show_screen(event, _("lesson-not-found"), keyboards.markup(rows), edit=edit)


async def show_lesson_text(
    event: Event, learner: LearnerCtx, clients: ServiceClients, course_id: int, lesson_id: int, *, page: int
) -> None:
    """The lesson's whole description, in pages that each fit, and the way back to the lesson."""
    view = await load_course(clients, learner.user_id, course_id)
    lesson = next((item for item in view.course["lessons"] if item["id"] == lesson_id), None) if view.course else None
    if lesson is None:
        await show_lesson_gone(event, view, course_id, lesson_id, edit=True)
        return
    title = escape(lesson["title"])
    pages = paginate(
        lambda part, _page, _pages: with_stored_text("lesson-text", "text", part, order=lesson["order"], title=title),
        escape(lesson.get("description") or ""),
    )
    page = min(max(1, page), len(pages))

    def target(number: int) -> LearningPageCb:
        return LearningPageCb(screen="lesson_text", course_id=course_id, lesson_id=lesson_id, page=number)

    back = LessonCb(action="open", course_id=course_id, lesson_id=lesson_id)
    rows = [pager(page, len(pages), target), [keyboards.button(_("lesson-back"), back)]]
    await show_screen(event, pages[page - 1], keyboards.markup(rows), edit=True)


async def complete_lesson(
    callback: CallbackQuery,
    callback_data: LessonCb,
    learner: LearnerCtx | None,
    clients: ServiceClients,
    idempotency_key: str,
) -> None:
    """«✅ Урок пройден»: progress records it and answers with the titles and the next lesson, which the
    message below the lesson shows as they are (the course may be withdrawn from the catalog by now)."""
    if learner is None:
        await not_registered(callback)
        return
    course_id, lesson_id = callback_data.course_id, callback_data.lesson_id
    try:
        result = await clients.progress.post(
            f"/internal/learners/{learner.user_id}/lessons/{lesson_id}/complete",
            json={},
            idempotency_key=f"{idempotency_key}:complete",
        )
    except NotFoundError:  # lesson_not_found: removed from the course, or the course is gone for this learner
        await answer_callback(callback, _("lesson-not-found"))
        view = await load_course(clients, learner.user_id, course_id)
        await show_lesson_gone(callback, view, course_id, lesson_id, edit=True)
        return
    except ServiceCallError as exc:
        if exc.code == "forbidden":  # not enrolled (any more): the lesson again, locked, with the way to enrol
            await answer_callback(callback, _("lesson-forbidden"), alert=True)
            await show_lesson(callback, learner, clients, course_id, lesson_id, edit=True)
            return
        if exc.code == "conflict":  # progress has not heard of the course yet, or a lock held: the button stays
            await answer_callback(callback, _("lesson-retry"), alert=True)
            return
        raise
    if not result["newly_completed"]:
        # A second press, or a button of an old message: the completion was told once already; the
        # lesson's message only catches up («completed», its button gone).
        await answer_callback(callback, _("lesson-already-done"))
        await show_lesson(callback, learner, clients, int(result["course_id"]), lesson_id, edit=True)
        return
    await answer_callback(callback)
    await show(callback, *lesson_done(result), edit=False)
    # The lesson's message turns "completed" in place (its button goes).
    await show_completed_lesson(callback, learner, clients, result)


async def show_completed_lesson(
    callback: CallbackQuery, learner: LearnerCtx, clients: ServiceClients, result: dict[str, Any]
) -> None:
    """The lesson's message, «completed», from progress's answer to the completion (`result`, a
    `LessonCompletion`) and the catalog's content, without asking progress for the course again (issue 11:
    that second read was a fifth of progress's requests in the bot bench).

    The learner could open this lesson a moment ago (enrolled, or a free preview of an open course), so the
    content is read as for an enrolled learner (`include_archived`): a course withdrawn in between still
    shows the lesson they completed. A lesson the content no longer has is told as `show_lesson` tells it,
    from progress's whole view."""
    course_id, lesson_id = int(result["course_id"]), int(result["lesson_id"])
    course = await catalog_course(clients, course_id, include_archived=True)
    lesson = next((item for item in course["lessons"] if item["id"] == lesson_id), None) if course else None
    if course is None or lesson is None:
        await show_lesson(callback, learner, clients, course_id, lesson_id, edit=True)
        return
    done = {"lesson_id": lesson_id, "accessible": True, "completed": True, "completed_at": result["completed_at"]}
    await show_screen(callback, *lesson_screen(course_id, course, lesson, done, accessible=True), edit=True)


def lesson_done(result: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
    """The message after a completion, from progress's answer alone: the lesson's title, the progress,
    the next lesson's button."""
    title = escape(result["lesson_title"])
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
    following = result.get("next_lesson")
    return truncate(text, TEXT_LIMIT), keyboards.after_lesson(int(result["course_id"]), following)


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
    resources: Resources,
) -> None:
    if learner is None:
        await not_registered(callback)
        return
    if callback_data.action == "transcript":
        await answer_callback(callback, _("transcript-preparing"))
        async with first_press(resources, learner.telegram_id, "transcript") as first:
            if first:  # a second press while the PDF is on its way: it is the same PDF
                await send_transcript(bot, learner, clients, idempotency_key)
        return
    try:
        await show_my_courses(callback, learner, clients, edit=not callback_data.fresh)
    finally:
        await answer_callback(callback)


async def page_button(
    callback: CallbackQuery, callback_data: LearningPageCb, learner: LearnerCtx | None, clients: ServiceClients
) -> None:
    if learner is None:
        await not_registered(callback)
        return
    course_id, page = callback_data.course_id, callback_data.page
    try:
        if callback_data.screen == "about":
            await show_course_about(callback, learner, clients, course_id, page, edit=True)
        elif callback_data.screen == "lesson_text":
            await show_lesson_text(callback, learner, clients, course_id, callback_data.lesson_id, page=page)
        elif callback_data.screen == "lessons":
            lessons = CourseCb(action="lessons", course_id=course_id)
            await show_lessons(callback, learner, clients, lessons, edit=True, page=page)
        else:
            await show_my_courses(callback, learner, clients, edit=True, page=page)
    finally:
        await answer_callback(callback)


async def show_my_courses(
    event: Event, learner: LearnerCtx, clients: ServiceClients, *, edit: bool, page: int = 1
) -> None:
    courses: list[dict[str, Any]] = await clients.progress.get(f"/internal/learners/{learner.user_id}/courses")
    if not courses:
        await show_screen(event, _("my-empty"), keyboards.empty_my_courses(), edit=edit)
        return
    # Courses in progress first (the latest enrolment on top), then the completed ones.
    courses.sort(key=lambda c: c["enrolled_at"], reverse=True)
    courses.sort(key=lambda c: c["is_completed"])
    shown, page, pages = page_slice(courses, page, MY_COURSES_PER_PAGE)
    text = _("my-title")
    for number, course in enumerate(shown, start=(page - 1) * MY_COURSES_PER_PAGE + 1):
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
    markup = keyboards.my_courses(shown, has_completed=has_completed)
    nav = pager(page, pages, lambda n: LearningPageCb(screen="my", page=n))
    if nav:
        markup = with_row(markup, nav, at=len(shown))
    await show_screen(event, truncate(text, TEXT_LIMIT), markup, edit=edit)


async def transcript_command(  # noqa: PLR0917 - aiogram injects what the handler needs
    message: Message,
    learner: LearnerCtx | None,
    clients: ServiceClients,
    bot: Bot,
    idempotency_key: str,
    resources: Resources,
) -> None:
    """/transcript: the transcript PDF; sent again within `PRESS_WINDOW_S` (or with the button), it is the
    same PDF on its way, and the learner is told so instead of getting it twice."""
    if learner is None:
        await not_registered(message)
        return
    async with first_press(resources, learner.telegram_id, "transcript") as first:
        if not first:
            await message.answer(_("transcript-preparing"))
            return
        await send_transcript(bot, learner, clients, idempotency_key)


async def send_transcript(bot: Bot, learner: LearnerCtx, clients: ServiceClients, idempotency_key: str) -> None:
    """Have progress render the transcript PDF in the learner's language, fetch it from object storage
    and send it as a document. The certificate names the learner in full: progress reads the name from
    users when it renders the PDF (neither the bot nor progress keeps it)."""
    chat_id = learner.telegram_id
    await bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
    request: dict[str, str] = {"language": current_locale()}
    try:
        transcript = await clients.progress.post(
            f"/internal/learners/{learner.user_id}/transcript",
            json=request,
            idempotency_key=f"{idempotency_key}:transcript",
        )
    except NotFoundError:
        await bot.send_message(chat_id, _("transcript-none"), reply_markup=keyboards.empty_my_courses())
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
        my_courses = keyboards.markup([[keyboards.button(_("menu-my-courses"), MyCoursesCb(action="list"))]])
        await show(callback, _("reminders-on"), my_courses, edit=True)


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
    router.callback_query.register(page_button, LearningPageCb.filter())
    router.callback_query.register(reminders_button, RemindersCb.filter())
    return router
