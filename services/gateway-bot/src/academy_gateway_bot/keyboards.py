"""Inline keyboards of the learning screens (texts from the catalogue, data from `callbacks`)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from academy_gateway_bot.callbacks import (
    AchievementsCb,
    BuyCb,
    CatalogCb,
    CourseCb,
    LeaderboardCb,
    LeaderboardScope,
    LeaderboardVisibilityCb,
    LessonCb,
    MyCoursesCb,
    RemindersCb,
    TopUpCb,
    WalletCb,
    category_ref,
)
from academy_gateway_bot.i18n import _
from academy_gateway_bot.money import TOP_UP_PRESETS_RUB, TOP_UP_PRESETS_STARS, missing_rub
from academy_gateway_bot.screens import course_title, format_amount, format_coins, format_price, is_free, short

CATEGORIES_PER_ROW = 2


def button(text: str, data: Any) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def link(text: str, url: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, url=url)


def markup(rows: Iterable[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


def catalog_home(categories: dict[str, str], top: dict[str, Any] | None) -> InlineKeyboardMarkup:
    """The course of the month and a button per category (`categories`: slug → title, in order)."""
    rows: list[list[InlineKeyboardButton]] = []
    if top is not None:
        title = short(course_title(top), 32)
        rows.append([button(_("catalog-top-button", title=title), CourseCb(action="card", course_id=top["id"]))])
    category_buttons = [
        button(title, CatalogCb(action="category", category=category_ref(slug))) for slug, title in categories.items()
    ]
    rows += [category_buttons[i : i + CATEGORIES_PER_ROW] for i in range(0, len(category_buttons), CATEGORIES_PER_ROW)]
    return markup(rows)


def category_page(courses: list[dict[str, Any]], category: str, page: int, pages: int) -> InlineKeyboardMarkup:
    """One page of the category `category` (its slug): its courses, the arrows, all the categories."""
    ref = category_ref(category)
    rows = [
        [
            button(
                _("catalog-course-button", title=short(course_title(c)), price=format_price(c)),
                CourseCb(action="card", course_id=c["id"], category=ref, page=page),
            )
        ]
        for c in courses
    ]
    if pages > 1:
        nav: list[InlineKeyboardButton] = []
        if page > 1:
            nav.append(button("◀️", CatalogCb(action="category", category=ref, page=page - 1)))
        nav.append(button(_("catalog-page", page=page, pages=pages), CatalogCb(action="noop")))
        if page < pages:
            nav.append(button("▶️", CatalogCb(action="category", category=ref, page=page + 1)))
        rows.append(nav)
    rows.append([button(_("catalog-all-categories"), CatalogCb(action="categories"))])
    return markup(rows)


def enrol_button(course: dict[str, Any], *, category: str = "", page: int = 0) -> InlineKeyboardButton:
    """ "Enrol for free", or "Buy for 4 900 ₽" for a paid course (`category`: the reference of the catalog
    page the learner came from, as `CourseCb` carries it)."""
    label = _("course-enrol-free") if is_free(course) else _("course-buy", price=format_price(course))
    return button(label, CourseCb(action="enrol", course_id=course["id"], category=category, page=page))


def course_card(
    course: dict[str, Any],
    *,
    enrolled: bool,
    next_lesson_id: int | None,
    category: str,
    page: int,
    offer: dict[str, Any] | None = None,
) -> InlineKeyboardMarkup:
    """The card's buttons; a paid course not owned yet gets billing's `offer` (Stars, coins, top-up).

    `category`/`page`: the catalog page the learner came from, as `CourseCb` carries them (`category` is the
    category's reference, not its slug), for the Back button; "" goes back to all the categories."""
    course_id = course["id"]
    rows: list[list[InlineKeyboardButton]] = []
    if not enrolled and is_free(course):
        rows.append([enrol_button(course, category=category, page=page)])
    elif not enrolled:
        rows += payment_rows(offer)
    elif next_lesson_id is not None:
        continue_data = LessonCb(action="open", course_id=course_id, lesson_id=next_lesson_id)
        rows.append([button(_("course-continue"), continue_data)])
    lessons_data = CourseCb(action="lessons", course_id=course_id, category=category, page=page)
    rows.append([button(_("course-lessons"), lessons_data)])
    back = CatalogCb(action="category", category=category, page=page) if category else CatalogCb(action="categories")
    rows.append([button(_("common-back"), back)])
    return markup(rows)


def payment_rows(offer: dict[str, Any] | None) -> list[list[InlineKeyboardButton]]:
    """«Оплатить ⭐ N», and «Купить за N монет» when the wallet holds enough, else «Пополнить баланс»;
    a refresh button when billing could not be asked or the course is paid for and opening."""
    if offer is None:
        return []
    course_id = int(offer["course_id"])
    if offer.get("owned"):  # paid, progress not enrolled yet: the card shows the lessons in a moment
        return [[button(_("money-refresh"), CourseCb(action="card", course_id=course_id))]]
    if not offer.get("on_sale"):
        return []
    rows = [[button(_("money-pay-stars", stars=offer["stars_price"]), BuyCb(action="stars", course_id=course_id))]]
    coins = int(offer["coins_price"])
    if int(offer["balance"]) >= coins:
        label = _("money-buy-coins", coins=format_coins(coins, case="acc"))
        rows.append([button(label, BuyCb(action="coins", course_id=course_id, coins=coins))])
    else:
        top_up = TopUpCb(action="menu", amount=int(offer["missing_coins"]))
        rows.append([button(_("money-top-up-difference"), top_up)])
    return rows


def lesson_list(course_id: int, lessons: list[dict[str, Any]], *, category: str, page: int) -> InlineKeyboardMarkup:
    """The lessons, and the way back to the card (`category`/`page` as `CourseCb` carries them)."""
    rows = []
    for lesson in lessons:
        if lesson["completed"]:
            mark = "✅"
        elif lesson["accessible"]:
            mark = "▶️"
        else:
            mark = "🔒"
        text = _("lessons-button", mark=mark, order=lesson["order"], title=short(str(lesson["title"])))
        rows.append([button(text, LessonCb(action="open", course_id=course_id, lesson_id=lesson["lesson_id"]))])
    back = CourseCb(action="card", course_id=course_id, category=category, page=page)
    rows.append([button(_("lessons-back-to-course"), back)])
    return markup(rows)


def lesson_view(
    course: dict[str, Any], lesson: dict[str, Any], *, accessible: bool, completed: bool
) -> InlineKeyboardMarkup:
    course_id = course["id"]
    rows: list[list[InlineKeyboardButton]] = []
    if accessible:
        if lesson.get("video_url"):
            rows.append([link(_("lesson-video"), lesson["video_url"])])
        if lesson.get("pdf_url"):
            rows.append([link(_("lesson-pdf"), lesson["pdf_url"])])
        if not completed:
            done = LessonCb(action="done", course_id=course_id, lesson_id=lesson["id"])
            rows.append([button(_("lesson-complete"), done)])
    else:
        rows.append([enrol_button(course)])
    rows.append([button(_("lesson-to-list"), CourseCb(action="lessons", course_id=course_id))])
    return markup(rows)


def after_lesson(course_id: int, next_lesson: dict[str, Any] | None) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if next_lesson is not None:
        text = _("lesson-next", title=short(str(next_lesson["title"]), 32))
        # A new message: the progress line above stays in the chat.
        next_data = LessonCb(action="open", course_id=course_id, lesson_id=next_lesson["lesson_id"], fresh=True)
        rows.append([button(text, next_data)])
    rows.append([button(_("lesson-to-list"), CourseCb(action="lessons", course_id=course_id, fresh=True))])
    rows.append([button(_("menu-my-courses"), MyCoursesCb(action="list", fresh=True))])
    return markup(rows)


def start_course(course_id: int, first_lesson: dict[str, Any] | None) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if first_lesson is not None:
        text = _("course-start-lesson", order=first_lesson["order"], title=short(str(first_lesson["title"]), 32))
        rows.append([button(text, LessonCb(action="open", course_id=course_id, lesson_id=first_lesson["lesson_id"]))])
    rows.append([button(_("course-lessons"), CourseCb(action="lessons", course_id=course_id, fresh=True))])
    return markup(rows)


def my_courses(courses: list[dict[str, Any]], *, has_completed: bool) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    for course in courses:
        title = short(course_title(course), 36)
        if course["is_completed"]:
            rows.append(
                [
                    button(
                        _("my-review-button", title=title),
                        CourseCb(action="lessons", course_id=course["course_id"]),
                    )
                ]
            )
        else:
            continue_data = CourseCb(action="continue", course_id=course["course_id"])
            rows.append([button(_("my-continue-button", title=title), continue_data)])
    if has_completed:
        rows.append([button(_("my-transcript-button"), MyCoursesCb(action="transcript"))])
    return markup(rows)


def empty_my_courses() -> InlineKeyboardMarkup:
    return markup([[button(_("my-open-catalog"), CatalogCb(action="categories"))]])


def achievements() -> InlineKeyboardMarkup:
    return markup([[button(_("ach-leaderboard-button"), LeaderboardCb(scope="overall"))]])


def leaderboard_tabs(
    current: LeaderboardScope,
    current_category: str,
    *,
    city: str | None,
    categories: dict[str, str],
    anonymous: bool = False,
) -> InlineKeyboardMarkup:
    """Tabs: overall, the learner's city, one per category of the learner's courses; the open one marked;
    then the switch between appearing by name and anonymously (`anonymous`: the learner's choice now).

    `current_category` and the keys of `categories` are slugs; the buttons carry references, and the city
    tab nothing but its scope (the handler reads the city from the learner)."""

    def tab(text: str, selected: bool) -> str:
        return f"• {text} •" if selected else text

    first_row = [button(tab(_("lb-scope-overall"), current == "overall"), LeaderboardCb(scope="overall"))]
    if city:
        city_tab = tab(_("lb-scope-city", city=short(city, 20)), current == "city")
        first_row.append(button(city_tab, LeaderboardCb(scope="city")))
    rows = [first_row]
    category_buttons = [
        button(
            tab(_("lb-scope-category", category=title), current == "category" and slug == current_category),
            LeaderboardCb(scope="category", category=category_ref(slug)),
        )
        for slug, title in categories.items()
    ]
    rows += [category_buttons[i : i + CATEGORIES_PER_ROW] for i in range(0, len(category_buttons), CATEGORIES_PER_ROW)]
    switch = LeaderboardVisibilityCb(
        anonymous=not anonymous,
        scope=current,
        category=category_ref(current_category) if current == "category" and current_category else "",
    )
    rows.append([button(_("lb-show-my-name" if anonymous else "lb-hide-my-name"), switch)])
    rows.append([button(_("lb-back"), AchievementsCb())])
    return markup(rows)


def communities(items: list[dict[str, Any]]) -> InlineKeyboardMarkup:
    return markup(
        [
            [link(f"{community_icon(c)} {short(str(c['title']), 40)}", str(c["telegram_link"]))]
            for c in items
            if c.get("telegram_link")
        ]
    )


def community_icon(community: dict[str, Any]) -> str:
    return "🏙" if community.get("type") == "city" else "💼"


# -- notifications ---------------------------------------------------------------------------------


def achievement_unlocked() -> InlineKeyboardMarkup:
    return markup([[button(_("notify-achievements-button"), AchievementsCb(fresh=True))]])


def course_completed(next_course: dict[str, Any] | None) -> InlineKeyboardMarkup:
    rows = [[button(_("my-transcript-button"), MyCoursesCb(action="transcript", fresh=True))]]
    if next_course is not None:
        title = short(course_title(next_course), 36)
        next_data = CourseCb(action="card", course_id=next_course["id"], fresh=True)
        rows.append([button(_("notify-next-course-button", title=title), next_data)])
    return markup(rows)


def inactivity_reminder(course_id: int | None, next_lesson: dict[str, Any] | None) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if course_id is not None and next_lesson is not None:
        text = _("notify-continue-button", title=short(str(next_lesson["title"]), 32))
        lesson_data = LessonCb(action="open", course_id=course_id, lesson_id=next_lesson["lesson_id"], fresh=True)
        rows.append([button(text, lesson_data)])
    else:
        rows.append([button(_("my-open-catalog"), CatalogCb(action="categories"))])
    rows.append([button(_("reminders-off-button"), RemindersCb(action="off"))])
    return markup(rows)


def reminders_off() -> InlineKeyboardMarkup:
    return markup([[button(_("reminders-on-button"), RemindersCb(action="on"))]])


# -- money -----------------------------------------------------------------------------------------


def confirm_purchase(course_id: int, coins: int) -> InlineKeyboardMarkup:
    label = _("money-confirm-button", coins=format_coins(coins, case="acc"))
    return markup(
        [
            [button(label, BuyCb(action="confirm", course_id=course_id, coins=coins))],
            [button(_("money-cancel-button"), CourseCb(action="card", course_id=course_id))],
        ]
    )


def after_refusal(course_id: int, offer: dict[str, Any] | None) -> InlineKeyboardMarkup:
    """Under "not enough coins" / "the price changed": the payment buttons as they are now, and the card."""
    rows = payment_rows(offer)
    rows.append([button(_("lessons-back-to-course"), CourseCb(action="card", course_id=course_id))])
    return markup(rows)


def owned_course(course_id: int) -> InlineKeyboardMarkup:
    return markup([[button(_("course-lessons"), CourseCb(action="lessons", course_id=course_id))]])


def course_opened(course_id: int, first_lesson: dict[str, Any] | None) -> InlineKeyboardMarkup:
    """Under «Курс открыт»: its first lesson (a new message, the notification stays) and the lesson list."""
    rows: list[list[InlineKeyboardButton]] = []
    if first_lesson is not None:
        text = _("course-start-lesson", order=first_lesson["order"], title=short(str(first_lesson["title"]), 32))
        lesson_data = LessonCb(action="open", course_id=course_id, lesson_id=first_lesson["lesson_id"], fresh=True)
        rows.append([button(text, lesson_data)])
    rows.append([button(_("course-lessons"), CourseCb(action="lessons", course_id=course_id, fresh=True))])
    return markup(rows)


def wallet_screen(*, confirm_purchases: bool, newer_ref: int | None, older_ref: int | None) -> InlineKeyboardMarkup:
    """«← Новее / Старее →» (shown when there is such a page), «Пополнить», the confirmation setting."""
    nav: list[InlineKeyboardButton] = []
    if newer_ref is not None:
        data = WalletCb(action="newer", ref=newer_ref) if newer_ref else WalletCb(action="show")
        nav.append(button(_("wallet-newer"), data))
    if older_ref:
        nav.append(button(_("wallet-older"), WalletCb(action="older", ref=older_ref)))
    state = _("wallet-on" if confirm_purchases else "wallet-off")
    toggle = WalletCb(action="confirm_off" if confirm_purchases else "confirm_on")
    return markup(
        [
            nav,
            [button(_("wallet-top-up"), TopUpCb(action="menu"))],
            [button(_("wallet-toggle-confirm", state=state), toggle)],
        ]
    )


def top_up_amounts(missing_coins: int, *, stars: bool) -> InlineKeyboardMarkup:
    """Preset amounts in roubles (first, what a course still needs, within the limits), «Другая сумма», Stars."""
    rows: list[list[InlineKeyboardButton]] = []
    suggested = missing_rub(missing_coins) if missing_coins > 0 else 0
    if suggested:
        key = "topup-difference" if suggested == missing_coins else "topup-preset"
        label = _(key, amount=format_amount(Decimal(suggested)))
        rows.append([button(label, TopUpCb(action="rub", amount=suggested))])
    presets = [
        button(
            _("topup-preset", amount=format_amount(Decimal(amount))),
            TopUpCb(action="rub", amount=amount),
        )
        for amount in TOP_UP_PRESETS_RUB
        if amount != suggested
    ]
    rows += [presets[i : i + 2] for i in range(0, len(presets), 2)]
    rows.append([button(_("topup-custom"), TopUpCb(action="custom"))])
    if stars:
        rows.append([button(_("topup-stars"), TopUpCb(action="stars_menu"))])
    rows.append([button(_("wallet-back"), WalletCb(action="show"))])
    return markup(rows)


def top_up_stars() -> InlineKeyboardMarkup:
    presets = [
        button(_("topup-stars-preset", stars=stars), TopUpCb(action="stars", amount=stars))
        for stars in TOP_UP_PRESETS_STARS
    ]
    rows = [presets[i : i + 2] for i in range(0, len(presets), 2)]
    rows.append([button(_("common-back"), TopUpCb(action="menu"))])
    return markup(rows)


def pay_top_up(amount_rub: int, confirmation_url: str) -> InlineKeyboardMarkup:
    label = _("topup-pay-button", amount=format_amount(Decimal(amount_rub)))
    return markup([[link(label, confirmation_url)]])


def balance_notification(*, top_up: bool = False) -> InlineKeyboardMarkup:
    """Under a balance notification: the balance screen (and «Пополнить» when the balance is low)."""
    rows = [[button(_("notify-balance-button"), WalletCb(action="show", fresh=True))]]
    if top_up:
        rows.insert(0, [button(_("wallet-top-up"), TopUpCb(action="menu", fresh=True))])
    return markup(rows)
