"""The Fluent catalogues: both languages say everything, with the same variables, and plurals follow CLDR."""

import ast
import re
from pathlib import Path

import pytest
from academy_gateway_bot.i18n import LOCALES, _, translations, use_locale
from fluent.syntax import FluentParser, FluentSerializer
from fluent.syntax import ast as fluent_ast

SOURCE = Path(__file__).parents[1] / "src" / "academy_gateway_bot"
LOCALES_DIR = SOURCE / "locales"


def _messages(locale: str) -> dict[str, set[str]]:
    """message id → the variables it uses (selectors included)."""
    serializer = FluentSerializer()
    found: dict[str, set[str]] = {}
    for path in sorted((LOCALES_DIR / locale).glob("*.ftl")):
        resource = FluentParser().parse(path.read_text(encoding="utf-8"))
        for entry in resource.body:
            assert not isinstance(entry, fluent_ast.Junk), f"{path.name}: {entry.annotations}"
            if isinstance(entry, fluent_ast.Message):
                found[entry.id.name] = set(re.findall(r"\$([A-Za-z][\w-]*)", serializer.serialize_entry(entry)))
    return found


def test_every_message_exists_in_every_language_with_the_same_variables():
    russian, english = _messages("ru"), _messages("en")
    assert set(russian) == set(english), {
        "only in ru": sorted(set(russian) - set(english)),
        "only in en": sorted(set(english) - set(russian)),
    }
    differ = {key: (russian[key], english[key]) for key in russian if russian[key] != english[key]}
    # English may drop a variable Russian needs for its grammar (and the reverse) only for a count
    # used solely to choose a plural form; nothing else may differ.
    assert not differ


_KEY = re.compile(r"[a-z]+(-[a-z0-9]+)+")


def _literal_keys() -> set[str]:
    keys: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    keys.add(first.value)
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and re.fullmatch(r"[a-z]+(-[a-z0-9]+)+", node.value)
            ):
                keys.add(node.value)  # keys chosen by a condition: `"wallet-on" if … else "wallet-off"`
    return keys


def test_every_key_the_code_names_is_translated():
    known = set(_messages("ru"))
    looks_like_keys = {key for key in _literal_keys() if key.split("-", 1)[0] in {k.split("-", 1)[0] for k in known}}
    assert looks_like_keys - known == set()


@pytest.mark.parametrize(
    ("locale", "days", "expected"),
    [
        ("ru", 1, "1 день подряд"),
        ("ru", 3, "3 дня подряд"),
        ("ru", 5, "5 дней подряд"),
        ("ru", 21, "21 день подряд"),
        ("ru", 112, "112 дней подряд"),
        ("en", 1, "1 day in a row"),
        ("en", 2, "2 days in a row"),
    ],
)
def test_plural_forms_follow_cldr(locale, days, expected):
    with use_locale(locale):
        assert _("ach-streak-days", days=days) == expected


@pytest.mark.parametrize(
    ("locale", "total", "expected"),
    [
        ("ru", 3, "Все 3 урока курса позади."),
        ("ru", 5, "Все 5 уроков курса позади."),
        ("ru", 1, "Единственный урок курса позади."),
        ("en", 1, "The only lesson is done."),
        ("en", 3, "All 3 lessons are done."),
    ],
)
def test_the_last_lesson_counts_the_lessons_in_words(locale, total, expected):
    with use_locale(locale):
        assert expected in _("lesson-done-course", title="Основы", total=total)


def test_both_locales_are_loaded():
    assert set(translations().available_locales) == set(LOCALES)
