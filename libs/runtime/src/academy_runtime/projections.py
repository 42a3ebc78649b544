"""Projections fed by events: a row is written only by a fact newer than the one it holds.

Events arrive at least once and in any order (a broker outage delivers a registration after the
profile change that followed it), so a projection that simply upserts lets an older fact overwrite a
newer one. Each projected row keeps the version of the fact it reflects (the producer's per-entity
`revision`, or failing that the producer's own timestamp of the change) and an upsert changes it only
for a higher version:

    applied = await upsert_if_newer(
        session, LearnerPreferences, {"user_id": 42, "timezone": "Asia/Novosibirsk", "profile_revision": 3},
        key=["user_id"], version="profile_revision", update=["timezone", "profile_revision"],
    )

is `INSERT ... ON CONFLICT (user_id) DO UPDATE SET timezone = excluded.timezone, profile_revision =
excluded.profile_revision WHERE held.profile_revision IS NULL OR held.profile_revision <
excluded.profile_revision RETURNING user_id`: one statement, so two handlers racing on the same row
cannot both win, and the answer says whether the fact was applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, or_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.dml import ReturningInsert
from sqlalchemy.sql.elements import KeyedColumnElement

Excluded = ReadOnlyColumnCollection[str, KeyedColumnElement[Any]]
"""The row that was to be inserted (`excluded.<column>` in SQL)."""
SetClause = Mapping[str, Any] | Callable[[Excluded], Mapping[str, Any]]


def upsert_if_newer_statement(
    target: type[DeclarativeBase] | Table,
    values: Mapping[str, Any],
    *,
    key: Sequence[str],
    version: str,
    update: Iterable[str] | None = None,
    set_: SetClause | None = None,
    or_equal: bool = False,
) -> ReturningInsert[Any]:
    """The upsert of `values` into `target` that changes an existing row only for a newer `version`.

    `key`: the conflict target (the primary key or a unique index). `update`: the columns an applied
    fact overwrites (default: every column in `values` but the key); `version` is always among them.
    `set_`: further SET expressions (`{"projected_at": func.now()}`), or a function of the `excluded`
    row returning them, for a column that must not simply take the new value
    (`lambda new: {"is_active": and_(new.is_active, Course.archived_at.is_(None))}`). A row holding no
    version yet (NULL) takes any fact. `or_equal`: a fact of the same version is applied too (for a fact
    that must win a tie, such as an archive). Returns the key of the row inserted or changed; no row
    means the fact was older and nothing was written.
    """
    if version not in values:
        raise ValueError(f"values lack the version column {version!r}")
    statement = insert(target).values(dict(values))
    held, excluded = statement.table.c, statement.excluded
    columns = [name for name in (update if update is not None else values) if name not in key]
    assignments: dict[str, Any] = {name: excluded[name] for name in columns}
    assignments[version] = excluded[version]
    assignments.update((set_(excluded) if callable(set_) else set_) or {})
    newer = held[version] <= excluded[version] if or_equal else held[version] < excluded[version]
    return statement.on_conflict_do_update(
        index_elements=[held[name] for name in key],
        set_=assignments,
        where=or_(held[version].is_(None), newer),
    ).returning(*(held[name] for name in key))


async def upsert_if_newer(
    session: AsyncSession,
    target: type[DeclarativeBase] | Table,
    values: Mapping[str, Any],
    *,
    key: Sequence[str],
    version: str,
    update: Iterable[str] | None = None,
    set_: SetClause | None = None,
    or_equal: bool = False,
) -> bool:
    """Run `upsert_if_newer_statement`; True when the fact was applied (row inserted or changed)."""
    statement = upsert_if_newer_statement(
        target, values, key=key, version=version, update=update, set_=set_, or_equal=or_equal
    )
    return (await session.execute(statement)).first() is not None
