"""One-line free-text fields refuse control and format characters (`academy_runtime.fields`)."""

from __future__ import annotations

from typing import Annotated

import pytest
from academy_runtime.fields import NoControlCharacters
from pydantic import BaseModel, StringConstraints, ValidationError


class _Profile(BaseModel):
    city: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), NoControlCharacters]


@pytest.mark.parametrize(
    ("value", "code_point"),
    [
        ("Казань\nУфа", "U+000A"),
        ("Омск\tТомск", "U+0009"),
        ("Омск\x1b[2J", "U+001B"),
        ("Омск\x7f", "U+007F"),
        ("Ом\x85ск", "U+0085"),  # NEL, a C1 control
        ("\u202eнаказ", "U+202E"),  # right-to-left override
        ("Мо\u200bсква", "U+200B"),  # zero-width space
        ("\u2066Москва\u2069", "U+2066"),  # left-to-right isolate
        ("Мо\ufeffсква", "U+FEFF"),
    ],
)
def test_control_and_format_characters_are_refused_naming_the_character(value, code_point):
    with pytest.raises(ValidationError) as refused:
        _Profile(city=value)

    (error,) = refused.value.errors()
    assert error["type"] == "control_characters"
    assert error["loc"] == ("city",)
    assert code_point in error["msg"]
    assert value not in error["msg"]


@pytest.mark.parametrize("value", ["Москва", "Ростов-на-Дону", "St. John's", "Orël", "東京", "  Казань \n"])
def test_plain_text_passes_and_surrounding_whitespace_is_stripped_first(value):
    assert _Profile(city=value).city == value.strip()
