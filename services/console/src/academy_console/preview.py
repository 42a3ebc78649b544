"""A course as the bot's course card shows it (services/gateway-bot: handlers/learning.py `show_course` with
the `course-card` and `course-price` messages of locales/<lang>/learning.ftl and money.ftl, and
screens.format_price), rebuilt here without importing the gateway, in Telegram's HTML subset.

What the card adds for one learner (enrol/continue buttons, their wallet, progress) is left out: an operator
previews what every learner sees first. Keep the texts in step with the gateway's Fluent files.
"""

from __future__ import annotations

import html
from decimal import Decimal, InvalidOperation
from typing import Any

_CURRENCY_SIGNS = {"RUB": "₽", "USD": "$", "XTR": "⭐"}
_TEXTS = {
    "ru": {
        "lessons": "🎬 Уроков: {n}",
        "duration": "⏱ Длительность: {d}",
        "hours": "{n} ч",
        "no_duration": "не указана",
        "price": "💰 Цена: {p}",
        "free": "Бесплатно",
        "free_lessons": "🔓 <b>Бесплатные уроки:</b>",
        "more": "…и ещё {n}",
    },
    "en": {
        "lessons": "🎬 Lessons: {n}",
        "duration": "⏱ Duration: {d}",
        "hours": "{n} hours",
        "no_duration": "not set",
        "price": "💰 Price: {p}",
        "free": "Free",
        "free_lessons": "🔓 <b>Free preview lessons:</b>",
        "more": "…and {n} more",
    },
}


def _amount(amount: Decimal, locale: str) -> str:
    whole = amount == amount.to_integral_value()
    text = f"{amount:,.0f}" if whole else f"{amount:,.2f}"
    return text.replace(",", "\u00a0").replace(".", ",") if locale == "ru" else text


def format_price(course: dict[str, Any], locale: str) -> str:
    """«Бесплатно» / «4 900 ₽» / «250 ⭐» (en: «Free» / «4,900 ₽»), as screens.format_price."""
    try:
        amount = Decimal(str(course.get("price") or 0))
    except InvalidOperation:
        amount = Decimal(0)
    if amount <= 0:
        return _TEXTS[locale]["free"]
    currency = str(course.get("currency") or "RUB")
    return f"{_amount(amount, locale)} {_CURRENCY_SIGNS.get(currency, currency)}"


FREE_LESSONS_LISTED = 5
FREE_LESSON_TITLE_CHARS = 80


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def course_card(course: dict[str, Any], category_title: str, locale: str = "ru") -> str:
    """The course card's text in Telegram HTML (every value escaped), for `telegram_html` to display: the
    title, the short description and then the full one (handlers/learning.py `course_about`), category,
    lessons, duration, price, and the free preview lessons (`free_lessons_text`)."""
    texts = _TEXTS.get(locale, _TEXTS["ru"])
    hours = course.get("duration_hours")
    duration = texts["hours"].format(n=hours) if hours else texts["no_duration"]
    about = html.escape(str(course.get("description") or ""), quote=False)
    full = str(course.get("full_description") or "").strip()
    if full and full != str(course.get("description") or "").strip():
        about += "\n\n" + html.escape(full, quote=False)
    lines = [
        f"🎓 <b>{html.escape(str(course['title']), quote=False)}</b>",
        "",
        about,
        "",
        f"📂 {html.escape(category_title, quote=False)}",
        texts["lessons"].format(n=course.get("lessons_count", len(course.get("lessons", [])))),
        texts["duration"].format(d=duration),
        texts["price"].format(p=format_price(course, locale)),
    ]
    free = [lesson for lesson in course.get("lessons", []) if lesson.get("is_free")]
    if free:
        lines += ["", texts["free_lessons"]]
        lines += [
            f"• {lesson['order']}. {html.escape(_short(str(lesson['title']), FREE_LESSON_TITLE_CHARS), quote=False)}"
            for lesson in free[:FREE_LESSONS_LISTED]
        ]
        if len(free) > FREE_LESSONS_LISTED:
            lines.append(texts["more"].format(n=len(free) - FREE_LESSONS_LISTED))
    return "\n".join(lines)
