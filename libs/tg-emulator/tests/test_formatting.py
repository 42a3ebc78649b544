"""parse_mode handling against TDLib's own parser test cases (byte offsets, UTF-16 entity offsets)."""

from __future__ import annotations

import pytest
from academy_tg_emulator.errors import ApiError
from academy_tg_emulator.formatting import (
    detect_entities,
    format_text,
    parse_html,
    parse_markdown,
    parse_markdown_v2,
    utf16_len,
)

PREFIX = "🏟 🏟&lt;"  # 13 bytes, as in TDLib's tests


def _error(parse: object, source: str) -> str:
    assert callable(parse)
    with pytest.raises(ApiError) as caught:
        parse(source)
    assert caught.value.error_code == 400
    return caught.value.description.removeprefix("Bad Request: can't parse entities: ")


def _spans(entities: list[dict[str, object]]) -> list[tuple[object, object, object]]:
    return [(entity["type"], entity["offset"], entity["length"]) for entity in entities]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (PREFIX + "<abacaba", "Unclosed start tag at byte offset 13"),
        (PREFIX + "<abac aba>", 'Unsupported start tag "abac" at byte offset 13'),
        (PREFIX + "<i   =aba>", 'Empty attribute name in the tag "i" at byte offset 13'),
        (PREFIX + "<i    aba>", 'Can\'t find end tag corresponding to start tag "i"'),
        (PREFIX + "<i    aba  =  ", 'Unclosed start tag "i" at byte offset 13'),
        (PREFIX + "<i    aba  =  190azAz-.,", "Unexpected end of name token at byte offset 27"),
        (PREFIX + '<i    aba  =  "&lt;&gt;&quot;>', "Unclosed start tag at byte offset 13"),
        (PREFIX + "</", "Unexpected end tag at byte offset 13"),
        (PREFIX + "<b></b></", "Unexpected end tag at byte offset 20"),
        (PREFIX + "<i>a</i   ", "Unclosed end tag at byte offset 17"),
        (PREFIX + "<i>a</em   >", 'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"'),
        ("<b>Welcome", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        (
            "&#xDFDF",
            (
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            ),
        ),
    ],
)
def test_html_refusals_match_telegram(source: str, message: str) -> None:
    assert _error(parse_html, source) == message


@pytest.mark.parametrize(
    ("source", "text", "spans"),
    [
        ("➡️ ➡️<i>➡️ ➡️</i>", "➡️ ➡️➡️ ➡️", [("italic", 5, 5)]),
        ("🏟 🏟<i>🏟 &lt🏟</i>", "🏟 🏟🏟 <🏟", [("italic", 5, 6)]),
        ("🏟 🏟<i>🏟 &gt;<b aba   =   caba>&lt🏟</b></i>", "🏟 🏟🏟 ><🏟", [("italic", 5, 7), ("bold", 9, 3)]),
        ("&ge;&lt;&gt;&amp;&quot;&#12345678;", '&ge;<>&"&#12345678;', []),
        (PREFIX + "<i>🏟 🏟&lt;</>", "🏟 🏟<🏟 🏟<", [("italic", 6, 6)]),
        ("<blockquote expandable>a&lt;<pre>b;</></>", "a<b;", [("expandable_blockquote", 0, 4), ("pre", 2, 2)]),
        ('<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>', "xy", [("spoiler", 0, 1), ("spoiler", 1, 1)]),
        ("<u>u</u><s>s</s><code>c</code>", "usc", [("underline", 0, 1), ("strikethrough", 1, 1), ("code", 2, 1)]),
    ],
)
def test_html_text_and_entities(source: str, text: str, spans: list[tuple[str, int, int]]) -> None:
    parsed_text, entities = parse_html(source)
    assert parsed_text == text
    assert _spans(entities) == spans


def test_html_links_and_code_languages() -> None:
    text, entities = parse_html(
        '<a href="https://academy.example">site</a> <pre><code class="language-py">x</code></pre>'
    )
    assert text == "site x"
    assert entities == [
        {"type": "text_link", "offset": 0, "length": 4, "url": "https://academy.example/"},
        {"type": "pre", "offset": 5, "length": 1, "language": "py"},
    ]
    _, mention = parse_html('<a href="tg://user?id=42">Anna</a>')
    assert mention == [{"type": "text_mention", "offset": 0, "length": 4, "user": {"id": 42}}]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("🏟 🏟_abacaba", "Can't find end of Italic entity at byte offset 9"),
        ("🏟 🏟_abac * asd ", "Can't find end of Bold entity at byte offset 15"),
        ("🏟 🏟`", "Can't find end of Code entity at byte offset 9"),
        ("🏟 🏟```a", "Can't find end of Pre entity at byte offset 9"),
        ("🏟 🏟```a ", "Can't find end of PreCode entity at byte offset 9"),
        ("🏟 🏟_🏟 🏟__", "Can't find end of Underline entity at byte offset 19"),
        ("[telegram\\.org](asd\\)", "Can't find end of a URL at byte offset 16"),
        ("🏟 🏟||test\\|", "Can't find end of Spoiler entity at byte offset 9"),
        ("Price: 100.", "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("🏟 🏟>", "Character '>' is reserved and must be escaped with the preceding '\\'"),
        ("Hi!", "Character '!' is reserved and must be escaped with the preceding '\\'"),
    ],
)
def test_markdown_v2_refusals_match_telegram(source: str, message: str) -> None:
    assert _error(parse_markdown_v2, source) == message


def test_markdown_v2_entities() -> None:
    text, entities = parse_markdown_v2("*bold* _it_ __u__ ~s~ ||sp|| `c` [link](https://x.org) 100\\.")
    assert text == "bold it u s sp c link 100."
    assert _spans(entities) == [
        ("bold", 0, 4),
        ("italic", 5, 2),
        ("underline", 8, 1),
        ("strikethrough", 10, 1),
        ("spoiler", 12, 2),
        ("code", 15, 1),
        ("text_link", 17, 4),
    ]
    assert parse_markdown_v2(">quote\n>more\nafter") == (
        "quote\nmore\nafter",
        [{"type": "blockquote", "offset": 0, "length": 10}],
    )
    assert parse_markdown_v2("```python\nprint(1)\n```")[1] == [
        {"type": "pre", "offset": 0, "length": 9, "language": "python"}
    ]


def test_legacy_markdown() -> None:
    text, entities = parse_markdown("*b* _i_ `c` [x](http://a.b)")
    assert text == "b i c x"
    assert _spans(entities) == [("bold", 0, 1), ("italic", 2, 1), ("code", 4, 1), ("text_link", 6, 1)]
    assert _error(parse_markdown, "*unclosed") == "Can't find end of the entity starting at byte offset 0"


def test_format_text_trims_and_rejects_unknown_modes() -> None:
    assert format_text("  <b>hi</b> there \n", "html", None) == (
        "hi there",
        [{"type": "bold", "offset": 0, "length": 2}],
    )
    with pytest.raises(ApiError, match="unsupported parse_mode"):
        format_text("x", "BBCode", None)
    explicit = [{"type": "bold", "offset": 0, "length": 1}]
    assert format_text("x", None, explicit) == ("x", explicit)


def test_user_text_entities_like_telegram_clients() -> None:
    text = "🏟 /start@beauty_academy_bot ref_1 /help @anna_p #nails https://academy.example/c?id=1."
    entities = detect_entities(text)
    assert [(entity["type"], entity["offset"], entity["length"]) for entity in entities] == [
        ("bot_command", 3, 25),
        ("bot_command", 35, 5),
        ("mention", 41, 7),
        ("hashtag", 49, 6),
        ("url", 56, 30),
    ]
    assert utf16_len("🏟") == 2
