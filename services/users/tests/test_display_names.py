"""The display name: first name and the initial of the last name, whatever the script and the shape."""

import pytest
from academy_users.accounts.names import DISPLAY_NAME_MAX_LENGTH, display_name


@pytest.mark.parametrize(
    ("full_name", "expected"),
    [
        ("Анна Петрова", "Анна П."),
        ("Anna Peterson", "Anna P."),
        ("  Анна   петрова  ", "Анна П."),  # spaces and a lower-case last name
        ("Анна", "Анна"),  # a single word stays as is
        ("Анна Сергеевна Петрова", "Анна П."),  # the patronymic is dropped
        ("Анна-Мария Петрова", "Анна-Мария П."),  # a hyphenated first name is kept whole
        ("Павел Серов-Лесной", "Павел С."),  # a hyphenated last name: its first initial
        ("María de la Cruz", "María C."),
        ("Ёлка ёжикова", "Ёлка Ё."),
        ("Zoe\u0301 e\u0301clair", "Zoé É."),  # combining accents: NFC first
        ("Анна\u200b Пе\u202etрова", "Анна П."),  # zero-width and bidi override characters go
        ("李 小龙", "李 小."),  # no case: the character as is
        ("Anna ßmith", "Anna ß."),  # "ß".upper() is two letters: kept as written
        ('Анна "Петрова"', "Анна П."),  # the initial is a letter, not a quote
        ("Анна -", "Анна"),  # nothing to take an initial from
    ],
)
def test_display_name(full_name: str, expected: str) -> None:
    assert display_name(full_name) == expected


@pytest.mark.parametrize("full_name", [None, "", "   ", "\u200b\u200b", "- ."])
def test_no_name_gives_none(full_name: str | None) -> None:
    assert display_name(full_name) is None


def test_a_long_name_is_cut_within_the_column() -> None:
    name = display_name("А" * 300 + " Петрова")
    assert name is not None
    assert len(name) <= DISPLAY_NAME_MAX_LENGTH
    assert name.endswith("… П.")


def test_the_full_last_name_is_never_kept() -> None:
    assert "Петрова" not in (display_name("Анна Петрова") or "")
