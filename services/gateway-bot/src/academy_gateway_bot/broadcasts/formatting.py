"""Telegram HTML (`parse_mode=HTML`) as an operator writes it, checked before it is stored.

Telegram's rules (https://core.telegram.org/bots/api#html-style): only the tags `b strong i em u ins s
strike del span tg-spoiler a tg-emoji code pre blockquote` (`span` only with `class="tg-spoiler"`, `a`
with `href`, `tg-emoji` with `emoji-id`, `code` inside `pre` with `class="language-…"`, `blockquote` with
`expandable`), every tag closed in order, and only the named entities `&lt; &gt; &amp; &quot;` (numeric ones
too). A message is at most 4096 characters of text after the markup is parsed, a caption 1024; Telegram
counts UTF-16 code units.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

_ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "b": frozenset(),
    "strong": frozenset(),
    "i": frozenset(),
    "em": frozenset(),
    "u": frozenset(),
    "ins": frozenset(),
    "s": frozenset(),
    "strike": frozenset(),
    "del": frozenset(),
    "span": frozenset({"class"}),
    "tg-spoiler": frozenset(),
    "a": frozenset({"href"}),
    "tg-emoji": frozenset({"emoji-id"}),
    "code": frozenset({"class"}),
    "pre": frozenset(),
    "blockquote": frozenset({"expandable"}),
}
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_LINK = re.compile(r"^(https?://|tg://)\S+$", re.IGNORECASE)


class TelegramHtmlError(ValueError):
    """The text is not HTML Telegram would accept; the message says where and why."""


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        allowed = _ALLOWED_ATTRIBUTES.get(tag)
        if allowed is None:
            raise TelegramHtmlError(f"unsupported tag <{tag}>: Telegram takes {', '.join(_ALLOWED_ATTRIBUTES)}")
        values = dict(attrs)
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise TelegramHtmlError(f"<{tag}> takes no attribute {unknown[0]!r}")
        if tag == "span" and values.get("class") != "tg-spoiler":
            raise TelegramHtmlError('<span> needs class="tg-spoiler"')
        if tag == "a" and not _LINK.match(values.get("href") or ""):
            raise TelegramHtmlError("<a> needs an href of http://, https:// or tg://")
        if tag == "tg-emoji" and not (values.get("emoji-id") or "").isdigit():
            raise TelegramHtmlError("<tg-emoji> needs a numeric emoji-id")
        if tag == "code" and "class" in values and not (values["class"] or "").startswith("language-"):
            raise TelegramHtmlError('<code> takes only class="language-…"')
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002 - HTMLParser's signature
        raise TelegramHtmlError(f"<{tag}/>: Telegram has no self-closing tags")

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            expected = f"</{self.open[-1]}>" if self.open else "no closing tag"
            raise TelegramHtmlError(f"</{tag}> where {expected} was expected")
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in _ENTITIES:
            raise TelegramHtmlError(f"&{name}; is not one of Telegram's entities (&lt; &gt; &amp; &quot;)")
        self.text.append(_ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
            self.text.append(chr(code))
        except (ValueError, OverflowError) as exc:
            raise TelegramHtmlError(f"&#{name}; is no character") from exc

    def handle_comment(self, data: str) -> None:  # noqa: ARG002 - HTMLParser's signature
        raise TelegramHtmlError("HTML comments are not supported")

    def handle_decl(self, decl: str) -> None:  # noqa: ARG002 - HTMLParser's signature
        raise TelegramHtmlError("declarations are not supported")

    def handle_pi(self, data: str) -> None:  # noqa: ARG002 - HTMLParser's signature
        raise TelegramHtmlError("processing instructions are not supported")

    def unknown_decl(self, data: str) -> None:  # noqa: ARG002 - HTMLParser's signature
        raise TelegramHtmlError("declarations are not supported")


def visible_length(html: str) -> int:
    """The length Telegram counts of `html` once parsed (UTF-16 code units of the text without markup).

    Raises TelegramHtmlError when Telegram would refuse the markup: a tag or attribute it does not take, a
    tag left open or closed out of order, a bare `<` or `&` that starts no tag or entity, an unknown entity.
    """
    checker = _Checker()
    checker.feed(html)
    checker.close()
    if checker.open:
        raise TelegramHtmlError(f"<{checker.open[-1]}> is never closed")
    text = "".join(checker.text)
    if "<" in text:
        raise TelegramHtmlError("a bare < starts no tag: write &lt;")
    if re.search(r"&(?!\s)", "".join(_raw_ampersands(html))):
        raise TelegramHtmlError("a bare & starts no entity: write &amp;")
    return len(text.encode("utf-16-le")) // 2


def _raw_ampersands(html: str) -> list[str]:
    """Every `&` of `html` that is not the start of a complete entity (`&name;`, `&#123;`, `&#x1F;`)."""
    return [match.group(0) for match in re.finditer(r"&(?![a-zA-Z]+;|#[0-9]+;|#[xX][0-9a-fA-F]+;)\S?", html)]
