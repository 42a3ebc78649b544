"""The transcript's fixed texts in the learner's language, with CLDR plurals, dates and numbers (Babel).

Russian is the default; the bot calls the document «Справка об обучении» and so does the PDF.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal

Language = Literal["ru", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "ru"


def resolve_language(tag: str | None) -> Language:
    """The transcript language for a language tag (`en`, `en-GB`, `ru_RU`...); Russian for any other."""
    primary = (tag or "").replace("_", "-").split("-", 1)[0].lower()
    for language in LANGUAGES:
        if primary == language:
            return language
    return DEFAULT_LANGUAGE


@dataclass(frozen=True)
class TranscriptTexts:
    """Everything the PDF says besides the learner's data; `{}` fields are filled by `str.format`."""

    document_title: str
    academy: str
    learner: str
    learner_without_name: str
    course: str
    course_without_title: str
    category: str
    started: str
    completed: str
    hours: str
    total: str
    summary: str
    courses_plural: dict[str, str]
    hours_plural: dict[str, str]
    categories: dict[str, str]
    date_format: str


TEXTS: dict[Language, TranscriptTexts] = {
    "ru": TranscriptTexts(
        document_title="Справка об обучении",
        academy="Beauty Academy",
        learner="Учащийся: {}",
        learner_without_name="Учащийся №{}",
        course="Курс",
        course_without_title="Курс №{}",
        category="Категория",
        started="Начат",
        completed="Завершён",
        hours="Часов",
        total="Итого",
        summary="Пройдено: {courses}, {hours} обучения",
        courses_plural={"one": "{} курс", "few": "{} курса", "many": "{} курсов", "other": "{} курса"},
        hours_plural={"one": "{} час", "few": "{} часа", "many": "{} часов", "other": "{} часа"},
        categories={
            "manicure": "Маникюр",
            "pedicure": "Педикюр",
            "eyelashes": "Ресницы",
            "podology": "Подология",
            "eyebrows": "Брови",
            "marketing": "Реклама и маркетинг",
            "business": "Своё дело",
        },
        date_format="short",  # 06.03.2026
    ),
    "en": TranscriptTexts(
        document_title="Learning transcript",
        academy="Beauty Academy",
        learner="Learner: {}",
        learner_without_name="Learner #{}",
        course="Course",
        course_without_title="Course #{}",
        category="Category",
        started="Started",
        completed="Completed",
        hours="Hours",
        total="Total",
        summary="Completed: {courses}, {hours} of learning",
        courses_plural={"one": "{} course", "other": "{} courses"},
        hours_plural={"one": "{} hour", "other": "{} hours"},
        # The catalog's English category titles.
        categories={
            "manicure": "Manicure",
            "pedicure": "Pedicure",
            "eyelashes": "Eyelashes",
            "podology": "Podology",
            "eyebrows": "Eyebrows",
            "marketing": "Advertising and marketing",
            "business": "Own business",
        },
        date_format="medium",  # Mar 6, 2026 (the short form, 3/6/26, is ambiguous)
    ),
}


@cache
def _locale(language: Language) -> Locale:
    return Locale.parse(language)


class Localizer:
    """The transcript's texts, numbers and dates for one language."""

    def __init__(self, language: Language) -> None:
        self.language = language
        self.texts = TEXTS[language]

    def number(self, value: int) -> str:
        return format_decimal(value, locale=_locale(self.language))

    def count(self, value: int, forms: dict[str, str]) -> str:
        """`value` with its noun in the right CLDR plural form: «3 курса», «5 курсов», «1 course»."""
        form = _locale(self.language).plural_form(value)
        return forms.get(form, forms["other"]).format(self.number(value))

    def date(self, value: str, zone: ZoneInfo) -> str:
        """An ISO timestamp as the learner's calendar day, in the locale's format."""
        day = datetime.fromisoformat(value).astimezone(zone).date()
        return format_date(day, format=self.texts.date_format, locale=_locale(self.language))

    def category(self, slug: str | None) -> str:
        return self.texts.categories.get(slug or "", slug or "")

    def summary(self, courses: int, hours: int) -> str:
        return self.texts.summary.format(
            courses=self.count(courses, self.texts.courses_plural),
            hours=self.count(hours, self.texts.hours_plural),
        )
