"""Tombstones of erased learners: a service's `erased_learners` table, the user id alone.

A service that keeps something keyed by a learner but no registry of learners (gamification, the catalog,
the gateway) remembers whom the users service erased, so that a fact about them delivered after the
erasure (events come in any order, and again) stores nothing. The table is the service's own (its schema,
its migration); this module holds what is the same everywhere — the primary-key column and the queries:

    class ErasedLearner(ErasedLearnerColumns, Base):
        __tablename__ = "erased_learners"

    class ErasedLearnerRepository(TombstoneRepository):
        model = ErasedLearner

    await ErasedLearnerRepository(session).remember(user_id)

A table may hold more columns than the id (the gateway's `erased_at`): `remember` takes their values.

Billing and progress use `academy_runtime.learner_registry` instead: a row for every learner the users
service announced, with `erased_at` set by the erasure, because they refuse a write for a learner not
announced yet (404). A tombstone table knows only the erased, and an id it does not hold is anyone's.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, ClassVar

from sqlalchemy import Integer, Select, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.orm import Mapped, mapped_column

from academy_runtime.db import table_of
from academy_runtime.repository import Repository


class ErasedLearnerColumns:
    """The declarative mixin of a tombstone table: `user_id`, the primary key (never generated: it is the
    users service's id). Put it before the service's `Base`; the class names its own `__tablename__`."""

    # sort_order: the first column, as the services' migrations made it, before the class's own columns.
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, sort_order=-1)


class TombstoneRepository(Repository):
    """The queries of one service's tombstone table; a subclass names it in `model` (a mapped class with
    `ErasedLearnerColumns`). Never commits: the statements run in the caller's transaction."""

    model: ClassVar[type[ErasedLearnerColumns]]

    async def remember(self, user_id: int, **columns: Any) -> None:
        """Record that the learner `user_id` was erased; `columns` fill the table's other required columns
        (the gateway's `erased_at`). Again is a no-op: the first tombstone is kept as it was."""
        statement = insert(self.model).values(user_id=user_id, **columns)
        await self.session.execute(statement.on_conflict_do_nothing(index_elements=[self.model.user_id]))

    async def is_erased(self, user_id: int) -> bool:
        """Whether the learner `user_id` was erased (their tombstone is here)."""
        found = await self.session.scalar(_is_erased_statement(self.model), {"user_id": user_id})
        return found is not None

    async def erased_among(self, user_ids: Collection[int]) -> set[int]:
        """Which of `user_ids` were erased (an empty set when none): one query with one array parameter,
        however many ids (a whole leaderboard's)."""
        if not user_ids:
            return set()
        ids = bindparam("user_ids", list(user_ids), type_=ARRAY(Integer))
        statement = select(self.model.user_id).where(self.model.user_id == any_(ids))
        return set((await self.session.scalars(statement)).all())


_IS_ERASED: dict[str, Select[Any]] = {}


def _is_erased_statement(model: type[ErasedLearnerColumns]) -> Select[Any]:
    """Built once per table: asked on every event of the consumers that hold learners' data."""
    key = f"{model.__module__}.{model.__qualname__}"
    statement = _IS_ERASED.get(key)
    if statement is None:
        table = table_of(model)
        statement = _IS_ERASED[key] = select(table.c.user_id).where(
            table.c.user_id == bindparam("user_id", type_=Integer)
        )
    return statement


__all__ = ["ErasedLearnerColumns", "TombstoneRepository"]
