"""The transcript's words in the learner's language: CLDR plurals, dates and numbers from Babel."""

from zoneinfo import ZoneInfo

import pytest
from academy_progress.transcripts.texts import Localizer, resolve_language


@pytest.mark.parametrize(
    ("tag", "language"),
    [("en", "en"), ("en-GB", "en"), ("EN_us", "en"), ("ru", "ru"), ("ru-RU", "ru"), ("de", "ru"), (None, "ru")],
)
def test_a_language_tag_picks_english_or_russian(tag, language):
    assert resolve_language(tag) == language


@pytest.mark.parametrize(
    ("courses", "hours", "summary"),
    [
        (1, 1, "Пройдено: 1 курс, 1 час обучения"),
        (3, 2, "Пройдено: 3 курса, 2 часа обучения"),
        (5, 12, "Пройдено: 5 курсов, 12 часов обучения"),
        (21, 1234, "Пройдено: 21 курс, 1\xa0234 часа обучения"),
    ],
)
def test_russian_counts_take_the_cldr_plural_form(courses, hours, summary):
    assert Localizer("ru").summary(courses, hours) == summary


@pytest.mark.parametrize(
    ("courses", "hours", "summary"),
    [
        (1, 1, "Completed: 1 course, 1 hour of learning"),
        (3, 1234, "Completed: 3 courses, 1,234 hours of learning"),
    ],
)
def test_english_counts_take_the_cldr_plural_form(courses, hours, summary):
    assert Localizer("en").summary(courses, hours) == summary


def test_dates_are_in_the_locales_format_and_the_learners_time_zone():
    completed = "2026-03-05T22:30:00+00:00"  # already 6 March in Vladivostok
    zone = ZoneInfo("Asia/Vladivostok")

    assert Localizer("ru").date(completed, zone) == "06.03.2026"
    assert Localizer("en").date(completed, zone) == "Mar 6, 2026"
