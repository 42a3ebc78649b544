"""Translations: Fluent files under `locales/<locale>/*.ftl`, read through aiogram-i18n.

Russian first, English second. A handler never passes the language around: `I18nMiddleware` opens
an `I18nContext` for every update with the language Telegram reports for the user, and
`LearnerContext` switches it to the language the registered learner chose. Code outside an update (a
notification built from an event) opens one with `use_locale(learner.locale)`. `_("key", **values)`
renders a message of the current context; plural forms follow CLDR through Fluent's selectors
(`{ $count -> [one] … [few] … *[many] … }`), so «3 урока», «5 уроков», «1 lesson» come out right.
Numbers passed as `int` are formatted for the locale («1 500» in Russian, «1,500» in English).

A key missing in a locale raises `KeyNotFoundError` instead of showing the key to a learner; a test
checks that both locales have the same keys with the same variables.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from aiogram import F
from aiogram.types import User
from aiogram.utils.magic_filter import MagicFilter
from aiogram_i18n import I18nContext, I18nMiddleware
from aiogram_i18n.cores import FluentRuntimeCore
from aiogram_i18n.managers.base import BaseManager

DEFAULT_LOCALE = "ru"
LOCALES = ("ru", "en")
LOCALES_PATH = Path(__file__).parent / "locales" / "{locale}"
# Telegram language codes whose speakers read Russian more easily than English.
_RUSSIAN_READERS = {"ru", "uk", "be", "kk", "ky", "uz", "tg", "hy", "az", "ka"}


def locale_for(language_code: str | None) -> str:
    """The bot's language for someone not registered yet, from Telegram's IETF language tag
    (`User.language_code`, e.g. "ru", "en-US", "kk"): Russian for readers of Russian, else English."""
    if not language_code:
        return DEFAULT_LOCALE
    primary = language_code.split("-", 1)[0].lower()
    return "ru" if primary in _RUSSIAN_READERS else "en"


@cache
def translations() -> FluentRuntimeCore:
    """The Fluent bundles of every locale, read from disk once per process (no I/O but files)."""
    core = FluentRuntimeCore(path=LOCALES_PATH, default_locale=DEFAULT_LOCALE, use_isolating=False)
    core.locales.update(core.find_locales())
    return core


class TelegramLanguageManager(BaseManager):
    """The update's starting language: the one Telegram reports for the user. `LearnerContext`
    replaces it with the registered learner's choice; the choice itself is stored by the users
    service (the language screen), so there is nothing to set here."""

    async def get_locale(self, event_from_user: User | None = None) -> str:
        return locale_for(event_from_user.language_code if event_from_user else None)

    async def set_locale(self, locale: str) -> None:
        """Nothing to store: `I18nContext.set_locale` switches the update's language, the users
        service keeps the learner's choice."""


def create_i18n_middleware() -> I18nMiddleware:
    """The update-level middleware that opens an `I18nContext` (see the module docstring)."""
    return I18nMiddleware(core=translations(), manager=TelegramLanguageManager(), default_locale=DEFAULT_LOCALE)


def _(key: str, /, **values: Any) -> str:
    """The message `key` in the current context's language, with `values` for its variables.

    Raises `LookupError` outside an update or `use_locale` block, `KeyNotFoundError` for an unknown key.
    """
    return I18nContext.get_current(no_error=False).get(key, **values)


def has_message(key: str) -> bool:
    """Whether `key` exists (in the default locale; a test keeps the locales' keys equal)."""
    return bool(translations().get_translator(DEFAULT_LOCALE).has_message(key))


def current_locale() -> str:
    """The language of the current update (or `use_locale` block)."""
    return I18nContext.get_current(no_error=False).locale


@contextmanager
def use_locale(locale: str) -> Iterator[I18nContext]:
    """Render in `locale` inside the block: a notification to a learner, or a screen right after the
    learner switched language. Works inside and outside an update."""
    current = I18nContext.get_current()
    if current is not None:
        with current.use_locale(locale) as context:
            yield context
        return
    context = I18nContext(locale=locale, core=translations(), manager=TelegramLanguageManager(), data={})
    with I18nContext.with_current(context):
        yield context


def in_every_locale(key: str, **values: Any) -> set[str]:
    """The texts of `key` in all locales (a reply-keyboard button matches whichever the learner saw)."""
    core = translations()
    return {core.get(key, locale, **values) for locale in LOCALES}


def button_filter(key: str) -> MagicFilter:
    """Matches a reply-keyboard button by its message key, whatever language it was shown in."""
    return F.text.in_(in_every_locale(key))
