"""Per-character font fallback: every character goes to a font that has it, or visibly to U+FFFD."""

import io

import pytest
from academy_progress.transcripts import fonts
from academy_progress.transcripts.fonts import (
    CJK_JP,
    CJK_KR,
    CJK_SC,
    NOTO_EMOJI,
    NOTO_SANS,
    REPLACEMENT_CHARACTER,
    ROBOTO,
    ROBOTO_BOLD,
    TranscriptFonts,
    coverage,
    split_by_font,
    visual_order,
)
from prometheus_client import REGISTRY
from pypdf import PdfReader
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph, SimpleDocTemplate

ADLAM = "\U0001e900"  # a script none of the installed fonts covers


def missing_glyphs_total() -> float:
    return REGISTRY.get_sample_value("academy_progress_transcript_missing_glyphs_total") or 0.0


@pytest.mark.parametrize(
    "text",
    [
        "Արմինե Հակոբյան",
        "ნინო ბერიძე",
        "王秀英",
        "ليلى حسن",
        "Маникюр 💅",
        "Анна (ანა) — 김민지, さくら & Ελένη!",
        "नमस्ते สวัสดี ሰላም",
    ],
)
def test_every_character_goes_to_a_font_whose_cmap_has_it(text):
    runs, missing = split_by_font(visual_order(text))

    assert missing == []
    assert "".join(run for _, run in runs).replace(" ", "") != ""
    for font, run in runs:
        lacking = [f"U+{ord(char):04X}" for char in run if ord(char) not in coverage(font)]
        assert not lacking, f"{font.name} lacks {lacking}"


def test_the_transcripts_own_face_draws_latin_and_cyrillic_and_the_rest_falls_back():
    runs, _ = split_by_font("Маникюр 💅")

    assert [(font, run) for font, run in runs] == [(ROBOTO, "Маникюр "), (NOTO_EMOJI, "💅")]
    assert split_by_font("Итого", bold=True)[0] == [(ROBOTO_BOLD, "Итого")]


def test_han_characters_follow_the_texts_kana_or_hangul():
    assert [font for font, _ in split_by_font("山田 さくら")[0]] == [CJK_JP]
    assert [font for font, _ in split_by_font("金民智 김민지")[0]] == [CJK_KR]
    assert [font for font, _ in split_by_font("王秀英")[0]] == [CJK_SC]


def test_a_character_no_font_has_is_drawn_as_a_replacement_and_counted():
    runs, missing = split_by_font(f"Ann{ADLAM}a")

    assert missing == [ord(ADLAM)]
    assert (NOTO_SANS, REPLACEMENT_CHARACTER) in runs
    assert ord(REPLACEMENT_CHARACTER) in coverage(NOTO_SANS)


def test_invisible_characters_are_not_counted_as_missing():
    runs, missing = split_by_font("👩\u200d💻 ❤\ufe0f \u200eAnna")

    assert missing == []
    assert "Anna" in "".join(run for _, run in runs)


def test_arabic_is_joined_and_put_in_visual_order():
    # ليلى: lam, yeh, lam + alef maksura; drawn left to right: the lam-alef maksura ligature (final),
    # yeh (medial), lam (initial).
    assert visual_order("ليلى") == "\ufc86\ufef4\ufedf"
    assert visual_order("שרה כהן") == "ןהכ הרש"
    assert visual_order("Маникюр") == "Маникюр"


def test_markup_escapes_the_learners_text():
    markup = TranscriptFonts().markup("A <b>&amp; Z")

    assert markup == '<font name="Roboto">A &lt;b&gt;&amp;amp; Z</font>'


def test_a_rendered_document_counts_its_missing_characters_and_registers_cjk_only_for_itself():
    document_fonts = TranscriptFonts()
    style = ParagraphStyle("body", fontName=fonts.base_font())
    markups = [document_fonts.markup(f"王秀英 {ADLAM}{ADLAM}"), document_fonts.markup("Маникюр 💅")]
    before = missing_glyphs_total()
    buffer = io.BytesIO()

    with document_fonts.registered():
        SimpleDocTemplate(buffer).build([Paragraph(markup, style) for markup in markups])

    assert missing_glyphs_total() == before + 2
    text = PdfReader(io.BytesIO(buffer.getvalue())).pages[0].extract_text()
    assert "王秀英" in text
    assert "💅" in text  # beyond U+FFFF: needs the ToUnicode fix to be extractable
    assert not any(name.startswith("NotoSansSC-") for name in fonts.pdfmetrics.getRegisteredFontNames())
