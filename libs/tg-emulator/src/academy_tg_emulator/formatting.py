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
_SURROGATES = range(0xD800, 0xE000)


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram counts entity offsets in."""
    return len(text.encode("utf-16-le")) // 2


def _utf16_step(byte: int) -> int:
    """UTF-16 units contributed by a UTF-8 byte: the lead byte of a 4-byte sequence makes two."""
    if byte & 0xC0 == 0x80:
        return 0
    return 2 if byte >= 0xF0 else 1


def _is_alnum(byte: int) -> bool:
    return 0x30 <= byte <= 0x39 or 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A  # noqa: PLR2004


class _Bytes:
    """Bytes with TDLib's C-string convention: reading past the end gives 0."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)

    def __getitem__(self, index: int) -> int:
        return self.data[index] if index < self.size else 0


def _decode_html_entity(text: _Bytes, pos: int) -> tuple[int, int] | None:
    """Decode ``&lt;``, ``&#60;``, ``&#x3C;`` (``;`` optional) at ``pos``: (code point, next position)."""
    end = pos + 1
    code = 0
    if text[end] == ord("#"):
        end += 1
        if text[end] == ord("x"):
            end += 1
            while chr(text[end]) in "0123456789abcdefABCDEF" and text[end]:
                code = code * 16 + int(chr(text[end]), 16)
                end += 1
                if code >= _MAX_CODE_POINT:
                    return None
        else:
            while 0x30 <= text[end] <= 0x39:  # noqa: PLR2004
                code = code * 10 + text[end] - 0x30
                end += 1
                if code >= _MAX_CODE_POINT:
                    return None
        if code == 0 or end - pos >= 10:  # noqa: PLR2004
            return None
    else:
        while 0x41 <= text[end] <= 0x5A or 0x61 <= text[end] <= 0x7A:  # noqa: PLR2004
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


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    result_pos: int
    language: str = ""


def _read_start_tag(text: _Bytes, begin: int) -> tuple[str, str, int]:
    """Read ``<tag attr=value ...>`` starting at ``begin``: tag, argument, position after ``>``."""
    i = begin + 1
    while text[i] and text[i] not in _SPACE and text[i] != ord(">"):
        i += 1
    if not text[i]:
        raise cant_parse_entities(f"Unclosed start tag at byte offset {begin}")
    tag = text.data[begin + 1 : i].decode("utf-8", errors="replace").lower()
    if tag not in _HTML_TAGS:
        raise cant_parse_entities(f'Unsupported start tag "{tag}" at byte offset {begin}')
    argument = ""
    while text[i] != ord(">"):
        while text[i] and text[i] in _SPACE:
            i += 1
        if text[i] == ord(">"):
            break
        attribute_begin = i
        while text[i] and text[i] not in _SPACE and text[i] not in b"=>":
            i += 1
        attribute = text.data[attribute_begin:i].decode("utf-8", errors="replace").lower()
        if not attribute:
            raise cant_parse_entities(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
        while text[i] and text[i] in _SPACE:
            i += 1
        if text[i] != ord("="):
            if not text[i]:
                raise cant_parse_entities(f'Unclosed start tag "{tag}" at byte offset {begin}')
            if tag == "blockquote" and attribute == "expandable":
                argument = "1"
            continue
        i += 1
        while text[i] and text[i] in _SPACE:
            i += 1
        if not text[i]:
            raise cant_parse_entities(f'Unclosed start tag "{tag}" at byte offset {begin}')
        value, i = _read_attribute_value(text, i)
        if not text[i]:
            raise cant_parse_entities(f"Unclosed start tag at byte offset {begin}")
        if tag == "a" and attribute == "href":
            argument = value
        elif tag == "code" and attribute == "class" and value.startswith("language-"):
            argument = value.removeprefix("language-")
        elif tag == "span" and attribute == "class" and value.startswith("tg-"):
            argument = value.removeprefix("tg-")
        elif (tag == "tg-emoji" and attribute == "emoji-id") or (
            tag == "blockquote" and attribute == "expandable"
        ):
            argument = value or "1"
    if tag == "span" and argument != "spoiler":
        raise cant_parse_entities(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
    return tag, argument, i + 1


def _read_attribute_value(text: _Bytes, i: int) -> tuple[str, int]:
    if text[i] not in (ord("'"), ord('"')):
        token_begin = i
        while _is_alnum(text[i]) or text[i] in b".-":
            i += 1
        if text[i] not in _SPACE and text[i] != ord(">"):
            raise cant_parse_entities(f"Unexpected end of name token at byte offset {token_begin}")
        return text.data[token_begin:i].decode("utf-8", errors="replace").lower(), i
    quote = text[i]
    i += 1
    value = bytearray()
    while text[i] and text[i] != quote:
        if text[i] == ord("&"):
            decoded = _decode_html_entity(text, i)
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


def _html_entity(tag: _OpenTag, length: int, result: bytearray) -> Entity | None:
    offset = tag.utf16_offset
    if tag.name in _HTML_ENTITY_TYPES and tag.name != "code":
        return {"type": _HTML_ENTITY_TYPES[tag.name], "offset": offset, "length": length}
    if tag.name == "code":
        return None if tag.argument else {"type": "code", "offset": offset, "length": length}
    if tag.name == "pre":
        entity: Entity = {"type": "pre", "offset": offset, "length": length}
        if tag.language:
            entity["language"] = tag.language
        return entity
    if tag.name == "blockquote":
        kind = "expandable_blockquote" if tag.argument else "blockquote"
        return {"type": kind, "offset": offset, "length": length}
    if tag.name == "tg-emoji":
        if not tag.argument.isdigit():
            raise cant_parse_entities("Invalid custom emoji identifier specified")
        return {"type": "custom_emoji", "offset": offset, "length": length, "custom_emoji_id": tag.argument}
    # <a>: without href the inner text is the link, if it is one
    target = tag.argument or bytes(result[tag.result_pos :]).decode("utf-8", errors="replace")
    if target.startswith("tg://user?id="):
        user_id = target.removeprefix("tg://user?id=")
        if user_id.isdigit():
            return {"type": "text_mention", "offset": offset, "length": length, "user": {"id": int(user_id)}}
    url = normalize_url(target)
    if url is None:
        return None
    return {"type": "text_link", "offset": offset, "length": length, "url": url}


def parse_html(source: str) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML into plain text and entities, refusing what Telegram refuses."""
    text = _Bytes(source.encode("utf-8"))
    result = bytearray()
    utf16 = 0
    nested: list[_OpenTag] = []
    entities: list[Entity] = []
    i = 0
    while i < text.size:
        byte = text[i]
        if byte == ord("&"):
            decoded = _decode_html_entity(text, i)
            if decoded is not None:
                code, i = decoded
                _check_code_point(code)
                result += chr(code).encode("utf-8")
                utf16 += 2 if code > 0xFFFF else 1  # noqa: PLR2004
                continue
        if byte != ord("<"):
            utf16 += _utf16_step(byte)
            result.append(byte)
            i += 1
            continue
        begin = i
        if text[i + 1] != ord("/"):
            tag, argument, i = _read_start_tag(text, begin)
            nested.append(_OpenTag(tag, argument, utf16, len(result)))
            continue
        if not nested:
            raise cant_parse_entities(f"Unexpected end tag at byte offset {begin}")
        i += 1
        while text[i] and text[i] not in _SPACE and text[i] != ord(">"):
            i += 1
        end_tag = text.data[begin + 2 : i].decode("utf-8", errors="replace").lower()
        while text[i] and text[i] in _SPACE:
            i += 1
        if text[i] != ord(">"):
            raise cant_parse_entities(f"Unclosed end tag at byte offset {begin}")
        i += 1
        open_tag = nested.pop()
        if end_tag and end_tag != open_tag.name:
            raise cant_parse_entities(
                f'Unmatched end tag at byte offset {begin}, expected "</{open_tag.name}>", found "</{end_tag}>"'
            )
        if open_tag.name == "code" and open_tag.argument:
            parent = nested[-1] if nested else None
            if parent is not None and parent.name == "pre" and parent.utf16_offset == open_tag.utf16_offset:
                parent.language = open_tag.argument
            else:
                open_tag.argument = ""
        if utf16 > open_tag.utf16_offset:
            entity = _html_entity(open_tag, utf16 - open_tag.utf16_offset, result)
            if entity is not None:
                entities.append(entity)
    if nested:
        raise cant_parse_entities(f'Can\'t find end tag corresponding to start tag "{nested[-1].name}"')
    return result.decode("utf-8"), _sorted(entities)


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
            if byte == ord("\\") and 0 < text[i + 1] <= 126:  # noqa: PLR2004
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
            if self.nested and _md2_closes(self.nested[-1].kind, text, i):
                i = self._close(i)
            else:
                i = self._open(i)
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
        byte = text[i]
        begin = i
        argument = ""
        if byte == ord("_"):
            kind = "underline" if text[i + 1] == ord("_") else "italic"
            i += 2 if kind == "underline" else 1
        elif byte == ord("*"):
            kind, i = "bold", i + 1
        elif byte == ord("~"):
            kind, i = "strikethrough", i + 1
        elif byte == ord("|"):
            if text[i + 1] != ord("|"):
                raise _reserved(byte)
            kind, i = "spoiler", i + 2
        elif byte == ord("["):
            kind, i = "text_link", i + 1
        elif byte == ord("!"):
            if text[i + 1] != ord("["):
                raise _reserved(byte)
            kind, i = "custom_emoji", i + 2
        elif byte == ord("`"):
            if text[i + 1] == ord("`") and text[i + 2] == ord("`"):
                kind, argument, i = self._open_pre(i + 3)
            else:
                kind, i = "code", i + 1
        else:
            raise _reserved(byte)
        self.nested.append(_OpenMd(kind, argument, self.utf16, begin, len(self.result)))
        return i

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
                if text[i] == ord("\\") and 0 < text[i + 1] <= 126:  # noqa: PLR2004
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


def parse_markdown(source: str) -> tuple[str, list[Entity]]:
    """Parse legacy ``Markdown``: ``*bold*``, ``_italic_``, `` `code` ``, ```` ```pre``` ````, links."""
    text = _Bytes(source.encode("utf-8"))
    result = bytearray()
    utf16 = 0
    entities: list[Entity] = []
    i = 0
    while i < text.size:
        byte = text[i]
        if byte == ord("\\") and text[i + 1] in b"_*`[" and text[i + 1]:
            result.append(text[i + 1])
            utf16 += 1
            i += 2
            continue
        if byte not in b"_*`[":
            utf16 += _utf16_step(byte)
            result.append(byte)
            i += 1
            continue
        begin = i
        end_char = ord("]") if byte == ord("[") else byte
        is_pre = byte == ord("`") and text[i + 1] == ord("`") and text[i + 2] == ord("`")
        i += 3 if is_pre else 1
        language = ""
        if is_pre:
            language_end = i
            while text[language_end] and text[language_end] not in _SPACE and text[language_end] != ord("`"):
                language_end += 1
            if i != language_end and text[language_end] and text[language_end] != ord("`"):
                language = text.data[i:language_end].decode("utf-8", errors="replace")
                i = language_end
            if text[i] == ord("\n"):
                i += 1
        start_utf16, start_pos = utf16, len(result)
        while i < text.size and not (
            text[i] == end_char and (not is_pre or (text[i + 1] == ord("`") and text[i + 2] == ord("`")))
        ):
            utf16 += _utf16_step(text[i])
            result.append(text[i])
            i += 1
        if i >= text.size:
            raise cant_parse_entities(f"Can't find end of the entity starting at byte offset {begin}")
        i += 3 if is_pre else 1
        length = utf16 - start_utf16
        entity: Entity | None = None
        if byte == ord("["):
            url = bytes(result[start_pos:]).decode("utf-8", errors="replace")
            if text[i] == ord("("):
                close = text.data.find(b")", i)
                if close == -1:
                    raise cant_parse_entities(f"Can't find end of the entity starting at byte offset {begin}")
                url = text.data[i + 1 : close].decode("utf-8", errors="replace")
                i = close + 1
            normalized = normalize_url(url)
            if normalized is not None:
                entity = {"type": "text_link", "offset": start_utf16, "length": length, "url": normalized}
        elif is_pre:
            entity = {"type": "pre", "offset": start_utf16, "length": length}
            if language:
                entity["language"] = language
        else:
            kind = {ord("*"): "bold", ord("_"): "italic", ord("`"): "code"}[byte]
            entity = {"type": kind, "offset": start_utf16, "length": length}
        if entity is not None and length > 0:
            entities.append(entity)
    return result.decode("utf-8"), _sorted(entities)


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
            raise bad_request(f"can't parse MessageEntity: Field \"type\" must be of type String in {field}")
        try:
            offset, length = int(item["offset"]), int(item["length"])
        except (KeyError, TypeError, ValueError):
            raise bad_request(f"can't parse MessageEntity in {field}") from None
        entities.append({**item, "offset": offset, "length": length})
    return _sorted(entities)


def format_text(text: str, parse_mode: str | None, raw_entities: Any, *, field: str = "entities") -> tuple[str, list[Entity]]:
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
