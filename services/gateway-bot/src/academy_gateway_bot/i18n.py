"""The translation catalogue: every text the bot sends, Russian first, English second."""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram.utils.magic_filter import MagicFilter

DEFAULT_LOCALE = "ru"
LOCALES = ("ru", "en")
# Telegram language codes whose speakers read Russian more easily than English.
_RUSSIAN_READERS = {"ru", "uk", "be", "kk", "ky", "uz", "tg", "hy", "az", "ka"}

CATALOG: dict[str, dict[str, str]] = {
    "welcome.new": {
        "ru": "👋 Добро пожаловать в Beauty Academy, {name}!\n\n"
        "Здесь вы научитесь маникюру, педикюру, наращиванию ресниц, оформлению бровей, подологии, "
        "продвижению и ведению своего дела. Баллы за регистрацию уже начисляются.",
        "en": "👋 Welcome to Beauty Academy, {name}!\n\n"
        "Learn manicure, pedicure, lash extensions, brow design, podology, marketing and running your "
        "own business. Your welcome points are on their way.",
    },
    "welcome.back": {
        "ru": "С возвращением, {name}! 💅 Продолжим обучение?",
        "en": "Welcome back, {name}! 💅 Shall we continue learning?",
    },
    "points.awarded.welcome": {
        "ru": "🎁 +{points} баллов за регистрацию! Всего баллов: {total}.",
        "en": "🎁 +{points} points for joining! Total points: {total}.",
    },
    "points.awarded.other": {
        "ru": "⭐ +{points} баллов. Всего баллов: {total}.",
        "en": "⭐ +{points} points. Total points: {total}.",
    },
    "profile.card": {
        "ru": "👤 Профиль\n\nИмя: {name}\nГород: {city}\nБаллы: {points}\nУровень: {level}",
        "en": "👤 Profile\n\nName: {name}\nCity: {city}\nPoints: {points}\nLevel: {level}",
    },
    "profile.not_registered": {
        "ru": "Вы ещё не зарегистрированы. Отправьте /start.",
        "en": "You are not registered yet. Send /start.",
    },
    "value.unknown": {"ru": "не указан", "en": "not set"},
    "error.temporary": {
        "ru": "⚠️ Сервис временно недоступен. Попробуйте ещё раз через минуту.",
        "en": "⚠️ The service is temporarily unavailable. Please try again in a minute.",
    },
    "error.throttled": {
        "ru": "⏳ Слишком много сообщений. Подождите немного.",
        "en": "⏳ Too many messages. Please wait a moment.",
    },
    "menu.catalog": {"ru": "📚 Каталог курсов", "en": "📚 Course catalog"},
    "menu.my_courses": {"ru": "🎓 Мои курсы", "en": "🎓 My courses"},
    "menu.achievements": {"ru": "🏆 Баллы и достижения", "en": "🏆 Points & achievements"},
    "menu.communities": {"ru": "👥 Сообщества", "en": "👥 Communities"},
    "menu.profile": {"ru": "👤 Профиль", "en": "👤 Profile"},
    "menu.language": {"ru": "🌐 Язык / Language", "en": "🌐 Language / Язык"},
    "help": {
        "ru": "Команды:\n/start — начать\n/profile — профиль и баллы\n/help — помощь",
        "en": "Commands:\n/start — start\n/profile — profile and points\n/help — help",
    },
}


def locale_for(language_code: str | None) -> str:
    if not language_code:
        return DEFAULT_LOCALE
    primary = language_code.split("-", 1)[0].lower()
    return "ru" if primary in _RUSSIAN_READERS else "en"


def t(key: str, locale: str = DEFAULT_LOCALE, **values: Any) -> str:
    texts = CATALOG[key]
    template = texts.get(locale) or texts[DEFAULT_LOCALE]
    return template.format(**values)


def button_filter(key: str) -> MagicFilter:
    """Matches a reply-keyboard button by its catalogue key, whatever language it was shown in."""
    return F.text.in_(set(CATALOG[key].values()))
