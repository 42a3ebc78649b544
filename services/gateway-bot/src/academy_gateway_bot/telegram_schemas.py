"""aiogram's Bot API models with their pydantic schemas built on first use, not at import.

Why: ``import aiogram`` builds the validator and serializer of every Bot API type (about 450) and
method (about 190), each with the whole tree of the types it nests inlined: about 100 MB of
resident memory in each gateway process, before it has handled an update (upstream aiogram#1513,
open; measured 167 MB for ``import aiogram`` against 65 MB deferred, aiogram 3.31, pydantic 2.13).
A gateway process uses a few dozen of those models. Issue 11 asks for at most 150 MB per service
process.

How: aiogram marks its types ``defer_build=True`` but then calls ``model_rebuild`` on each of them
at the end of ``aiogram/types/__init__.py``, with the namespace that resolves their forward
references (names imported only under ``TYPE_CHECKING``). :func:`defer_aiogram_schemas` imports
aiogram with that call turned into "remember the namespace"; afterwards

* the three bases (``TelegramObject``, ``TelegramMethod``, ``Response``) rebuild with that same
  namespace whenever pydantic builds one of their models on first use, so a model's schema is
  the one aiogram would have built (``tests/test_telegram_schemas.py`` compares all of them), and
  not resolved in whatever frame happened to call it first;
* the namespace's names that a type module's annotations use are also added to its globals where
  missing (what its ``TYPE_CHECKING`` imports would have bound), so a schema of ours that nests an
  aiogram model resolves it too. Only those names: binding the whole namespace (about 700 names)
  into each of the 441 modules took 5.6 MB of every gateway process in module dictionaries.

Nothing else changes: the first validation of a model costs the build it would have cost at
import (milliseconds; ``Update`` about 2 ms), once per process.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from types import FunctionType, ModuleType
from typing import Any

from pydantic import BaseModel

__all__ = ["defer_aiogram_schemas"]

_TYPES_PACKAGE = "aiogram.types"


def defer_aiogram_schemas() -> bool:
    """Import aiogram with its Bot API models' schemas left to be built on first use.

    Call it before anything imports aiogram (``academy_gateway_bot/__init__.py`` does). Returns
    ``True`` when aiogram was imported here with its schemas deferred, ``False`` when aiogram was
    already imported (its schemas are then built already, and nothing is changed). Idempotent.
    """
    if "aiogram" in sys.modules:
        return False
    rebuild = BaseModel.__dict__["model_rebuild"]
    namespace: dict[str, Any] = {}
    importing = True

    def aiogram_rebuild(
        cls: type[BaseModel],
        *,
        force: bool = False,
        raise_errors: bool = True,
        _parent_namespace_depth: int = 2,
        _types_namespace: Mapping[str, Any] | None = None,
    ) -> bool | None:
        """pydantic's `model_rebuild`: while aiogram is imported, its types' rebuild only keeps the namespace
        it is given; afterwards a rebuild of aiogram's models (their first use) is given that namespace."""
        if importing:
            if _types_namespace is not None and not force and cls.__module__.startswith(_TYPES_PACKAGE + "."):
                namespace.update(_types_namespace)
                return None
        elif _types_namespace is None:
            _types_namespace = namespace
        result: bool | None = rebuild.__func__(
            cls,
            force=force,
            raise_errors=raise_errors,
            _parent_namespace_depth=_parent_namespace_depth + 1,
            _types_namespace=_types_namespace,
        )
        return result

    BaseModel.model_rebuild = classmethod(aiogram_rebuild)  # type: ignore[assignment,method-assign]
    try:
        import aiogram  # noqa: F401  (the import whose schema building is deferred)
        from aiogram.methods.base import Response, TelegramMethod
        from aiogram.types.base import TelegramObject
    finally:
        BaseModel.model_rebuild = rebuild  # type: ignore[method-assign]
        importing = False

    if not namespace:  # an aiogram that no longer rebuilds at import: nothing was deferred
        return True
    for base in (TelegramObject, TelegramMethod, Response):
        type.__setattr__(base, "model_rebuild", classmethod(aiogram_rebuild))
    _bind_in_type_modules(namespace)
    return True


def _bind_in_type_modules(namespace: Mapping[str, Any]) -> None:
    """Add to the globals of aiogram's type modules the namespace's names their annotations use, where missing
    (what their ``TYPE_CHECKING`` imports would have bound), so that a model of ours nesting an aiogram type
    resolves it. pydantic resolves a nested model's annotations in its module's globals."""
    for name, module in list(sys.modules.items()):
        if name.startswith(_TYPES_PACKAGE + ".") and module is not None:
            for key in _annotated_names(module):
                if key in namespace:
                    module.__dict__.setdefault(key, namespace[key])


_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def _annotated_names(module: ModuleType) -> set[str]:
    """The identifiers in the string annotations (aiogram's modules have ``from __future__ import annotations``)
    of the classes `module` defines and of their bases: their fields', and those of their methods, properties
    and validators.

    Only plain class attributes are looked at (no `getattr` on the members): a deferred model's validator is
    a placeholder whose attribute lookup builds the schema."""
    names: set[str] = set()
    for cls in list(vars(module).values()):
        if not isinstance(cls, type) or cls.__module__ != module.__name__:
            continue
        for owner in cls.__mro__:  # an inherited field is resolved in the subclass's module too
            annotations: list[Any] = list(vars(owner).get("__annotations__", {}).values())
            for member in vars(owner).values():
                function = _function_of(member)
                if function is not None:
                    annotations.extend(function.__annotations__.values())
            for annotation in annotations:
                if isinstance(annotation, str):
                    names.update(_IDENTIFIER.findall(annotation))
    return names


def _function_of(member: object) -> FunctionType | None:
    """The function of a class member: itself, a classmethod's or staticmethod's, a property's getter."""
    if isinstance(member, (classmethod, staticmethod)):
        member = member.__func__
    elif isinstance(member, property):
        member = member.fget
    return member if isinstance(member, FunctionType) else None
