"""Stored text fitted into Telegram's message limits, HTML kept valid.

Telegram refuses a message longer than its limits: `sendMessage`/`editMessageText` take 1-4096
characters of text, `sendPhoto`/`editMessageCaption` 0-1024 characters of caption, both counted
"after entities parsing" (https://core.telegram.org/bots/api#sendmessage, #sendphoto) and in UTF-16
code units (https://core.telegram.org/api/entities#entity-length): an emoji outside the Basic
Multilingual Plane counts two, a tag counts nothing, `&lt;` counts one. Our messages are HTML
(`ParseMode.HTML`), and the catalog accepts descriptions of 20,000 characters, so every screen built
from stored text goes through here:

- `fit` renders a message around its stored part (already escaped, `screens.escape`) and shortens
  that part, with an ellipsis, until the whole message fits; it says whether it had to, so the
  screen can offer the rest («Читать полностью»);
- `paginate` splits a long text into pages that each fit, for reading the rest;
- `truncate` and `split` do the cutting: never inside a tag, an entity (`&amp;`) or a character's
  UTF-16 pair, nor between the parts of an emoji sequence (ZWJ, skin tone, flag); at a paragraph,
  line or word break when there is one near; closing the tags open at the cut (and reopening them
  on the next page).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
ELLIPSIS = "…"

# A tag, an entity (the four named ones Telegram knows, decimal or hex), a run of ordinary text, or a lone
# `<`/`&` (never produced by `escape`; counted as one character, so the count stays an upper bound).
_TOKEN = re.compile(r"(<[^<>]*>)|(&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);)|([^<&]+)|([<&])")
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][\w-]*)")
_ZWJ = "\u200d"
_VARIATION_SELECTORS = range(0xFE00, 0xFE10)  # the emoji or the text form of the character before
_SKIN_TONES = range(0x1F3FB, 0x1F400)
_TAG_CHARACTERS = range(0xE0020, 0xE0080)
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)

# Where a page or a shortened text may end, best first: (what the text before the cut ends with, how
# far back from the hardest possible cut it may be searched for, as a share of the room).
_PAGE_BREAKS = (("\n\n", 0.5), ("\n", 0.3), (" ", 0.2))
_SHORTENING_BREAKS = (("\n", 0.2), (" ", 0.2))


@dataclass(frozen=True)
class _Piece:
    """An indivisible piece of the HTML: a tag (`tag` set, nothing visible) or one visible character."""

    raw: str
    char: str = ""
    tag: str = ""
    closing: bool = False

    @property
    def units(self) -> int:
        return utf16_length(self.char)


def utf16_length(text: str) -> int:
    """`text`'s length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _pieces(source: str) -> list[_Piece]:
    pieces: list[_Piece] = []
    for match in _TOKEN.finditer(source):
        tag, entity, text, stray = match.groups()
        if tag is not None:
            name = _TAG_NAME.match(tag)
            pieces.append(_Piece(tag, tag=name.group(1).lower() if name else "?", closing=tag.startswith("</")))
        elif entity is not None:
            pieces.append(_Piece(entity, char=html.unescape(entity)))
        else:
            pieces.extend(_Piece(char, char=char) for char in (text if text is not None else stray))
    return pieces


def telegram_length(source: str) -> int:
    """The length Telegram checks for an HTML message: its visible text in UTF-16 code units."""
    return sum(piece.units for piece in _pieces(source))


def _continues(char: str) -> bool:
    """Whether `char` belongs to the character before it (a combining mark, a ZWJ sequence's next part)."""
    if not char:
        return False
    code = ord(char[0])
    return (
        unicodedata.category(char[0]) in {"Mn", "Me", "Mc"}
        or char[0] == _ZWJ
        or code in _VARIATION_SELECTORS
        or code in _SKIN_TONES
        or code in _TAG_CHARACTERS  # the letters of a subdivision flag
    )


def _visible_before(pieces: Sequence[_Piece], index: int, start: int) -> str:
    for piece in reversed(pieces[start:index]):
        if not piece.tag:
            return piece.char
    return ""


def _visible_from(pieces: Sequence[_Piece], index: int) -> str:
    for piece in pieces[index:]:
        if not piece.tag:
            return piece.char
    return ""


def _safe(pieces: Sequence[_Piece], start: int, cut: int) -> bool:
    """A cut before `pieces[cut]` keeps every visible character whole (a flag's two letters together)."""
    after = _visible_from(pieces, cut)
    if _continues(after) or _visible_before(pieces, cut, start) == _ZWJ:
        return False
    if after and ord(after[0]) in _REGIONAL_INDICATORS:
        run = 0
        for piece in reversed(pieces[start:cut]):
            if piece.tag:
                continue
            if not piece.char or ord(piece.char[0]) not in _REGIONAL_INDICATORS:
                break
            run += 1
        return run % 2 == 0
    return True


def _ends_with(pieces: Sequence[_Piece], start: int, cut: int, ending: str) -> bool:
    chars = ""
    for piece in reversed(pieces[start:cut]):
        if piece.tag:
            continue
        chars = piece.char + chars
        if len(chars) >= len(ending):
            break
    return chars.endswith(ending) and len(chars) >= len(ending)


def _cut(pieces: Sequence[_Piece], start: int, room: int, breaks: Sequence[tuple[str, float]]) -> int:
    """Where the part from `start` ends (exclusive) to hold at most `room` units: the latest whole-character
    cut, moved back to the best break within reach."""
    used = 0
    hard = start
    consumed: list[int] = []  # units used before each candidate cut
    while hard < len(pieces) and used + pieces[hard].units <= room:
        consumed.append(used)
        used += pieces[hard].units
        hard += 1
    consumed.append(used)
    if hard == len(pieces):
        return hard
    while hard > start and not _safe(pieces, start, hard):
        hard -= 1
    for ending, reach in breaks:
        floor = consumed[hard - start] - int(room * reach)
        for cut in range(hard, start, -1):
            if consumed[cut - start] < floor:
                break
            if _ends_with(pieces, start, cut, ending) and _safe(pieces, start, cut):
                return cut
    return hard


def _open_tags(pieces: Sequence[_Piece], end: int, stack: list[_Piece] | None = None) -> list[_Piece]:
    """The opening tags still open after `pieces[:end]` (continuing from `stack`)."""
    opened = list(stack or [])
    for piece in pieces[:end]:
        if not piece.tag:
            continue
        if not piece.closing:
            opened.append(piece)
            continue
        for index in range(len(opened) - 1, -1, -1):
            if opened[index].tag == piece.tag:
                del opened[index]
                break
    return opened


def _closing(opened: Sequence[_Piece]) -> str:
    return "".join(f"</{piece.tag}>" for piece in reversed(opened))


def _without_trailing(pieces: Sequence[_Piece], start: int, cut: int) -> int:
    """`cut` moved back over trailing whitespace and tags opened right before it (an empty `<b></b>`)."""
    while cut > start:
        last = pieces[cut - 1]
        if (last.tag and not last.closing) or (not last.tag and last.char.isspace()):
            cut -= 1
        else:
            break
    return cut


def truncate(source: str, limit: int, *, ellipsis: str = ELLIPSIS) -> str:
    """`source` (HTML) unchanged when Telegram counts at most `limit` units in it, else cut at a word
    break near the limit, `ellipsis` added and the open tags closed, within `limit` units."""
    pieces = _pieces(source)
    if sum(piece.units for piece in pieces) <= limit:
        return source
    room = limit - utf16_length(ellipsis)
    if room <= 0:
        return ""
    cut = _without_trailing(pieces, 0, _cut(pieces, 0, room, _SHORTENING_BREAKS))
    kept = pieces[:cut]
    return "".join(piece.raw for piece in kept) + ellipsis + _closing(_open_tags(kept, cut))


def split(source: str, limit: int) -> list[str]:
    """`source` (HTML) in parts of at most `limit` units each, cut at paragraph, line or word breaks
    where there are some near the limit; a tag open across a cut is closed and opened again."""
    if limit <= 1:
        raise ValueError("a part holds at least one character of two UTF-16 units")
    pieces = _pieces(source)
    parts: list[str] = []
    opened: list[_Piece] = []
    start = 0
    while start < len(pieces):
        cut = _cut(pieces, start, limit, _PAGE_BREAKS)
        if cut == start:  # only a limit of one unit can stop before a two-unit character
            cut = start + 1
        end = _without_trailing(pieces, start, cut) if cut < len(pieces) else cut
        body = "".join(piece.raw for piece in pieces[start:end])
        still_open = _open_tags(pieces[start:end], end - start, opened)
        if any(not piece.tag and not piece.char.isspace() for piece in pieces[start:end]) or not parts:
            parts.append("".join(piece.raw for piece in opened) + body + _closing(still_open))
        opened = _open_tags(pieces[start:cut], cut - start, opened)
        start = cut
        # The next part starts at its text, not with the break it was cut at.
        while start < len(pieces) and not pieces[start].tag and pieces[start].char.isspace():
            start += 1
    return parts or [""]


@dataclass(frozen=True)
class Fitted:
    """A message that fits, and whether its stored part had to be shortened (then offer the rest)."""

    text: str
    shortened: bool


def fit(render: Callable[[str], str], content: str, limit: int = TEXT_LIMIT) -> Fitted:
    """`render(content)` within `limit` units: `content` (escaped HTML, the stored part of the message)
    shortened as much as needed. Should the rest of the message leave no room (long titles in a
    caption), the whole message is cut instead, so the result always fits."""
    full = render(content)
    if telegram_length(full) <= limit:
        return Fitted(full, shortened=False)
    room = limit - telegram_length(render(""))
    shortened = render(truncate(content, room)) if room > utf16_length(ELLIPSIS) else render("")
    return Fitted(truncate(shortened, limit), shortened=True)


def room_for(render: Callable[[str], str], limit: int) -> int:
    """How many units `render` leaves for its stored part within `limit` (negative: none)."""
    return limit - telegram_length(render(""))


# Page numbers in a page's frame grow from one digit to at most this many.
_PAGE_NUMBER_DIGITS = 4


def paginate(render: Callable[[str, int, int], str], content: str, limit: int = TEXT_LIMIT) -> list[str]:
    """`content` (escaped HTML) as pages of `render(part, page, pages)` (page from 1), each within `limit`."""
    frame = telegram_length(render("", 1, 1)) + 2 * (_PAGE_NUMBER_DIGITS - 1)
    parts = split(content, max(2, limit - frame))
    pages = len(parts)
    return [truncate(render(part, number, pages), limit) for number, part in enumerate(parts, start=1)]
