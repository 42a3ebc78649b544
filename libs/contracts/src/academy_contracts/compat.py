"""Compatibility of the current models with the published (committed) JSON Schemas.

A published event version is a promise to every consumer. Comparing the committed schema of each
type with the one generated from the current model sorts every difference into:

* breaking: the published version would change under its consumers. A removed property, a new
  required property, a property no longer required, a changed type or format, a narrowed enum or a
  tightened constraint (pattern, bounds, `additionalProperties`), a removed event type. These must
  ship as a new version instead.
* compatible drift: an added optional property, a widened enum or bound, documentation. The
  committed documents are only out of date: regenerate them.

Event types with no committed schema yet are drift too (they are being published for the first time).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "REGENERATE_HINT",
    "Change",
    "CompatReport",
    "check_compatibility",
    "compare_event_schemas",
    "load_schemas",
    "next_version",
]

REGENERATE_HINT = "run `make contracts` (uv run python -m academy_contracts.generate) to regenerate"

_VERSION_RE = re.compile(r"^(?P<name>.+)\.v(?P<number>[1-9][0-9]*)$")

# Bounds that reject more values when they grow, and those that reject more when they shrink.
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_MAX_REFERENCE_HOPS = 32  # a longer chain of `$ref` to `$ref` can only be a cycle
_DOC_KEYWORDS = ("title", "description", "examples", "default", "$comment")


def next_version(event_type: str, known_types: set[str] | frozenset[str] = frozenset()) -> str:
    """`users.user_registered.v1` → `users.user_registered.v2` (past any version already known)."""
    match = _VERSION_RE.fullmatch(event_type)
    if match is None:
        return f"{event_type}.v2"
    name = match["name"]
    taken = [int(m["number"]) for t in known_types if (m := _VERSION_RE.fullmatch(t)) and m["name"] == name]
    return f"{name}.v{max([int(match['number']), *taken]) + 1}"


@dataclass(frozen=True)
class Change:
    """One difference between the published schema of an event type and the current one."""

    event_type: str
    path: str
    detail: str
    breaking: bool
    suggested_type: str = ""

    def message(self) -> str:
        where = f" at `{self.path}`" if self.path else ""
        if self.breaking:
            return (
                f"BREAKING {self.event_type}{where}: {self.detail}. A published version never changes: "
                f"ship it as {self.suggested_type or next_version(self.event_type)} instead "
                "(a new model next to the old one, both published during the migration)."
            )
        return f"drift {self.event_type}{where}: {self.detail} (compatible); {REGENERATE_HINT}."


@dataclass(frozen=True)
class CompatReport:
    changes: tuple[Change, ...] = field(default_factory=tuple)

    @property
    def breaking(self) -> tuple[Change, ...]:
        return tuple(change for change in self.changes if change.breaking)

    @property
    def drift(self) -> tuple[Change, ...]:
        return tuple(change for change in self.changes if not change.breaking)

    @property
    def ok(self) -> bool:
        return not self.changes

    def format(self) -> str:
        return "\n".join(change.message() for change in (*self.breaking, *self.drift))


def load_schemas(directory: Path) -> dict[str, dict[str, Any]]:
    """The committed schemas, keyed by event type (the file name without `.json`)."""
    if not directory.is_dir():
        return {}
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.json"))}


def check_compatibility(
    published: Mapping[str, Mapping[str, Any]], current: Mapping[str, Mapping[str, Any]]
) -> CompatReport:
    """Compare every published event schema with the current one, and list new and removed types."""
    known = frozenset(published) | frozenset(current)
    changes: list[Change] = []
    for event_type in sorted(known):
        if event_type not in current:
            changes.append(
                Change(
                    event_type,
                    "",
                    "the event type was removed although it is published; consumers still bind to it. "
                    "Keep its model (and keep publishing it) until no consumer needs it",
                    breaking=True,
                    suggested_type=event_type,
                )
            )
        elif event_type not in published:
            changes.append(Change(event_type, "", "new event type, not yet in the committed schemas", breaking=False))
        else:
            changes.extend(compare_event_schemas(event_type, published[event_type], current[event_type], known))
    return CompatReport(tuple(changes))


def compare_event_schemas(
    event_type: str,
    published: Mapping[str, Any],
    current: Mapping[str, Any],
    known_types: frozenset[str] = frozenset(),
) -> list[Change]:
    """The differences between two schemas of one event type, breaking ones first-class."""
    suggestion = next_version(event_type, set(known_types))
    comparison = _Comparison(published, current)
    comparison.compare(published, current, "")
    changes = [
        Change(event_type, path, detail, breaking=breaking, suggested_type=suggestion if breaking else "")
        for path, detail, breaking in comparison.found
    ]
    if not changes and _canonical(published) != _canonical(current):
        changes.append(Change(event_type, "", "descriptions, examples or layout changed", breaking=False))
    return changes


def _canonical(document: Mapping[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, ensure_ascii=False)


class _Comparison:
    """Walks two schemas side by side, resolving local `$ref`s, collecting (path, detail, breaking)."""

    def __init__(self, old_root: Mapping[str, Any], new_root: Mapping[str, Any]) -> None:
        self.old_root = old_root
        self.new_root = new_root
        self.found: list[tuple[str, str, bool]] = []
        self._seen: set[tuple[int, int]] = set()

    def breaking(self, path: str, detail: str) -> None:
        self.found.append((path, detail, True))

    def compatible(self, path: str, detail: str) -> None:
        self.found.append((path, detail, False))

    def compare(self, old: Any, new: Any, path: str) -> None:
        old = _resolve(old, self.old_root)
        new = _resolve(new, self.new_root)
        if not isinstance(old, Mapping) or not isinstance(new, Mapping):
            if old != new:
                self.breaking(path, "the schema changed shape")
            return
        key = (id(old), id(new))
        if key in self._seen:  # recursive models: each pair of nodes is compared once
            return
        self._seen.add(key)
        old, new = _flatten(old, self.old_root), _flatten(new, self.new_root)

        old_types, new_types = _types(old, self.old_root), _types(new, self.new_root)
        if old_types != new_types:
            self.breaking(path, f"type changed from {_show(old_types)} to {_show(new_types)}")
            return
        if old.get("format") != new.get("format"):
            self.breaking(path, f"format changed from {old.get('format')!r} to {new.get('format')!r}")
        self._compare_values(old, new, path)
        self._compare_pattern(old, new, path)
        self._compare_bounds(old, new, path)
        self._compare_unions(old, new, path)
        if "object" in new_types:
            self._compare_objects(old, new, path)
        if "array" in new_types:
            self.compare(old.get("items", {}), new.get("items", {}), f"{path}[]")
        if changed := [keyword for keyword in _DOC_KEYWORDS if old.get(keyword) != new.get(keyword)]:
            self.compatible(path, f"{', '.join(changed)} changed")

    def _compare_values(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        old_values, new_values = _allowed_values(old), _allowed_values(new)
        if old_values is None and new_values is None:
            return
        if new_values is None:
            self.compatible(path, "the fixed set of values was lifted")
            return
        if old_values is None:
            self.breaking(path, f"values are now restricted to {_show(new_values)}")
            return
        if removed := old_values - new_values:
            self.breaking(path, f"enum narrowed: {_show(removed)} no longer allowed")
        if added := new_values - old_values:
            self.compatible(
                path,
                f"enum widened with {_show(added)}; consumers on the published version reject them until upgraded",
            )

    def _compare_pattern(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        before, after = old.get("pattern"), new.get("pattern")
        if before == after:
            return
        if after is None:
            self.compatible(path, "pattern removed")
        else:
            self.breaking(path, f"pattern changed from {before!r} to {after!r}")

    def _compare_bounds(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        for key in (*_LOWER_BOUNDS, *_UPPER_BOUNDS):
            before, after = old.get(key), new.get(key)
            if before == after:
                continue
            lower = key in _LOWER_BOUNDS
            if after is None:
                self.compatible(path, f"{key} {before} removed")
            elif before is None or (after > before if lower else after < before):
                self.breaking(path, f"{key} tightened from {before} to {after}")
            else:
                self.compatible(path, f"{key} relaxed from {before} to {after}")

    def _compare_unions(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        # `X | None` is anyOf [X, null]: compare the non-null branches when each side has exactly one.
        old_branches, new_branches = _non_null_branches(old, self.old_root), _non_null_branches(new, self.new_root)
        in_unions = _is_union(old) and _is_union(new)
        if in_unions and len(old_branches) == 1 and len(new_branches) == 1:
            self.compare(old_branches[0], new_branches[0], path)

    def _compare_objects(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        old_props: Mapping[str, Any] = old.get("properties", {})
        new_props: Mapping[str, Any] = new.get("properties", {})
        old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
        for name in old_props:
            child = _join(path, name)
            if name not in new_props:
                self.breaking(child, "property removed")
                continue
            if name in new_required and name not in old_required:
                self.breaking(child, "property became required")
            elif name in old_required and name not in new_required:
                self.breaking(child, "property is no longer required; consumers of the published version rely on it")
            self.compare(old_props[name], new_props[name], child)
        for name in new_props:
            if name in old_props:
                continue
            if name in new_required:
                self.breaking(_join(path, name), "new required property")
            else:
                self.compatible(_join(path, name), "optional property added")
        old_extra, new_extra = old.get("additionalProperties", True), new.get("additionalProperties", True)
        if old_extra is not False and new_extra is False:
            self.breaking(path, "additional properties are no longer allowed")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _resolve(node: Any, root: Mapping[str, Any]) -> Any:
    hops = 0
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target: Any = root
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
        hops += 1
        if hops > _MAX_REFERENCE_HOPS:
            raise ValueError("reference cycle in schema")
    return node


def _flatten(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Merge `allOf` parts into one schema. Pydantic has written a described reference both as
    `{"$ref": ...}` and as `{"allOf": [{"$ref": ...}]}`; the two must compare equal."""
    parts = node.get("allOf")
    if not isinstance(parts, list):
        return node
    merged: dict[str, Any] = {key: value for key, value in node.items() if key != "allOf"}
    for part in parts:
        resolved = _resolve(part, root)
        if not isinstance(resolved, Mapping):
            continue
        for key, value in _flatten(resolved, root).items():
            if key == "properties":
                merged["properties"] = {**value, **merged.get("properties", {})}
            elif key == "required":
                merged["required"] = sorted({*value, *merged.get("required", ())})
            else:
                merged.setdefault(key, value)
    return merged


def _is_union(node: Mapping[str, Any]) -> bool:
    return isinstance(node.get("anyOf"), list) or isinstance(node.get("oneOf"), list)


def _branches(node: Mapping[str, Any]) -> list[Any]:
    for keyword in ("anyOf", "oneOf"):
        if isinstance(node.get(keyword), list):
            return list(node[keyword])
    return [node]


def _non_null_branches(node: Mapping[str, Any], root: Mapping[str, Any]) -> list[Any]:
    resolved = (_resolve(branch, root) for branch in _branches(node))
    return [
        branch
        for branch in (_flatten(b, root) if isinstance(b, Mapping) else b for b in resolved)
        if not (isinstance(branch, Mapping) and branch.get("type") == "null")
    ]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _types(node: Mapping[str, Any], root: Mapping[str, Any]) -> frozenset[str]:
    node = _flatten(node, root)
    branches = _branches(node)
    if len(branches) > 1 or branches[0] is not node:
        return frozenset().union(*(_types(_resolve(branch, root), root) for branch in branches))
    declared = node.get("type")
    if isinstance(declared, str):
        return frozenset({declared})
    if isinstance(declared, list):
        return frozenset(declared)
    values = _allowed_values(node)
    if values is not None:
        return frozenset(_json_type(json.loads(value)) for value in values)
    if "properties" in node:
        return frozenset({"object"})
    return frozenset({"any"})


def _allowed_values(node: Mapping[str, Any]) -> frozenset[str] | None:
    # Values are compared in their JSON text so that 1 and true stay distinct.
    if "const" in node:
        return frozenset({json.dumps(node["const"], sort_keys=True)})
    if isinstance(node.get("enum"), list):
        return frozenset(json.dumps(value, sort_keys=True) for value in node["enum"])
    return None


def _show(values: frozenset[str]) -> str:
    return ", ".join(sorted(values))
