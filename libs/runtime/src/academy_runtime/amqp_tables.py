"""AMQP headers of any nesting depth, decoded and shown without recursion.

pamqp decodes a field table by recursion, two or three Python frames per level: a header nested a few
hundred tables or arrays deep (a message dead-lettered over and over by clients that copy `x-death`
into their own headers, or a hostile publisher) raises `RecursionError` inside the client's frame
reader, so the connection dies and `dlq list` could not show the message. `bounded_header_decoding()`
swaps pamqp's table and array decoders for one loop with an explicit stack: levels beyond
`MAX_HEADER_DEPTH` are replaced by a short placeholder string, so what the program then holds (and
re-publishes on a re-drive) is bounded too. `render_header()` shows a decoded value as bounded text,
again without recursion.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from pamqp import decode as pamqp_decode

#: Tables and arrays deeper than this are shown as a placeholder (RabbitMQ's own x-death is 3 deep).
MAX_HEADER_DEPTH = 32

_LENGTH = struct.Struct(">I")
_CONTAINERS = {b"F": "table", b"A": "array"}
# pamqp's decoders of single values (every type but the two containers); each takes the bytes that
# follow the type byte and returns (bytes consumed, value).
_SCALARS: dict[bytes, Callable[[bytes], tuple[int, Any]]] = {
    kind: decoder for kind, decoder in pamqp_decode.TABLE_MAPPING.items() if kind not in _CONTAINERS
}


Container = dict[str, Any] | list[Any]


def decode_container(value: bytes, kind: bytes, max_depth: int = MAX_HEADER_DEPTH) -> tuple[int, Any]:
    """Decode one field table (`kind` b"F") or field array (b"A") that starts at `value[0]` (its length).

    Returns (bytes consumed, dict or list), as pamqp's decoders do. Containers nested more than
    `max_depth` levels below this one become `"<table nested deeper than N levels: B bytes>"`.
    Raises ValueError on truncated or malformed data.
    """
    try:
        root_end = 4 + _LENGTH.unpack_from(value, 0)[0]
        if root_end > len(value):
            raise ValueError(f"field {_CONTAINERS[kind]} length exceeds the available data")
        root: Container = {} if kind == b"F" else []
        stack: list[tuple[Container, int]] = [(root, root_end)]
        position = 4
        while stack:
            container, end = stack[-1]
            if position >= end:
                if position > end:
                    raise ValueError("a nested header value overruns its container")
                stack.pop()
                continue
            key = ""
            if isinstance(container, dict):
                key_length = value[position]
                key = value[position + 1 : position + 1 + key_length].decode("utf-8")
                position += 1 + key_length
            position, item, child = _next_value(value, position, end, depth=len(stack), max_depth=max_depth)
            if child is not None:
                stack.append((item, child))
            if isinstance(container, dict):
                container[key] = item
            else:
                container.append(item)
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise ValueError(f"malformed AMQP field {_CONTAINERS[kind]}: {exc}") from exc
    return root_end, root


def _next_value(value: bytes, position: int, end: int, *, depth: int, max_depth: int) -> tuple[int, Any, int | None]:
    """The value whose type byte is at `position`: (position after it, the value, and for a container
    still to be filled, where its data ends; None when the value is complete)."""
    type_byte = value[position : position + 1]
    position += 1
    if type_byte in _CONTAINERS:
        child_end = position + 4 + _LENGTH.unpack_from(value, position)[0]
        if child_end > end:
            raise ValueError("a nested header value overruns its container")
        if depth <= max_depth:
            return position + 4, {} if type_byte == b"F" else [], child_end
        placeholder = f"<{_CONTAINERS[type_byte]} nested deeper than {max_depth} levels: {child_end - position} bytes>"
        return child_end, placeholder, None
    decoder = _SCALARS.get(type_byte)
    if decoder is None:
        raise ValueError(f"unknown header value type {type_byte!r}")
    consumed, item = decoder(value[position:])
    return position + consumed, item, None


def _table(value: bytes) -> tuple[int, Any]:
    return decode_container(value, b"F")


def _array(value: bytes) -> tuple[int, Any]:
    return decode_container(value, b"A")


@contextlib.contextmanager
def bounded_header_decoding() -> Iterator[None]:
    """While inside, every AMQP connection of this process decodes headers with `decode_container`.

    pamqp looks its decoders up in two module-level tables at each call; they are swapped in and put
    back on exit. Meant for short-lived tools (`dlq list`, `dlq redrive`) that must read any message.
    """
    saved = (
        pamqp_decode.TABLE_MAPPING[b"F"],
        pamqp_decode.TABLE_MAPPING[b"A"],
        pamqp_decode.METHODS["table"],
        pamqp_decode.METHODS["array"],
    )
    pamqp_decode.TABLE_MAPPING[b"F"] = pamqp_decode.METHODS["table"] = _table
    pamqp_decode.TABLE_MAPPING[b"A"] = pamqp_decode.METHODS["array"] = _array
    try:
        yield
    finally:
        (
            pamqp_decode.TABLE_MAPPING[b"F"],
            pamqp_decode.TABLE_MAPPING[b"A"],
            pamqp_decode.METHODS["table"],
            pamqp_decode.METHODS["array"],
        ) = saved


def install_bounded_header_decoding() -> None:
    """From now on, every AMQP connection of this process decodes headers with `decode_container`.

    For long-running consumers: with pamqp's recursive decoder, one message whose headers nest a few
    hundred levels deep kills the connection in its frame reader; the robust connection reconnects,
    the broker delivers the same message again, and the consumer never gets past it (a poison message
    no handler ever sees). Bounded decoding turns it into an ordinary delivery whose deepest headers
    are a placeholder. Idempotent; `bounded_header_decoding()` inside it is harmless.
    """
    pamqp_decode.TABLE_MAPPING[b"F"] = pamqp_decode.METHODS["table"] = _table
    pamqp_decode.TABLE_MAPPING[b"A"] = pamqp_decode.METHODS["array"] = _array


def render_header(value: Any, max_depth: int = MAX_HEADER_DEPTH, max_chars: int = 2000) -> str:
    """A header value as JSON-like text of at most `max_chars` characters, built without recursion.

    Containers deeper than `max_depth` are shown as `…`; the text is cut with `…` at `max_chars`.
    """
    parts: list[str] = []
    size = 0
    # Work items: a value to show (with its depth) or a literal piece of text.
    todo: list[tuple[Any, int] | str] = [(value, 0)]
    while todo and size <= max_chars:
        item = todo.pop()
        if isinstance(item, str):
            piece = item
        elif isinstance(item[0], dict | list):
            piece = "…" if item[1] >= max_depth else _open_container(item[0], item[1], todo)
        else:
            piece = _scalar_text(item[0], max_chars)
        parts.append(piece)
        size += len(piece)
    text = "".join(parts)
    return text if len(text) <= max_chars and not todo else text[: max_chars - 1] + "…"


def _open_container(container: Container, depth: int, todo: list[tuple[Any, int] | str]) -> str:
    """Push a container's items (and its closing bracket) for `render_header`; return its opening."""
    last = len(container) - 1
    if isinstance(container, dict):
        todo.append("}")
        for index, (key, child) in enumerate(reversed(list(container.items()))):
            todo.append((child, depth + 1))
            todo.append(f"{key!r}: " if index == last else f", {key!r}: ")
        return "{"
    todo.append("]")
    for index, child in enumerate(reversed(container)):
        todo.append((child, depth + 1))
        if index != last:
            todo.append(", ")
    return "["


def _scalar_text(value: Any, max_chars: int) -> str:
    if isinstance(value, bytes | bytearray):
        return repr(bytes(value[:200]))
    if isinstance(value, Decimal | int | float | bool) or value is None:
        return repr(value)
    return repr(str(value)[:max_chars])
