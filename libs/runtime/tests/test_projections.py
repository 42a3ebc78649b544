"""`upsert_if_newer` against the real database: an older fact never overwrites a newer one."""

import asyncio

import pytest
from academy_runtime.db import transaction
from academy_runtime.projections import upsert_if_newer
from sqlalchemy import func, literal, select

from .conftest import Snapshot

pytestmark = pytest.mark.integration


async def put(resources, row_id: int, value: str, revision: int | None, **options) -> bool:
    values = {"id": row_id, "value": value, "revision": revision} | options.pop("extra", {})
    async with transaction(resources.sessionmaker) as session:
        return await upsert_if_newer(session, Snapshot, values, key=["id"], version="revision", **options)


async def held(resources, row_id: int) -> tuple[str, str | None, int | None]:
    async with resources.sessionmaker() as session:
        row = await session.get(Snapshot, row_id)
        return row.value, row.note, row.revision


async def test_a_newer_fact_replaces_the_row_and_an_older_one_is_ignored(resources):
    assert await put(resources, 1, "en", 2) is True
    assert await put(resources, 1, "ru", 1) is False  # the late registration
    assert await held(resources, 1) == ("en", None, 2)

    assert await put(resources, 1, "de", 3) is True
    assert await held(resources, 1) == ("de", None, 3)


async def test_the_same_revision_again_changes_nothing_unless_ties_are_allowed(resources):
    await put(resources, 2, "en", 5)

    assert await put(resources, 2, "ru", 5) is False
    assert await held(resources, 2) == ("en", None, 5)
    assert await put(resources, 2, "ru", 5, or_equal=True) is True
    assert await held(resources, 2) == ("ru", None, 5)


async def test_a_row_without_a_version_takes_any_fact(resources):
    await put(resources, 3, "written before versions existed", None)

    assert await put(resources, 3, "en", 1) is True
    assert await held(resources, 3) == ("en", None, 1)


async def test_only_the_listed_columns_and_the_version_are_overwritten(resources):
    await put(resources, 4, "en", 1, extra={"note": "kept"})

    assert await put(resources, 4, "ru", 2, extra={"note": "not this"}, update=["value"]) is True
    assert await held(resources, 4) == ("ru", "kept", 2)


async def test_extra_set_expressions_apply_with_the_fact(resources):
    await put(resources, 5, "en", 1)

    await put(resources, 5, "ru", 2, set_={"note": func.concat(Snapshot.value, literal(" then ru"))})
    assert await held(resources, 5) == ("ru", "en then ru", 2)


async def test_extra_set_expressions_may_read_the_new_row(resources):
    await put(resources, 8, "en", 1, extra={"note": "a"})

    await put(resources, 8, "ru", 2, extra={"note": "b"}, set_=lambda new: {"note": func.concat(new.note, new.value)})
    assert await held(resources, 8) == ("ru", "bru", 2)


async def test_concurrent_facts_leave_the_newest_whatever_the_order(resources):
    revisions = [7, 3, 9, 1, 8, 2, 6, 4, 5]
    await asyncio.gather(*(put(resources, 6, f"r{revision}", revision) for revision in revisions))

    assert await held(resources, 6) == ("r9", None, 9)


async def test_a_value_without_its_version_is_refused(resources):
    async with transaction(resources.sessionmaker) as session:
        with pytest.raises(ValueError, match="version column"):
            await upsert_if_newer(session, Snapshot, {"id": 7, "value": "x"}, key=["id"], version="revision")
    async with resources.sessionmaker() as session:
        assert (await session.execute(select(Snapshot).where(Snapshot.id == 7))).first() is None
