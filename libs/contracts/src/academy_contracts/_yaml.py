"""A small YAML emitter for JSON-shaped data (dicts, lists, strings, numbers, booleans, null).

The package depends on pydantic only, so it cannot use PyYAML to write `asyncapi.yaml`. Block style
keeps the document readable; any string that YAML could read as something else (a number, a date,
`yes`, text with `: ` or `#`) is written double-quoted with JSON escapes, which YAML accepts as is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

_INDENT = 2
_PLAIN = re.compile(r"^[A-Za-z$_][A-Za-z0-9_.$/-]*$")
# Scalars YAML 1.1 (PyYAML) or 1.2 would not read back as strings.
_RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"})


def dump_yaml(document: Mapping[str, Any]) -> str:
    lines: list[str] = []
    _mapping(document, 0, lines)
    return "\n".join(lines) + "\n"


def _string(value: str) -> str:
    if _PLAIN.fullmatch(value) and value.lower() not in _RESERVED:
        return value
    # Unicode line and paragraph separators are line breaks to some YAML readers: keep them escaped.
    return json.dumps(value, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _literal_ok(value: str) -> bool:
    """Whether a multi-line string can be written as a `|` block and read back unchanged."""
    if "\n" not in value or value.endswith("\n\n") or value.startswith((" ", "\n")):
        return False
    return all(char == "\n" or (char.isprintable() and char not in "\u2028\u2029") for char in value)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = json.dumps(value)
        # PyYAML reads `1e+20` (no dot) as a string; no document here needs such numbers, so fail loudly.
        if "." not in text:
            raise ValueError(f"cannot write {text} as an unambiguous YAML float")
        return text
    if isinstance(value, str):
        return _string(value)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _is_block(value: Any) -> bool:
    return isinstance(value, Mapping | list | tuple) and len(value) > 0


def _inline(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    return _scalar(value)


def _mapping(value: Mapping[str, Any], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for key, item in value.items():
        if not isinstance(key, str):
            raise TypeError(f"YAML keys must be strings, not {type(key).__name__}")
        if isinstance(item, str) and _literal_ok(item):
            lines.append(f"{pad}{_string(key)}: {'|' if item.endswith(chr(10)) else '|-'}")
            inner = " " * (indent + _INDENT)
            lines.extend(f"{inner}{line}" if line else "" for line in item.removesuffix("\n").split("\n"))
            continue
        if not _is_block(item):
            lines.append(f"{pad}{_string(key)}: {_inline(item)}")
            continue
        lines.append(f"{pad}{_string(key)}:")
        if isinstance(item, Mapping):
            _mapping(item, indent + _INDENT, lines)
        else:
            _sequence(item, indent + _INDENT, lines)


def _sequence(value: Sequence[Any], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for item in value:
        if not _is_block(item):
            lines.append(f"{pad}- {_inline(item)}")
            continue
        # Render the block one level deeper, then hang its first line on the dash.
        nested: list[str] = []
        if isinstance(item, Mapping):
            _mapping(item, indent + _INDENT, nested)
        else:
            _sequence(item, indent + _INDENT, nested)
        nested[0] = f"{pad}- {nested[0][indent + _INDENT :]}"
        lines.extend(nested)
