"""An id beyond its column's range is refused with 422 before any query runs, never a 500."""

import pytest
from academy_runtime.db import SessionDep
from academy_runtime.errors import NotFoundError
from academy_runtime.ids import INT32_MAX, INT64_MAX, BigIntegerId, IntegerId, TelegramId, UserId
from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import BigInteger, literal, select

from .conftest import Effect, serving

pytestmark = pytest.mark.integration

router = APIRouter()


@router.get("/effects/{effect_id}")
async def get_effect(effect_id: IntegerId, session: SessionDep) -> dict[str, int]:
    effect = await session.get(Effect, effect_id)
    if effect is None:
        raise NotFoundError(f"no effect {effect_id}")
    return {"id": effect.id}


@router.get("/unbounded/{effect_id}")
async def get_effect_unbounded(effect_id: int, session: SessionDep) -> dict[str, int]:
    """What every id path was before the bounds: the database is asked, and the driver fails."""
    await session.get(Effect, effect_id)
    return {"id": effect_id}


@router.get("/telegram/{telegram_id}")
async def echo_telegram_id(telegram_id: TelegramId, session: SessionDep) -> dict[str, int]:
    held = await session.scalar(select(literal(telegram_id, BigInteger)))
    return {"telegram_id": int(held or 0)}


@router.get("/ledger")
async def ledger_page(session: SessionDep, before_id: BigIntegerId | None = None) -> dict[str, int | None]:
    return {"before_id": await session.scalar(select(literal(before_id, BigInteger)))}


class Award(BaseModel):
    user_id: UserId


@router.post("/awards")
async def award(command: Award) -> Award:
    return command


@pytest.fixture
async def client(resources):
    async with serving(router, settings=resources.settings, resources=resources) as http:
        yield http


async def test_an_integer_id_beyond_int32_is_refused_before_the_database(client):
    at_the_limit = await client.get(f"/effects/{INT32_MAX}")
    beyond = await client.get(f"/effects/{INT32_MAX + 1}")
    unbounded = await client.get(f"/unbounded/{INT32_MAX + 1}")

    assert at_the_limit.status_code == 404, at_the_limit.text  # the database was asked, and answered
    assert beyond.status_code == 422, beyond.text
    assert beyond.json()["error"]["code"] == "validation_failed"
    assert unbounded.status_code == 500  # why the bounds exist


@pytest.mark.parametrize("effect_id", ["0", "-1", "1.5", str(INT64_MAX)])
async def test_zero_negative_fractional_and_bigint_ids_are_422(client, effect_id):
    assert (await client.get(f"/effects/{effect_id}")).status_code == 422


async def test_a_big_integer_id_is_bounded_to_int64(client):
    largest = await client.get(f"/telegram/{INT64_MAX}")
    beyond = await client.get(f"/telegram/{INT64_MAX + 1}")

    assert largest.json() == {"telegram_id": INT64_MAX}
    assert beyond.status_code == 422, beyond.text


async def test_the_bounds_hold_in_queries_and_bodies_too(client):
    assert (await client.get("/ledger", params={"before_id": INT64_MAX})).json() == {"before_id": INT64_MAX}
    assert (await client.get("/ledger", params={"before_id": INT64_MAX + 1})).status_code == 422
    assert (await client.post("/awards", json={"user_id": INT32_MAX})).status_code == 200
    assert (await client.post("/awards", json={"user_id": INT32_MAX + 1})).status_code == 422
