"""academy_runtime.tombstones on the real database: a tombstone table of ids only (gamification's, the
catalog's) and one with another required column (the gateway's `erased_at`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from academy_runtime.tombstones import ErasedLearnerColumns, TombstoneRepository
from sqlalchemy import DateTime, select
from sqlalchemy.orm import Mapped, mapped_column

from .conftest import Base

pytestmark = pytest.mark.integration

ERASED_AT = datetime(2026, 4, 1, tzinfo=UTC)


class Tombstone(ErasedLearnerColumns, Base):
    __tablename__ = "tombstones"


class DatedTombstone(ErasedLearnerColumns, Base):
    __tablename__ = "dated_tombstones"

    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Tombstones(TombstoneRepository):
    model = Tombstone


class DatedTombstones(TombstoneRepository):
    model = DatedTombstone


def test_the_mixin_makes_the_user_id_the_primary_key_never_generated():
    (key,) = Tombstone.__table__.primary_key.columns
    assert (key.name, key.autoincrement) == ("user_id", False)
    assert [c.name for c in DatedTombstone.__table__.columns] == ["user_id", "erased_at"]


async def test_remembered_once_and_asked_about(resources):
    async with resources.sessionmaker() as session, session.begin():
        tombstones = Tombstones(session)
        assert await tombstones.is_erased(7) is False
        await tombstones.remember(7)
        await tombstones.remember(7)  # again: nothing changes, nothing fails
        await tombstones.remember(9)

        assert await tombstones.is_erased(7) is True
        assert await tombstones.is_erased(8) is False
        assert await tombstones.erased_among([7, 8, 9, 10]) == {7, 9}
        assert await tombstones.erased_among([]) == set()
        assert await tombstones.erased_among(range(1, 2_000)) == {7, 9}


async def test_a_table_with_more_columns_takes_their_values_and_keeps_the_first(resources):
    async with resources.sessionmaker() as session, session.begin():
        tombstones = DatedTombstones(session)
        await tombstones.remember(7, erased_at=ERASED_AT)
        await tombstones.remember(7, erased_at=datetime(2026, 5, 1, tzinfo=UTC))

        assert await tombstones.is_erased(7) is True
        assert await session.scalar(select(DatedTombstone.erased_at)) == ERASED_AT
        # The other table is another service's: nothing of this one shows there.
        assert await Tombstones(session).is_erased(7) is False
