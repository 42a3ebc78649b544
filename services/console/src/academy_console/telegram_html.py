"""Text as Telegram shows it: the HTML subset of the Bot API's `parse_mode=HTML` (core.telegram.org/bots/api,
"HTML style"), made safe to put into a console page.

Only Telegram's tags survive (b, strong, i, em, u, ins, s, strike, del, code, pre, blockquote, tg-spoiler,
span class="tg-spoiler", a href with an http(s) or tg scheme), with no other attribute; everything else is
escaped, so a broadcast or a course description an operator typed cannot run script in another operator's
browser. Newlines become <br>, as the chat breaks lines.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

from markupsafe import Markup

_PLAIN_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "blockquote", "tg-spoiler"}
)
_SAFE_SCHEMES = ("http://", "https://", "tg://")


class _Sanitiser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in _PLAIN_TAGS:
            self.out.append(f"<{tag}>")
            self.open.append(tag)
        elif tag == "a" and (values.get("href") or "").startswith(_SAFE_SCHEMES):
            href = html.escape(values["href"] or "", quote=True)
            self.out.append(f'<a href="{href}" rel="noopener noreferrer" target="_blank">')
            self.open.append("a")
        elif tag == "span" and values.get("class") == "tg-spoiler":
            self.out.append('<span class="tg-spoiler">')
            self.open.append("span")
        else:
            self.out.append(html.escape(self.get_starttag_text() or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open:
                closed = self.open.pop()
                self.out.append(f"</{closed}>")
                if closed == tag:
                    break
        else:
            self.out.append(html.escape(f"</{tag}>"))

    def handle_data(self, data: str) -> None:
        self.out.append(html.escape(data, quote=False).replace("\n", "<br>"))

    def close_all(self) -> str:
        self.close()
        self.out.extend(f"</{tag}>" for tag in reversed(self.open))
        return "".join(self.out)


def telegram_html(text: str) -> Markup:
    """`text` in Telegram's HTML subset → HTML safe to embed in a page (see the module docstring), marked safe
    for Jinja's autoescaping."""
    parser = _Sanitiser()
    parser.feed(text)
    return Markup(parser.close_all())  # noqa: S704 - sanitised above: only Telegram's tags, everything else escaped
