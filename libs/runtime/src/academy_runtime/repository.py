"""The base of every repository: the queries of one module, on the unit of work's session.

A repository flushes, never commits: the transaction belongs to the boundary that opened it (the
request's `SessionDep`, the consumer's wrapper, `academy_runtime.db.transaction`).

    class CourseRepository(Repository):
        async def get(self, course_id: int, *, for_update: bool = False) -> Course | None:
            return await self.one_or_none(select(Course).where(Course.id == course_id), for_update=for_update)
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

RowT = TypeVar("RowT")


class Repository:
    """Holds the session; subclasses add the queries."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: RowT) -> RowT:
        """Insert `row` now (a flush), so that its generated id and server defaults can be read."""
        self.session.add(row)
        await self.session.flush()
        return row

    async def one_or_none(self, statement: Select[RowT], *, for_update: bool = False) -> RowT | None:
        """The one row `statement` selects, or None; `for_update` locks it until the transaction ends.

        More than one row is a bug in the query and raises MultipleResultsFound."""
        if for_update:
            statement = statement.with_for_update()
        result: RowT | None = (await self.session.execute(statement)).scalar_one_or_none()
        return result
