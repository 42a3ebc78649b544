"""Ids as the columns that hold them can hold them: anything else is refused with 422.

An id the column type cannot hold (a path `/learners/3000000000` against an `Integer` key) would
reach asyncpg, which refuses to encode it, and fail as a 500 after the work had begun. These types
bound every id to its column, so the request is refused before anything runs. They work as path,
query and body types alike:

    @router.get("/{user_id}/payments/{payment_id}")
    async def get_payment(user_id: UserId, payment_id: BigIntegerId) -> ...

    before_id: Annotated[BigIntegerId | None, Query(description="...")] = None

Ids are positive (serial and identity columns start at 1, Telegram user ids are positive).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

INT32_MAX = 2**31 - 1
"""The largest value of PostgreSQL's `integer` (SQLAlchemy `Integer`)."""
INT64_MAX = 2**63 - 1
"""The largest value of PostgreSQL's `bigint` (SQLAlchemy `BigInteger`)."""

IntegerId = Annotated[int, Field(ge=1, le=INT32_MAX)]
"""An id held by an `Integer` column."""
BigIntegerId = Annotated[int, Field(ge=1, le=INT64_MAX)]
"""An id held by a `BigInteger` column (ledgers, payments: tables that may outgrow 2^31 rows)."""

# The ids every service refers to, one definition each.
UserId = Annotated[IntegerId, Field(description="A learner's id in the users service.")]
TelegramId = Annotated[BigIntegerId, Field(description="A Telegram user's id.")]
CourseId = Annotated[IntegerId, Field(description="A course's id in the catalog.")]
LessonId = Annotated[IntegerId, Field(description="A lesson's id in the catalog.")]
