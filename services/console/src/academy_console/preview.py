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
    },
    "en": {
        "lessons": "🎬 Lessons: {n}",
        "duration": "⏱ Duration: {d}",
        "hours": "{n} hours",
        "no_duration": "not set",
        "price": "💰 Price: {p}",
        "free": "Free",
        "free_lessons": "🔓 <b>Free preview lessons:</b>",
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


def course_card(course: dict[str, Any], category_title: str, locale: str = "ru") -> str:
    """The course card's text in Telegram HTML (every value escaped), for `telegram_html` to display."""
    texts = _TEXTS.get(locale, _TEXTS["ru"])
    hours = course.get("duration_hours")
    duration = texts["hours"].format(n=hours) if hours else texts["no_duration"]
    lines = [
        f"🎓 <b>{html.escape(str(course['title']), quote=False)}</b>",
        "",
        html.escape(str(course.get("full_description") or course.get("description") or ""), quote=False),
        "",
        f"📂 {html.escape(category_title, quote=False)}",
        texts["lessons"].format(n=course.get("lessons_count", len(course.get("lessons", [])))),
        texts["duration"].format(d=duration),
        "",
        texts["price"].format(p=format_price(course, locale)),
    ]
    free = [lesson for lesson in course.get("lessons", []) if lesson.get("is_free")]
    if free:
        lines += ["", texts["free_lessons"]]
        lines += [f"{lesson['order']}. {html.escape(str(lesson['title']), quote=False)}" for lesson in free[:5]]
    return "\n".join(lines)
