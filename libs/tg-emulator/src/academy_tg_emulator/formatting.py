"""Message text formatting: ``parse_mode`` parsing and entity detection.

The HTML and MarkdownV2 readers follow TDLib's algorithms (the library behind Telegram's Bot API
server) closely enough to give the same plain text, the same entities (offsets and lengths in
UTF-16 code units) and the same refusal texts for the usual mistakes: an unclosed ``<b>``, an
unsupported tag, an unescaped ``.`` in MarkdownV2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from academy_tg_emulator.errors import ApiError, bad_request, cant_parse_entities

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024

Entity = dict[str, Any]

_SPACE = frozenset(b" \t\r\n\x0b\x0c")
_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_HTML_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
}
_NAMED_ENTITIES = {b"lt": 0x3C, b"gt": 0x3E, b"amp": 0x26, b"quot": 0x22}
_MAX_CODE_POINT = 0x10FFFF
_BMP_LAST = 0xFFFF
_SURROGATES = range(0xD800, 0xE000)
_MAX_NUMERIC_REFERENCE = 10  # "&#" plus digits: longer references are left as text
_CONTINUATION_MASK = 0xC0
_CONTINUATION_BITS = 0x80
_FOUR_BYTE_LEAD = 0xF0
_ASCII_LAST_PRINTABLE = 126
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_DECIMAL_DIGITS = frozenset(b"0123456789")


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram counts entity offsets in."""
    return len(text.encode("utf-16-le")) // 2


def _utf16_step(byte: int) -> int:
    """UTF-16 units contributed by a UTF-8 byte: the lead byte of a 4-byte sequence makes two."""
    if byte & _CONTINUATION_MASK == _CONTINUATION_BITS:
        return 0
    return 2 if byte >= _FOUR_BYTE_LEAD else 1


def _is_alpha(byte: int) -> bool:
    return bytes((byte,)).isalpha()


def _is_alnum(byte: int) -> bool:
    return bytes((byte,)).isalnum()


def _is_escapable(byte: int) -> bool:
    """A backslash escapes any ASCII character after it (MarkdownV2)."""
    return 0 < byte <= _ASCII_LAST_PRINTABLE


class _Bytes:
    """Bytes with TDLib's C-string convention: reading past the end gives 0."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)

    def __getitem__(self, index: int) -> int:
        return self.data[index] if index < self.size else 0

    def is_space(self, index: int) -> bool:
        return self[index] in _SPACE

    def skip_spaces(self, index: int) -> int:
        while self[index] and self[index] in _SPACE:
            index += 1
        return index

    def text(self, start: int, end: int) -> str:
        return self.data[start:end].decode("utf-8", errors="replace")


def _numeric_reference(text: _Bytes, end: int) -> tuple[int, int] | None:
    """The code point of ``&#60`` / ``&#x3C`` whose digits start at ``end``, and where they stop."""
    hexadecimal = text[end] == ord("x")
    base, digits = (16, _HEX_DIGITS) if hexadecimal else (10, _DECIMAL_DIGITS)
    end += 1 if hexadecimal else 0
    code = 0
    while text[end] in digits:
        code = code * base + int(chr(text[end]), base)
        end += 1
        if code >= _MAX_CODE_POINT:
            return None
    return (code, end) if code else None


def _decode_html_entity(text: _Bytes, pos: int) -> tuple[int, int] | None:
    """Decode ``&lt;``, ``&#60;``, ``&#x3C;`` (``;`` optional) at ``pos``: (code point, next position)."""
    if text[pos + 1] == ord("#"):
        decoded = _numeric_reference(text, pos + 2)
        if decoded is None or decoded[1] - pos >= _MAX_NUMERIC_REFERENCE:
            return None
        code, end = decoded
    else:
        end = pos + 1
        while _is_alpha(text[end]):
            end += 1
        named = _NAMED_ENTITIES.get(text.data[pos + 1 : end])
        if named is None:
            return None
        code = named
    if text[end] == ord(";"):
        end += 1
    return code, end


def _check_code_point(code: int) -> None:
    if code in _SURROGATES:
        raise cant_parse_entities(
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        )


def normalize_url(url: str) -> str | None:
    """TDLib-like link normalization: add ``http://`` and a ``/`` path; ``None`` if not a link."""
    url = url.strip()
    if not url or any(ch.isspace() for ch in url):
        return None
    if url.startswith("tg://"):
        return url
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https", "ftp", "tonsite"} or not parts.netloc:
        return None
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path or "/", parts.query, parts.fragment))


def _link_entity(target: str, offset: int, length: int) -> Entity | None:
    """``text_mention`` for ``tg://user?id=N``, ``text_link`` for a URL, nothing otherwise."""
    user_id = target.removeprefix("tg://user?id=")
    if target.startswith("tg://user?id=") and user_id.isdigit():
        return {"type": "text_mention", "offset": offset, "length": length, "user": {"id": int(user_id)}}
    url = normalize_url(target)
    if url is None:
        return None
    return {"type": "text_link", "offset": offset, "length": length, "url": url}


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    result_pos: int
    language: str = ""


class _Html:
    """TDLib's ``parse_html``: plain text plus entities, or Telegram's refusal."""

    def __init__(self, source: str) -> None:
        self.text = _Bytes(source.encode("utf-8"))
        self.result = bytearray()
        self.utf16 = 0
        self.nested: list[_OpenTag] = []
        self.entities: list[Entity] = []

    def parse(self) -> tuple[str, list[Entity]]:
        text = self.text
        i = 0
        while i < text.size:
            byte = text[i]
            if byte == ord("&"):
                decoded = _decode_html_entity(text, i)
                if decoded is not None:
                    code, i = decoded
                    _check_code_point(code)
                    self.result += chr(code).encode("utf-8")
                    self.utf16 += 2 if code > _BMP_LAST else 1
                    continue
            if byte != ord("<"):
                self.utf16 += _utf16_step(byte)
                self.result.append(byte)
                i += 1
            elif text[i + 1] == ord("/"):
                i = self._end_tag(i)
            else:
                i = self._start_tag(i)
        if self.nested:
            raise cant_parse_entities(f'Can\'t find end tag corresponding to start tag "{self.nested[-1].name}"')
        return self.result.decode("utf-8"), _sorted(self.entities)

    def _start_tag(self, begin: int) -> int:
        text = self.text
        i = begin + 1
        while text[i] and not text.is_space(i) and text[i] != ord(">"):
            i += 1
        if not text[i]:
            raise cant_parse_entities(f"Unclosed start tag at byte offset {begin}")
        tag = text.text(begin + 1, i).lower()
        if tag not in _HTML_TAGS:
            raise cant_parse_entities(f'Unsupported start tag "{tag}" at byte offset {begin}')
        argument = ""
        while text[i] != ord(">"):
            i = text.skip_spaces(i)
            if text[i] == ord(">"):
                break
            attribute, value, i = self._attribute(tag, begin, i)
            argument = _tag_argument(tag, attribute, value, argument)
        if tag == "span" and argument != "spoiler":
            raise cant_parse_entities(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
        self.nested.append(_OpenTag(tag, argument, self.utf16, len(self.result)))
        return i + 1

    def _attribute(self, tag: str, begin: int, i: int) -> tuple[str, str | None, int]:
        """Read ``name`` or ``name=value``; the value is ``None`` for a bare name."""
        text = self.text
        name_begin = i
        while text[i] and not text.is_space(i) and text[i] not in b"=>":
            i += 1
        name = text.text(name_begin, i).lower()
        if not name:
            raise cant_parse_entities(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
        i = text.skip_spaces(i)
        if text[i] != ord("="):
            if not text[i]:
                raise cant_parse_entities(f'Unclosed start tag "{tag}" at byte offset {begin}')
            return name, None, i
        i = text.skip_spaces(i + 1)
        if not text[i]:
            raise cant_parse_entities(f'Unclosed start tag "{tag}" at byte offset {begin}')
        value, i = self._value(i) if text[i] in b"'\"" else self._name_token(i)
        if not text[i]:
            raise cant_parse_entities(f"Unclosed start tag at byte offset {begin}")
        return name, value, i

    def _name_token(self, i: int) -> tuple[str, int]:
        text = self.text
        token_begin = i
        while _is_alnum(text[i]) or text[i] in b".-":
            i += 1
        if not text.is_space(i) and text[i] != ord(">"):
            raise cant_parse_entities(f"Unexpected end of name token at byte offset {token_begin}")
        return text.text(token_begin, i).lower(), i

    def _value(self, i: int) -> tuple[str, int]:
        text = self.text
        quote = text[i]
        i += 1
        value = bytearray()
        while text[i] and text[i] != quote:
            decoded = _decode_html_entity(text, i) if text[i] == ord("&") else None
            if decoded is not None:
                code, i = decoded
                _check_code_point(code)
                value += chr(code).encode("utf-8")
                continue
            value.append(text[i])
            i += 1
        if text[i] == quote:
            i += 1
        return value.decode("utf-8", errors="replace"), i

    def _end_tag(self, begin: int) -> int:
        text = self.text
        if not self.nested:
            raise cant_parse_entities(f"Unexpected end tag at byte offset {begin}")
        i = begin + 1
        while text[i] and not text.is_space(i) and text[i] != ord(">"):
            i += 1
        end_tag = text.text(begin + 2, i).lower()
        i = text.skip_spaces(i)
        if text[i] != ord(">"):
            raise cant_parse_entities(f"Unclosed end tag at byte offset {begin}")
        open_tag = self.nested.pop()
        if end_tag and end_tag != open_tag.name:
            raise cant_parse_entities(
                f'Unmatched end tag at byte offset {begin}, expected "</{open_tag.name}>", found "</{end_tag}>"'
            )
        if open_tag.name == "code" and open_tag.argument:
            parent = self.nested[-1] if self.nested else None
            if parent is not None and parent.name == "pre" and parent.utf16_offset == open_tag.utf16_offset:
                parent.language = open_tag.argument
            else:
                open_tag.argument = ""
        if self.utf16 > open_tag.utf16_offset:
            entity = self._entity(open_tag, self.utf16 - open_tag.utf16_offset)
            if entity is not None:
                self.entities.append(entity)
        return i + 1

    def _entity(self, tag: _OpenTag, length: int) -> Entity | None:
        offset = tag.utf16_offset
        simple = _HTML_ENTITY_TYPES.get(tag.name)
        if simple is not None and not (tag.name == "code" and tag.argument):
            return {"type": simple, "offset": offset, "length": length}
        if tag.name == "pre":
            language = {"language": tag.language} if tag.language else {}
            return {"type": "pre", "offset": offset, "length": length, **language}
        if tag.name == "blockquote":
            kind = "expandable_blockquote" if tag.argument else "blockquote"
            return {"type": kind, "offset": offset, "length": length}
        if tag.name == "tg-emoji":
            if not tag.argument.isdigit():
                raise cant_parse_entities("Invalid custom emoji identifier specified")
            return {"type": "custom_emoji", "offset": offset, "length": length, "custom_emoji_id": tag.argument}
        if tag.name == "a":
            # without href the inner text is the link, if it is one
            target = tag.argument or bytes(self.result[tag.result_pos :]).decode("utf-8", errors="replace")
            return _link_entity(target, offset, length)
        return None


def _tag_argument(tag: str, attribute: str, value: str | None, current: str) -> str:
    """The one attribute value a tag keeps: a link, a code language, a spoiler class, an emoji id."""
    if tag == "blockquote" and attribute == "expandable":
        return "1"
    if value is None:
        return current
    prefixes = {("code", "class"): "language-", ("span", "class"): "tg-"}
    prefix = prefixes.get((tag, attribute))
    if prefix is not None:
        return value.removeprefix(prefix) if value.startswith(prefix) else current
    if (tag, attribute) in {("a", "href"), ("tg-emoji", "emoji-id")}:
        return value
    return current


def parse_html(source: str) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML into plain text and entities, refusing what Telegram refuses."""
    return _Html(source).parse()


_MD2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "pre_code": "PreCode",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


@dataclass
class _OpenMd:
    kind: str
    argument: str
    utf16_offset: int
    byte_offset: int
    result_pos: int


def _reserved(char: int) -> ApiError:
    return cant_parse_entities(f"Character '{chr(char)}' is reserved and must be escaped with the preceding '\\'")


def _md2_closes(kind: str, text: _Bytes, i: int) -> bool:
    char = text[i]
    closes = {
        "bold": char == ord("*"),
        "italic": char == ord("_") and text[i + 1] != ord("_"),
        "code": char == ord("`"),
        "pre": char == ord("`") and text[i + 1] == ord("`") and text[i + 2] == ord("`"),
        "text_link": char == ord("]"),
        "underline": char == ord("_") and text[i + 1] == ord("_"),
        "strikethrough": char == ord("~"),
        "spoiler": char == ord("|") and text[i + 1] == ord("|"),
        "custom_emoji": char == ord("]"),
    }
    return closes.get("pre" if kind == "pre_code" else kind, False)


class _MarkdownV2:
    """TDLib's ``parse_markdown_v2`` with line-start ``>`` block quotes."""

    def __init__(self, source: str) -> None:
        self.text = _Bytes(source.encode("utf-8"))
        self.result = bytearray()
        self.utf16 = 0
        self.nested: list[_OpenMd] = []
        self.entities: list[Entity] = []
        self.quote_start: int | None = None
        self.quote_expandable = False

    def parse(self) -> tuple[str, list[Entity]]:
        text = self.text
        i = 0
        while i < text.size:
            byte = text[i]
            at_line_start = i == 0 or text[i - 1] == ord("\n")
            if at_line_start:
                i = self._line_start(i)
                if i >= text.size:
                    break
                byte = text[i]
            if byte == ord("\\") and _is_escapable(text[i + 1]):
                self.utf16 += 1
                self.result.append(text[i + 1])
                i += 2
                continue
            if self._closes_expandable_quote(i):
                i += 2
                continue
            in_code = bool(self.nested) and self.nested[-1].kind in {"code", "pre", "pre_code"}
            reserved = b"`" if in_code else b"_*[]()~`>#+-=|{}.!"
            if byte not in reserved:
                self.utf16 += _utf16_step(byte)
                self.result.append(byte)
                i += 1
                continue
            closes = bool(self.nested) and _md2_closes(self.nested[-1].kind, text, i)
            i = self._close(i) if closes else self._open(i)
        if self.nested:
            last = self.nested[-1]
            name = _MD2_NAMES[last.kind]
            raise cant_parse_entities(f"Can't find end of {name} entity at byte offset {last.byte_offset}")
        self._end_quote()
        return self.result.decode("utf-8"), _sorted(self.entities)

    def _line_start(self, i: int) -> int:
        text = self.text
        if text[i] == ord(">") and not self.nested:
            if self.quote_start is None:
                self.quote_start = self.utf16
            return i + 1
        expandable = text[i] == ord("*") and text[i + 1] == ord("*") and text[i + 2] == ord(">")
        if expandable and not self.nested:
            if self.quote_start is None:
                self.quote_start = self.utf16
            return i + 3
        if self.quote_start is not None and not self.nested:
            self._end_quote(strip_newline=True)
        return i

    def _closes_expandable_quote(self, i: int) -> bool:
        """``||`` at the end of a quoted line marks the block quote as expandable."""
        text = self.text
        closes = (
            self.quote_start is not None
            and not self.nested
            and text[i] == ord("|")
            and text[i + 1] == ord("|")
            and text[i + 2] in (0, ord("\n"))
        )
        if closes:
            self.quote_expandable = True
        return closes

    def _end_quote(self, *, strip_newline: bool = False) -> None:
        if self.quote_start is None:
            return
        end = self.utf16 - (1 if strip_newline and self.result.endswith(b"\n") else 0)
        if end > self.quote_start:
            kind = "expandable_blockquote" if self.quote_expandable else "blockquote"
            self.entities.append({"type": kind, "offset": self.quote_start, "length": end - self.quote_start})
        self.quote_start = None
        self.quote_expandable = False

    def _open(self, i: int) -> int:
        text = self.text
        argument = ""
        if text[i] == ord("`") and text[i + 1] == ord("`") and text[i + 2] == ord("`"):
            kind, argument, after = self._open_pre(i + 3)
        else:
            kind, width = self._opener(i)
            after = i + width
        self.nested.append(_OpenMd(kind, argument, self.utf16, i, len(self.result)))
        return after

    def _opener(self, i: int) -> tuple[str, int]:
        """The entity a reserved character opens, and how many characters its marker takes."""
        text = self.text
        byte = text[i]
        doubled = text[i + 1] == byte
        if byte == ord("|") and doubled:
            return "spoiler", 2
        if byte == ord("!") and text[i + 1] == ord("["):
            return "custom_emoji", 2
        openers = {
            ord("*"): ("bold", 1),
            ord("~"): ("strikethrough", 1),
            ord("["): ("text_link", 1),
            ord("`"): ("code", 1),
            ord("_"): ("underline", 2) if doubled else ("italic", 1),
        }
        opener = openers.get(byte)
        if opener is None:
            raise _reserved(byte)
        return opener

    def _open_pre(self, i: int) -> tuple[str, str, int]:
        text = self.text
        kind, argument = "pre", ""
        language_end = i
        while text[language_end] and text[language_end] not in _SPACE and text[language_end] != ord("`"):
            language_end += 1
        if i != language_end and language_end < text.size and text[language_end] != ord("`"):
            kind = "pre_code"
            argument = text.data[i:language_end].decode("utf-8", errors="replace")
            i = language_end
        if text[i] in b"\r\n" and text[i]:
            pair = text[i + 1] in b"\r\n" and text[i + 1] and text[i + 1] != text[i]
            i += 2 if pair else 1
        return kind, argument, i

    def _close(self, i: int) -> int:
        open_entity = self.nested.pop()
        kind = open_entity.kind
        length = self.utf16 - open_entity.utf16_offset
        entity: Entity | None = {"type": kind, "offset": open_entity.utf16_offset, "length": length}
        if kind in {"underline", "spoiler"}:
            i += 2
        elif kind in {"pre", "pre_code"}:
            i += 3
        elif kind in {"text_link", "custom_emoji"}:
            entity, i = self._close_link(open_entity, i, length)
        else:
            i += 1
        if entity is not None and kind == "pre_code":
            entity = {**entity, "type": "pre", "language": open_entity.argument}
        if entity is not None and length > 0:
            self.entities.append(entity)
        return i

    def _close_link(self, open_entity: _OpenMd, i: int, length: int) -> tuple[Entity | None, int]:
        text = self.text
        offset = open_entity.utf16_offset
        if text[i + 1] != ord("("):
            if open_entity.kind == "custom_emoji":
                raise cant_parse_entities("Custom emoji entity must contain a tg://emoji URL")
            url = bytes(self.result[open_entity.result_pos :]).decode("utf-8", errors="replace")
            i += 1
        else:
            i += 2
            url_begin = i
            url_bytes = bytearray()
            while i < text.size and text[i] != ord(")"):
                if text[i] == ord("\\") and _is_escapable(text[i + 1]):
                    url_bytes.append(text[i + 1])
                    i += 2
                    continue
                url_bytes.append(text[i])
                i += 1
            if text[i] != ord(")"):
                what = "a custom emoji URL" if open_entity.kind == "custom_emoji" else "a URL"
                raise cant_parse_entities(f"Can't find end of {what} at byte offset {url_begin}")
            i += 1
            url = url_bytes.decode("utf-8", errors="replace")
        if open_entity.kind == "custom_emoji":
            match = re.fullmatch(r"tg://emoji\?id=(\d+)", url)
            if match is None:
                raise cant_parse_entities("Custom emoji URL must have an emoji identifier")
            return {"type": "custom_emoji", "offset": offset, "length": length, "custom_emoji_id": match[1]}, i
        if url.startswith("tg://user?id=") and url.removeprefix("tg://user?id=").isdigit():
            user = {"id": int(url.removeprefix("tg://user?id="))}
            return {"type": "text_mention", "offset": offset, "length": length, "user": user}, i
        normalized = normalize_url(url)
        if normalized is None:
            return None, i
        return {"type": "text_link", "offset": offset, "length": length, "url": normalized}, i


def parse_markdown_v2(source: str) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2 into plain text and entities, refusing what Telegram refuses."""
    return _MarkdownV2(source).parse()


class _Markdown:
    """TDLib's legacy ``parse_markdown``: ``*bold*``, ``_italic_``, `` `code` ``, ```` ```pre``` ````, links."""

    def __init__(self, source: str) -> None:
        self.text = _Bytes(source.encode("utf-8"))
        self.result = bytearray()
        self.utf16 = 0
        self.entities: list[Entity] = []

    def parse(self) -> tuple[str, list[Entity]]:
        text = self.text
        i = 0
        while i < text.size:
            byte = text[i]
            if byte == ord("\\") and text[i + 1] and text[i + 1] in b"_*`[":
                self.result.append(text[i + 1])
                self.utf16 += 1
                i += 2
            elif byte in b"_*`[":
                i = self._entity(i)
            else:
                self.utf16 += _utf16_step(byte)
                self.result.append(byte)
                i += 1
        return self.result.decode("utf-8"), _sorted(self.entities)

    def _ends(self, i: int, end_char: int, *, is_pre: bool) -> bool:
        text = self.text
        return text[i] == end_char and (not is_pre or (text[i + 1] == ord("`") and text[i + 2] == ord("`")))

    def _pre_language(self, i: int) -> tuple[str, int]:
        text = self.text
        language = ""
        language_end = i
        while text[language_end] and not text.is_space(language_end) and text[language_end] != ord("`"):
            language_end += 1
        if i != language_end and text[language_end] and text[language_end] != ord("`"):
            language = text.text(i, language_end)
            i = language_end
        return language, i + 1 if text[i] == ord("\n") else i

    def _entity(self, begin: int) -> int:
        text = self.text
        byte = text[begin]
        is_pre = byte == ord("`") and text[begin + 1] == ord("`") and text[begin + 2] == ord("`")
        end_char = ord("]") if byte == ord("[") else byte
        language, i = self._pre_language(begin + 3) if is_pre else ("", begin + 1)
        start_utf16, start_pos = self.utf16, len(self.result)
        while i < text.size and not self._ends(i, end_char, is_pre=is_pre):
            self.utf16 += _utf16_step(text[i])
            self.result.append(text[i])
            i += 1
        if i >= text.size:
            raise cant_parse_entities(f"Can't find end of the entity starting at byte offset {begin}")
        i += 3 if is_pre else 1
        length = self.utf16 - start_utf16
        entity: Entity | None
        if byte == ord("["):
            entity, i = self._link(begin, i, start_pos, start_utf16, length)
        elif is_pre:
            entity = {"type": "pre", "offset": start_utf16, "length": length}
            if language:
                entity["language"] = language
        else:
            kind = {ord("*"): "bold", ord("_"): "italic", ord("`"): "code"}[byte]
            entity = {"type": kind, "offset": start_utf16, "length": length}
        if entity is not None and length > 0:
            self.entities.append(entity)
        return i

    def _link(self, begin: int, i: int, start_pos: int, offset: int, length: int) -> tuple[Entity | None, int]:
        text = self.text
        url = bytes(self.result[start_pos:]).decode("utf-8", errors="replace")
        if text[i] == ord("("):
            close = text.data.find(b")", i)
            if close == -1:
                raise cant_parse_entities(f"Can't find end of the entity starting at byte offset {begin}")
            url, i = text.text(i + 1, close), close + 1
        normalized = normalize_url(url)
        if normalized is None:
            return None, i
        return {"type": "text_link", "offset": offset, "length": length, "url": normalized}, i


def parse_markdown(source: str) -> tuple[str, list[Entity]]:
    """Parse legacy ``Markdown`` into plain text and entities."""
    return _Markdown(source).parse()


def _sorted(entities: list[Entity]) -> list[Entity]:
    return sorted(entities, key=lambda entity: (entity["offset"], -entity["length"]))


def _strip(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Trim surrounding whitespace as Telegram does, moving and clipping entities with it."""
    stripped_left = text.lstrip()
    shift = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip()
    total = utf16_len(result)
    kept: list[Entity] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return result, kept


_PARSE_MODES = {"html": "HTML", "markdownv2": "MarkdownV2", "markdown": "Markdown"}


def normalize_parse_mode(parse_mode: str | None) -> str | None:
    if parse_mode is None or parse_mode == "":
        return None
    normalized = _PARSE_MODES.get(parse_mode.lower())
    if normalized is None:
        raise bad_request("unsupported parse_mode")
    return normalized


def _check_entities(raw: Any, field: str) -> list[Entity]:
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise bad_request(f"can't parse {field} JSON object")
    entities: list[Entity] = []
    for item in raw:
        if not isinstance(item.get("type"), str):
            raise bad_request(f'can\'t parse MessageEntity: Field "type" must be of type String in {field}')
        try:
            offset, length = int(item["offset"]), int(item["length"])
        except (KeyError, TypeError, ValueError):
            raise bad_request(f"can't parse MessageEntity in {field}") from None
        entities.append({**item, "offset": offset, "length": length})
    return _sorted(entities)


def format_text(
    text: str, parse_mode: str | None, raw_entities: Any, *, field: str = "entities"
) -> tuple[str, list[Entity]]:
    """Apply ``parse_mode`` (or explicit ``entities``) and trim like Telegram; returns text and entities."""
    mode = normalize_parse_mode(parse_mode)
    if raw_entities is not None and mode is None:
        plain, entities = text, _check_entities(raw_entities, field)
    elif mode == "HTML":
        plain, entities = parse_html(text)
    elif mode == "MarkdownV2":
        plain, entities = parse_markdown_v2(text)
    elif mode == "Markdown":
        plain, entities = parse_markdown(text)
    else:
        plain, entities = text, []
    return _strip(plain, entities)


_COMMAND = re.compile(r"(?<![\w/@.])/([A-Za-z0-9_]{1,64})(@[A-Za-z0-9_]{3,32})?(?![\w/@])")
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{4,32}(?![\w@])")
_HASHTAG = re.compile(r"(?<![\w#])#\w*[^\W\d_]\w*")
_URL = re.compile(r"(?<![\w/])https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w.])")


def detect_entities(text: str) -> list[Entity]:
    """The entities Telegram's clients mark in plain user text: commands, mentions, hashtags, links."""
    found: list[tuple[int, int, str]] = []
    for kind, pattern in (
        ("url", _URL),
        ("email", _EMAIL),
        ("bot_command", _COMMAND),
        ("mention", _MENTION),
        ("hashtag", _HASHTAG),
    ):
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < other_end and other_start < end for other_start, other_end, _ in found):
                continue
            found.append((start, end, kind))
    entities = [
        {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(text[start:end])}
        for start, end, kind in found
    ]
    return _sorted(entities)
