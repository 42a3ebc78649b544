"""The repository base: the session, an insert that knows its id, and one row or none."""

import asyncio

import pytest
from academy_runtime.db import transaction
from academy_runtime.repository import Repository
from sqlalchemy import select
from sqlalchemy.exc import MultipleResultsFound

from .conftest import Effect

pytestmark = pytest.mark.integration


class EffectRepository(Repository):
    async def by_user(self, user_id: int, *, for_update: bool = False) -> Effect | None:
        return await self.one_or_none(select(Effect).where(Effect.user_id == user_id), for_update=for_update)


async def test_add_flushes_so_the_generated_id_is_known(resources):
    async with transaction(resources.sessionmaker) as session:
        effect = await EffectRepository(session).add(Effect(user_id=1, note="added"))
        assert effect.id is not None

        assert await EffectRepository(session).by_user(1) is effect
        assert await EffectRepository(session).by_user(2) is None


async def test_more_than_one_row_is_a_bug_in_the_query(resources):
    async with transaction(resources.sessionmaker) as session:
        repository = EffectRepository(session)
        await repository.add(Effect(user_id=3, note="one"))
        await repository.add(Effect(user_id=3, note="two"))
        with pytest.raises(MultipleResultsFound):
            await repository.by_user(3)


async def test_for_update_locks_the_row_until_the_transaction_ends(resources):
    async with transaction(resources.sessionmaker) as session:
        await EffectRepository(session).add(Effect(user_id=4, note="locked"))

    async with transaction(resources.sessionmaker) as holder, transaction(resources.sessionmaker) as other:
        await EffectRepository(holder).by_user(4, for_update=True)
        waiting = asyncio.create_task(EffectRepository(other).by_user(4, for_update=True))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await holder.commit()
        assert (await asyncio.wait_for(waiting, timeout=2)).note == "locked"
