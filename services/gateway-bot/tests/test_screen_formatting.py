"""Dates on the screens, as each language writes them (pure functions)."""

import pytest
from academy_gateway_bot.i18n import use_locale
from academy_gateway_bot.screens import format_date


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("ru", "05.03.2025"),
        ("en", "5 Mar 2025"),  # not 05.03.2025, which an English reader may take for the 3rd of May
    ],
)
def test_a_date_is_written_as_the_language_writes_it(locale: str, expected: str) -> None:
    with use_locale(locale):
        assert format_date("2025-03-05T21:30:00+00:00") == expected


def test_no_date_is_an_empty_string() -> None:
    with use_locale("en"):
        assert format_date(None) == ""
