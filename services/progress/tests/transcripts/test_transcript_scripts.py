"""Every script a learner can type is drawn on the transcript by a font that has its glyphs (issue 8).

The check reads the PDF itself: each piece of text pypdf extracts comes with the font it was shown in
(the embedded subset's BaseFont), and every character of it must be in that font's cmap with a real
glyph. A character shown in a font without it is the blank box the issue is about; reportlab writes
it as glyph 0, which the ToUnicode map gives back as U+0000.
"""

import io
import unicodedata
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import font_roboto
import httpx
import justmytype_intl_cjk
import manimgx_fonts
import pytest
from pypdf import PdfReader
from reportlab.pdfbase.ttfonts import TTFontFace

pytestmark = pytest.mark.integration

LEARNER = 77


@pytest.fixture(autouse=True)
async def _registered_learners(register_learners):
    """The learners these tests write for, registered (an unknown one gets 404 `learner_not_found`)."""
    await register_learners(LEARNER)


EMOJI_COURSE = "Маникюр 💅"

NAMES = {
    "armenian": "Արմինե Հակոբյան",
    "georgian": "ნინო ბერიძე",
    "chinese": "王秀英",
    "japanese": "さくら 山田",
    "korean": "김민지",
    "arabic": "ليلى حسن",
    "hebrew": "שרה כהן",
    "greek": "Ελένη Παπαδοπούλου",
    "devanagari": "अनीता शर्मा",
    "thai": "สมศรี ใจดี",
    "vietnamese": "Nguyễn Thị Hồng",
    "emoji": "Аня 🌸✨",
}


def _font_directories() -> list[Path]:
    return [
        Path(font_roboto.__file__).parent / "files",
        Path(manimgx_fonts.__file__).parent,
        Path(justmytype_intl_cjk.__file__).parent / "fonts",
    ]


def _family(postscript_name: str) -> str:
    """`NotoSansSC-Thin` and `NotoSansSC-Regular` are one family: a variable font's instance is renamed."""
    return postscript_name.split("+", 1)[-1].lstrip("/").split("-", 1)[0]


@cache
def glyphs_by_family() -> dict[str, frozenset[int]]:
    """Code points with a real glyph (not .notdef), per font family installed by the project's font packages."""
    families: dict[str, set[int]] = {}
    for directory in _font_directories():
        for path in sorted(directory.rglob("*.ttf")):
            face = TTFontFace(str(path))
            chars = {cp for cp, glyph in face.charToGlyph.items() if glyph}
            families.setdefault(_family(face.name.decode()), set()).update(chars)
    return {family: frozenset(chars) for family, chars in families.items()}


def shown_runs(pdf: bytes) -> Iterator[tuple[str, str]]:
    """(font family, text) for every piece of text the PDF shows."""
    for page in PdfReader(io.BytesIO(pdf)).pages:
        runs: list[tuple[str, str]] = []

        def visit(text, _cm, _tm, font, _size, runs=runs):
            if text.strip():
                runs.append((_family(str(font["/BaseFont"])), text))

        page.extract_text(visitor_text=visit)
        yield from runs


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def assert_every_character_has_its_glyph(pdf: bytes) -> None:
    fonts = glyphs_by_family()
    blank = [
        (family, char, f"U+{ord(char):04X}")
        for family, text in shown_runs(pdf)
        for char in text
        if not char.isspace()
        # U+0000 is what ToUnicode says for glyph 0 (.notdef), even where a font maps NUL to a glyph
        and (unicodedata.category(char) == "Cc" or ord(char) not in fonts.get(family, frozenset()))
    ]
    assert not blank, f"characters drawn by a font without their glyph: {blank}"


async def _download(url: str) -> bytes:
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 200
    return response.content


@pytest.fixture
async def completed_emoji_course(api, project_course, make_course_event):
    await project_course(make_course_event(8, lesson_ids=(81,), title=EMOJI_COURSE))
    assert (await api.post(f"/internal/learners/{LEARNER}/enrolments", json={"course_id": 8})).status_code == 200
    assert (await api.post(f"/internal/learners/{LEARNER}/lessons/81/complete")).status_code == 200


@pytest.mark.parametrize("script", list(NAMES))
async def test_a_name_in_any_script_is_drawn_by_a_font_that_has_it(api, completed_emoji_course, users_avatars, script):
    name = NAMES[script]
    users_avatars.names[LEARNER] = name  # as the users service holds it

    response = await api.post(f"/internal/learners/{LEARNER}/transcript")

    assert response.status_code == 200, response.text
    pdf = await _download(response.json()["download_url"])
    assert_every_character_has_its_glyph(pdf)
    # Right-to-left names are drawn in visual order, Arabic in its joined presentation forms; pypdf
    # reads right-to-left text back into logical order, and NFKC maps the forms back to the letters.
    # A name drawn in logical order (garbled) would come back reversed.
    text = unicodedata.normalize("NFKC", pdf_text(pdf))
    assert name in text
    assert EMOJI_COURSE in text
