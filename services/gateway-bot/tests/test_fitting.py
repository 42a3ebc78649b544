"""Fitting stored text into Telegram's limits: valid HTML, UTF-16 lengths, whole characters and emoji.

Every result is read back with the Bot API emulator's HTML parser (it follows TDLib's), so "fits"
means what Telegram would check: the parsed text's UTF-16 length, and no parse error.
"""

import pytest
from academy_gateway_bot.fitting import (
    CAPTION_LIMIT,
    ELLIPSIS,
    TEXT_LIMIT,
    fit,
    paginate,
    split,
    telegram_length,
    truncate,
    utf16_length,
)
from academy_gateway_bot.screens import escape
from academy_tg_emulator.formatting import format_text, parse_html


def parsed(source: str) -> tuple[str, list[dict]]:
    """What Telegram makes of an HTML message: its text (trimmed) and entities; raises on invalid HTML."""
    return format_text(source, "HTML", None)


def bold_ranges(source: str) -> list[str]:
    text, entities = parse_html(source)
    units = text.encode("utf-16-le")
    return [
        units[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
        for e in entities
        if e["type"] == "bold"
    ]


def test_length_is_counted_in_utf16_units_after_parsing():
    assert telegram_length("<b>Урок</b> &lt;1&gt; &amp; 2") == len("Урок <1> & 2")
    assert telegram_length("😀") == 2  # outside the BMP: a surrogate pair
    assert telegram_length("&#128512;") == 2
    assert telegram_length('<a href="https://example.com/a?b=1&amp;c=2">x</a>') == 1
    assert utf16_length("👩‍👩‍👧") == 8  # three emoji (two units each) and two joiners
    for sample in ("<i>Ногти</i> 💅 &quot;гель&quot;", "🇷🇺 <u>флаг</u>", "e\u0301"):
        assert telegram_length(sample) == utf16_length(parsed(sample)[0])


def test_text_that_fits_is_left_as_it_is():
    source = "<b>Курс</b> &lt;без&gt; сокращений 💅"
    assert truncate(source, telegram_length(source)) == source
    assert fit(lambda part: f"<b>Заголовок</b>\n\n{part}", source).shortened is False


def test_truncating_cuts_at_a_word_adds_an_ellipsis_and_fits():
    words = " ".join(["маникюр"] * 2000)  # 15,999 characters

    result = truncate(words, TEXT_LIMIT)

    text, _ = parsed(result)
    assert utf16_length(text) <= TEXT_LIMIT
    assert text.endswith("маникюр" + ELLIPSIS)  # whole words only
    assert utf16_length(text) > TEXT_LIMIT - len(" маникюр…")


@pytest.mark.parametrize("limit", range(1, 90))
def test_no_cut_falls_inside_a_tag_or_an_entity_and_open_tags_are_closed(limit):
    source = escape('<script> & "кавычки"') + " <b>жирный <i>курсив &amp; ещё</i> хвост</b> 🙂 &#128512; конец"

    result = truncate(source, limit)

    text, _ = parsed(result)  # the emulator refuses a broken tag or entity, as Telegram does
    assert utf16_length(text) <= limit
    full_text = parse_html(source)[0]
    assert full_text.startswith(text.removesuffix(ELLIPSIS).rstrip())


GRAPHEMES = ["👩‍👩‍👧", " ", "🇷🇺", "🇫🇷", " ", "👍🏽", "1️⃣", " ", "é", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "a", "💅"]


@pytest.mark.parametrize("limit", range(2, 60))
def test_emoji_sequences_flags_and_combining_marks_stay_whole(limit):
    source = "".join(GRAPHEMES) * 2
    whole = ["".join((GRAPHEMES * 2)[:n]) for n in range(len(GRAPHEMES) * 2 + 1)]

    kept = parse_html(truncate(source, limit))[0].removesuffix(ELLIPSIS)

    assert utf16_length(kept) + len(ELLIPSIS) <= limit or kept == source
    assert kept in whole or kept.rstrip() in whole  # a cut only between whole characters


def test_splitting_keeps_every_character_reopens_tags_and_each_part_fits():
    paragraph = "<b>Раздел</b>\n" + " ".join(f"слово{n} 💅" for n in range(200))
    source = "\n\n".join([paragraph] * 6) + " <i>" + "курсив " * 400 + "</i>"

    parts = split(source, 1000)

    assert len(parts) > 1
    texts = [parsed(part)[0] for part in parts]
    assert all(utf16_length(text) <= 1000 for text in texts)
    assert " ".join(texts).split() == parse_html(source)[0].split()  # nothing lost, nothing doubled
    # The italic run cut across parts is italic in each of them.
    italic_parts = [part for part in parts if "курсив" in part]
    assert len(italic_parts) > 1
    assert all(part.startswith("<i>") or "<i>" in part for part in italic_parts)
    assert all(part.endswith("</i>") for part in italic_parts)


def test_splitting_prefers_paragraph_breaks():
    first = "Первый абзац. " * 30
    second = "Второй абзац. " * 30
    parts = split(f"{first}\n\n{second}", utf16_length(first) + 100)
    assert parse_html(parts[0])[0].rstrip() == first.rstrip()
    assert parse_html(parts[1])[0].startswith("Второй")


def test_bold_cut_across_parts_stays_bold_on_both():
    parts = split("<b>" + "жирный " * 300 + "</b>", 1000)
    assert len(parts) == 3
    assert all(bold_ranges(part) for part in parts)


def test_fit_shortens_only_the_stored_part_and_keeps_the_frame():
    description = escape("Описание <без тегов> & " * 1000)

    def card(part: str) -> str:
        return f"🎓 <b>Курс</b>\n\n{part}\n\n💰 Цена: 4 900 ₽"

    for limit in (TEXT_LIMIT, CAPTION_LIMIT):
        fitted = fit(card, description, limit)
        text, _ = parsed(fitted.text)
        assert fitted.shortened is True
        assert utf16_length(text) <= limit
        assert text.startswith("🎓 Курс\n\nОписание <без тегов> & ")
        assert text.endswith(f"{ELLIPSIS}\n\n💰 Цена: 4 900 ₽")


def test_fit_still_fits_when_the_frame_alone_is_too_long():
    title = escape("Очень длинное название <курса> " * 60)
    fitted = fit(lambda part: f"<b>{title}</b>\n\n{part}", "описание", CAPTION_LIMIT)
    assert fitted.shortened is True
    assert utf16_length(parsed(fitted.text)[0]) <= CAPTION_LIMIT


def test_pages_each_fit_with_their_frame_and_number():
    content = escape("Полное описание курса с эмодзи 💅 и <угловыми скобками>. " * 400)

    pages = paginate(lambda part, page, pages: f"<b>Курс</b> · {page}/{pages}\n\n{part}", content)

    assert len(pages) > 1
    for number, page in enumerate(pages, start=1):
        text, _ = parsed(page)
        assert utf16_length(text) <= TEXT_LIMIT
        assert text.startswith(f"Курс · {number}/{len(pages)}")
    joined = " ".join(parsed(page)[0].split("\n\n", 1)[1] for page in pages)
    assert joined.split() == parse_html(content)[0].split()
