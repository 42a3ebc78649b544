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
    LessonCb,
    MyCoursesCb,
    RemindersCb,
    TopUpCb,
    WalletCb,
)
from academy_gateway_bot.i18n import t
from academy_gateway_bot.money import TOP_UP_PRESETS_RUB, TOP_UP_PRESETS_STARS, missing_rub
from academy_gateway_bot.screens import course_title, format_amount, format_coins, format_price, is_free, short

CATEGORIES_PER_ROW = 2


def button(text: str, data: Any) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def link(text: str, url: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, url=url)


def markup(rows: Iterable[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


def catalog_home(categories: dict[str, str], top: dict[str, Any] | None, locale: str) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if top is not None:
        title = short(course_title(top, locale), 32)
        rows.append(
            [button(t("catalog.top_button", locale, title=title), CourseCb(action="card", course_id=top["id"]))]
        )
    category_buttons = [
        button(title, CatalogCb(action="category", category=slug)) for slug, title in categories.items()
    ]
    rows += [category_buttons[i : i + CATEGORIES_PER_ROW] for i in range(0, len(category_buttons), CATEGORIES_PER_ROW)]
    return markup(rows)


def category_page(
    courses: list[dict[str, Any]], category: str, page: int, pages: int, locale: str
) -> InlineKeyboardMarkup:
    rows = [
        [
            button(
                t("catalog.course_button", locale, title=short(course_title(c, locale)), price=format_price(c, locale)),
                CourseCb(action="card", course_id=c["id"], category=category, page=page),
            )
        ]
        for c in courses
    ]
    if pages > 1:
        nav: list[InlineKeyboardButton] = []
        if page > 1:
            nav.append(button("◀️", CatalogCb(action="category", category=category, page=page - 1)))
        nav.append(button(t("catalog.page", locale, page=page, pages=pages), CatalogCb(action="noop")))
        if page < pages:
            nav.append(button("▶️", CatalogCb(action="category", category=category, page=page + 1)))
        rows.append(nav)
    rows.append([button(t("catalog.all_categories", locale), CatalogCb(action="categories"))])
    return markup(rows)


def enrol_button(course: dict[str, Any], locale: str, *, category: str = "", page: int = 0) -> InlineKeyboardButton:
    """ "Enrol for free", or "Buy for 4 900 ₽" for a paid course."""
    label = (
        t("course.enrol_free", locale)
        if is_free(course)
        else t("course.buy", locale, price=format_price(course, locale))
    )
    return button(label, CourseCb(action="enrol", course_id=course["id"], category=category, page=page))


def course_card(
    course: dict[str, Any],
    *,
    enrolled: bool,
    next_lesson_id: int | None,
    category: str,
    page: int,
    locale: str,
    offer: dict[str, Any] | None = None,
) -> InlineKeyboardMarkup:
    """The card's buttons; a paid course not owned yet gets billing's `offer` (Stars, coins, top-up)."""
    course_id = course["id"]
    rows: list[list[InlineKeyboardButton]] = []
    if not enrolled and is_free(course):
        rows.append([enrol_button(course, locale, category=category, page=page)])
    elif not enrolled:
        rows += payment_rows(offer, locale)
    elif next_lesson_id is not None:
        continue_data = LessonCb(action="open", course_id=course_id, lesson_id=next_lesson_id)
        rows.append([button(t("course.continue", locale), continue_data)])
    lessons_data = CourseCb(action="lessons", course_id=course_id, category=category, page=page)
    rows.append([button(t("course.lessons", locale), lessons_data)])
    back = CatalogCb(action="category", category=category, page=page) if category else CatalogCb(action="categories")
    rows.append([button(t("common.back", locale), back)])
    return markup(rows)


def payment_rows(offer: dict[str, Any] | None, locale: str) -> list[list[InlineKeyboardButton]]:
    """«Оплатить ⭐ N», and «Купить за N монет» when the wallet holds enough, else «Пополнить баланс»;
    a refresh button when billing could not be asked or the course is paid for and opening."""
    if offer is None:
        return []
    course_id = int(offer["course_id"])
    if offer.get("owned"):  # paid, progress not enrolled yet: the card shows the lessons in a moment
        return [[button(t("money.refresh", locale), CourseCb(action="card", course_id=course_id))]]
    if not offer.get("on_sale"):
        return []
    rows = [
        [button(t("money.pay_stars", locale, stars=offer["stars_price"]), BuyCb(action="stars", course_id=course_id))]
    ]
    coins = int(offer["coins_price"])
    if int(offer["balance"]) >= coins:
        label = t("money.buy_coins", locale, coins=format_coins(coins, locale, case="acc"))
        rows.append([button(label, BuyCb(action="coins", course_id=course_id, coins=coins))])
    else:
        top_up = TopUpCb(action="menu", amount=int(offer["missing_coins"]))
        rows.append([button(t("money.top_up_difference", locale), top_up)])
    return rows


def lesson_list(
    course_id: int, lessons: list[dict[str, Any]], *, category: str, page: int, locale: str
) -> InlineKeyboardMarkup:
    rows = []
    for lesson in lessons:
        if lesson["completed"]:
            mark = "✅"
        elif lesson["accessible"]:
            mark = "▶️"
        else:
            mark = "🔒"
        text = t("lessons.button", locale, mark=mark, order=lesson["order"], title=short(str(lesson["title"])))
        rows.append([button(text, LessonCb(action="open", course_id=course_id, lesson_id=lesson["lesson_id"]))])
    back = CourseCb(action="card", course_id=course_id, category=category, page=page)
    rows.append([button(t("lessons.back_to_course", locale), back)])
    return markup(rows)


def lesson_view(
    course: dict[str, Any], lesson: dict[str, Any], *, accessible: bool, completed: bool, locale: str
) -> InlineKeyboardMarkup:
    course_id = course["id"]
    rows: list[list[InlineKeyboardButton]] = []
    if accessible:
        if lesson.get("video_url"):
            rows.append([link(t("lesson.video", locale), lesson["video_url"])])
        if lesson.get("pdf_url"):
            rows.append([link(t("lesson.pdf", locale), lesson["pdf_url"])])
        if not completed:
            done = LessonCb(action="done", course_id=course_id, lesson_id=lesson["id"])
            rows.append([button(t("lesson.complete", locale), done)])
    else:
        rows.append([enrol_button(course, locale)])
    rows.append([button(t("lesson.to_list", locale), CourseCb(action="lessons", course_id=course_id))])
    return markup(rows)


def after_lesson(course_id: int, next_lesson: dict[str, Any] | None, locale: str) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if next_lesson is not None:
        text = t("lesson.next", locale, title=short(str(next_lesson["title"]), 32))
        # A new message: the progress line above stays in the chat.
        next_data = LessonCb(action="open", course_id=course_id, lesson_id=next_lesson["lesson_id"], fresh=True)
        rows.append([button(text, next_data)])
    rows.append([button(t("lesson.to_list", locale), CourseCb(action="lessons", course_id=course_id, fresh=True))])
    rows.append([button(t("menu.my_courses", locale), MyCoursesCb(action="list", fresh=True))])
    return markup(rows)


def start_course(course_id: int, first_lesson: dict[str, Any] | None, locale: str) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if first_lesson is not None:
        text = t(
            "course.start_lesson", locale, order=first_lesson["order"], title=short(str(first_lesson["title"]), 32)
        )
        rows.append([button(text, LessonCb(action="open", course_id=course_id, lesson_id=first_lesson["lesson_id"]))])
    rows.append([button(t("course.lessons", locale), CourseCb(action="lessons", course_id=course_id, fresh=True))])
    return markup(rows)


def my_courses(courses: list[dict[str, Any]], *, has_completed: bool, locale: str) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    for course in courses:
        title = short(course_title(course, locale), 36)
        if course["is_completed"]:
            rows.append(
                [
                    button(
                        t("my.review_button", locale, title=title),
                        CourseCb(action="lessons", course_id=course["course_id"]),
                    )
                ]
            )
        else:
            continue_data = CourseCb(action="continue", course_id=course["course_id"])
            rows.append([button(t("my.continue_button", locale, title=title), continue_data)])
    if has_completed:
        rows.append([button(t("my.transcript_button", locale), MyCoursesCb(action="transcript"))])
    return markup(rows)


def empty_my_courses(locale: str) -> InlineKeyboardMarkup:
    return markup([[button(t("my.open_catalog", locale), CatalogCb(action="categories"))]])


def achievements(locale: str) -> InlineKeyboardMarkup:
    return markup([[button(t("ach.leaderboard_button", locale), LeaderboardCb(scope="overall"))]])


def leaderboard_tabs(
    current: LeaderboardScope,
    current_category: str,
    *,
    city: str | None,
    categories: dict[str, str],
    locale: str,
) -> InlineKeyboardMarkup:
    """Tabs: overall, the learner's city, one per category of the learner's courses; the open one marked."""

    def tab(text: str, selected: bool) -> str:
        return f"• {text} •" if selected else text

    first_row = [button(tab(t("lb.scope.overall", locale), current == "overall"), LeaderboardCb(scope="overall"))]
    if city:
        city_tab = tab(t("lb.scope.city", locale, city=short(city, 20)), current == "city")
        first_row.append(button(city_tab, LeaderboardCb(scope="city")))
    rows = [first_row]
    category_buttons = [
        button(
            tab(t("lb.scope.category", locale, category=title), current == "category" and slug == current_category),
            LeaderboardCb(scope="category", category=slug),
        )
        for slug, title in categories.items()
    ]
    rows += [category_buttons[i : i + CATEGORIES_PER_ROW] for i in range(0, len(category_buttons), CATEGORIES_PER_ROW)]
    rows.append([button(t("lb.back", locale), AchievementsCb())])
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


def achievement_unlocked(locale: str) -> InlineKeyboardMarkup:
    return markup([[button(t("notify.achievements_button", locale), AchievementsCb(fresh=True))]])


def course_completed(next_course: dict[str, Any] | None, locale: str) -> InlineKeyboardMarkup:
    rows = [[button(t("my.transcript_button", locale), MyCoursesCb(action="transcript", fresh=True))]]
    if next_course is not None:
        title = short(course_title(next_course, locale), 36)
        next_data = CourseCb(action="card", course_id=next_course["id"], fresh=True)
        rows.append([button(t("notify.next_course_button", locale, title=title), next_data)])
    return markup(rows)


def inactivity_reminder(course_id: int | None, next_lesson: dict[str, Any] | None, locale: str) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if course_id is not None and next_lesson is not None:
        text = t("notify.continue_button", locale, title=short(str(next_lesson["title"]), 32))
        lesson_data = LessonCb(action="open", course_id=course_id, lesson_id=next_lesson["lesson_id"], fresh=True)
        rows.append([button(text, lesson_data)])
    else:
        rows.append([button(t("my.open_catalog", locale), CatalogCb(action="categories"))])
    rows.append([button(t("reminders.off_button", locale), RemindersCb(action="off"))])
    return markup(rows)


def reminders_off(locale: str) -> InlineKeyboardMarkup:
    return markup([[button(t("reminders.on_button", locale), RemindersCb(action="on"))]])


# -- money -----------------------------------------------------------------------------------------


def confirm_purchase(course_id: int, coins: int, locale: str) -> InlineKeyboardMarkup:
    label = t("money.confirm_button", locale, coins=format_coins(coins, locale, case="acc"))
    return markup(
        [
            [button(label, BuyCb(action="confirm", course_id=course_id, coins=coins))],
            [button(t("money.cancel_button", locale), CourseCb(action="card", course_id=course_id))],
        ]
    )


def after_refusal(course_id: int, offer: dict[str, Any] | None, locale: str) -> InlineKeyboardMarkup:
    """Under "not enough coins" / "the price changed": the payment buttons as they are now, and the card."""
    rows = payment_rows(offer, locale)
    rows.append([button(t("lessons.back_to_course", locale), CourseCb(action="card", course_id=course_id))])
    return markup(rows)


def owned_course(course_id: int, locale: str) -> InlineKeyboardMarkup:
    return markup([[button(t("course.lessons", locale), CourseCb(action="lessons", course_id=course_id))]])


def course_opened(course_id: int, first_lesson: dict[str, Any] | None, locale: str) -> InlineKeyboardMarkup:
    """Under «Курс открыт»: its first lesson (a new message, the notification stays) and the lesson list."""
    rows: list[list[InlineKeyboardButton]] = []
    if first_lesson is not None:
        text = t(
            "course.start_lesson", locale, order=first_lesson["order"], title=short(str(first_lesson["title"]), 32)
        )
        lesson_data = LessonCb(action="open", course_id=course_id, lesson_id=first_lesson["lesson_id"], fresh=True)
        rows.append([button(text, lesson_data)])
    rows.append([button(t("course.lessons", locale), CourseCb(action="lessons", course_id=course_id, fresh=True))])
    return markup(rows)


def wallet_screen(
    *, confirm_purchases: bool, newer_ref: int | None, older_ref: int | None, locale: str
) -> InlineKeyboardMarkup:
    """«← Новее / Старее →» (shown when there is such a page), «Пополнить», the confirmation setting."""
    nav: list[InlineKeyboardButton] = []
    if newer_ref is not None:
        data = WalletCb(action="newer", ref=newer_ref) if newer_ref else WalletCb(action="show")
        nav.append(button(t("wallet.newer", locale), data))
    if older_ref:
        nav.append(button(t("wallet.older", locale), WalletCb(action="older", ref=older_ref)))
    state = t("wallet.on" if confirm_purchases else "wallet.off", locale)
    toggle = WalletCb(action="confirm_off" if confirm_purchases else "confirm_on")
    return markup(
        [
            nav,
            [button(t("wallet.top_up", locale), TopUpCb(action="menu"))],
            [button(t("wallet.toggle_confirm", locale, state=state), toggle)],
        ]
    )


def top_up_amounts(missing_coins: int, *, stars: bool, locale: str) -> InlineKeyboardMarkup:
    """Preset amounts in roubles (first, what a course still needs, within the limits), «Другая сумма», Stars."""
    rows: list[list[InlineKeyboardButton]] = []
    suggested = missing_rub(missing_coins) if missing_coins > 0 else 0
    if suggested:
        key = "topup.difference" if suggested == missing_coins else "topup.preset"
        label = t(key, locale, amount=format_amount(Decimal(suggested), locale))
        rows.append([button(label, TopUpCb(action="rub", amount=suggested))])
    presets = [
        button(
            t("topup.preset", locale, amount=format_amount(Decimal(amount), locale)),
            TopUpCb(action="rub", amount=amount),
        )
        for amount in TOP_UP_PRESETS_RUB
        if amount != suggested
    ]
    rows += [presets[i : i + 2] for i in range(0, len(presets), 2)]
    rows.append([button(t("topup.custom", locale), TopUpCb(action="custom"))])
    if stars:
        rows.append([button(t("topup.stars", locale), TopUpCb(action="stars_menu"))])
    rows.append([button(t("wallet.back", locale), WalletCb(action="show"))])
    return markup(rows)


def top_up_stars(locale: str) -> InlineKeyboardMarkup:
    presets = [
        button(t("topup.stars_preset", locale, stars=stars), TopUpCb(action="stars", amount=stars))
        for stars in TOP_UP_PRESETS_STARS
    ]
    rows = [presets[i : i + 2] for i in range(0, len(presets), 2)]
    rows.append([button(t("common.back", locale), TopUpCb(action="menu"))])
    return markup(rows)


def pay_top_up(amount_rub: int, confirmation_url: str, locale: str) -> InlineKeyboardMarkup:
    label = t("topup.pay_button", locale, amount=format_amount(Decimal(amount_rub), locale))
    return markup([[link(label, confirmation_url)]])


def balance_notification(locale: str, *, top_up: bool = False) -> InlineKeyboardMarkup:
    """Under a balance notification: the balance screen (and «Пополнить» when the balance is low)."""
    rows = [[button(t("notify.balance_button", locale), WalletCb(action="show", fresh=True))]]
    if top_up:
        rows.insert(0, [button(t("wallet.top_up", locale), TopUpCb(action="menu", fresh=True))])
    return markup(rows)
