"""academy_runtime.testing's search for a learner's values, as the erasure tests use it: rows of a schema
as text, and every Redis key of the run with what it holds, whatever its type."""

from __future__ import annotations

import re

import pytest
from academy_runtime.testing import (
    mentioned,
    redis_entries,
    redis_entries_mentioning,
    rows_mentioning,
    schema_rows,
)
from redis.asyncio import Redis

from .conftest import SCHEMA, Effect, Snapshot

pytestmark = pytest.mark.integration

NAME = "Зинаида Ю."
ID_42 = re.compile(r"(?<!\d)42(?!\d)")


def test_a_value_is_found_in_any_case_json_escaped_and_as_hex():
    assert mentioned("ЗИНАИДА Ю. was here", [NAME]) == [NAME]
    assert mentioned('{"name": "\\u0417\\u0438\\u043d\\u0430\\u0438\\u0434\\u0430 \\u042e."}', [NAME]) == [NAME]
    assert mentioned("\\x" + NAME.encode().hex(), [NAME]) == [NAME]
    assert mentioned("course 420, lesson 142", [ID_42, NAME]) == []
    assert mentioned("(42,note)", [ID_42, NAME]) == [ID_42]


async def test_rows_of_a_schema_are_searched_as_text(resources):
    async with resources.sessionmaker() as session, session.begin():
        session.add_all([Effect(user_id=42, note=f"lesson of {NAME}"), Effect(user_id=7, note="someone else")])
        session.add(Snapshot(id=1, value="420", note=None))

    async with resources.sessionmaker() as session:
        rows = await schema_rows(session, SCHEMA)
        found = await rows_mentioning(session, SCHEMA, [NAME, ID_42])
        without_effects = await rows_mentioning(session, SCHEMA, [NAME, ID_42], except_tables=("effects",))
    async with resources.engine.connect() as connection:
        everywhere = await rows_mentioning(connection, None, [NAME])
        nowhere = await rows_mentioning(connection, None, ["nobody has this"])

    assert len(rows["effects"]) == 2
    assert rows["snapshots"] == ["(1,420,,)"]
    assert sorted(line.split(" in ")[0] for line in found) == [
        f"{SCHEMA}.effects: {NAME!r}",
        f"{SCHEMA}.effects: /{ID_42.pattern}/",
    ]
    assert without_effects == []
    assert [line.split(":")[0] for line in everywhere] == [f"{SCHEMA}.effects"]
    assert nowhere == []


async def test_every_redis_key_and_value_is_searched_whatever_its_type(resources, platform):
    prefix = resources.settings.redis_prefix
    raw = Redis.from_url(platform.infra.redis_url)  # bytes, as the end-to-end search reads them
    try:
        await raw.set(f"{prefix}search:name", NAME.encode())
        await raw.hset(f"{prefix}search:hash", mapping={"who": "x", "city": "Урюпинск"})
        await raw.rpush(f"{prefix}search:list", "a", "b")
        await raw.sadd(f"{prefix}search:set", "member")
        await raw.zadd(f"{prefix}search:board", {"000042": 10.0})
        await raw.xadd(f"{prefix}search:stream", {"field": "Урюпинск"})
        await raw.set(f"{prefix}learner:42:card", "1")

        for client in (raw, resources.redis):  # without and with decode_responses
            entries = await redis_entries(client, f"{prefix}search:")
            assert entries[f"{prefix}search:name"] == [NAME]
            assert sorted(entries[f"{prefix}search:hash"]) == sorted(["who", "x", "city", "Урюпинск"])
            assert entries[f"{prefix}search:board"] == ["000042", "10.0"]
            assert entries[f"{prefix}search:stream"] == ["field", "Урюпинск"]

        by_value = await redis_entries_mentioning(resources.redis, prefix, ["урюпинск", NAME])
        assert sorted(by_value) == sorted(
            [
                f"Redis {prefix}search:name: {NAME!r}",
                f"Redis {prefix}search:hash: 'урюпинск'",
                f"Redis {prefix}search:stream: 'урюпинск'",
            ]
        )
        board = re.compile(r"(?<!\d)0*42(?!\d)")
        assert sorted(await redis_entries_mentioning(raw, prefix, [board])) == [
            f"Redis {prefix}learner:42:card: /{board.pattern}/",
            f"Redis {prefix}search:board: /{board.pattern}/",
        ]
        by_key = await redis_entries_mentioning(raw, prefix, [], in_keys=[ID_42])
        assert by_key == [f"Redis {prefix}learner:42:card: /{ID_42.pattern}/"]
    finally:
        keys = [key async for key in raw.scan_iter(match=f"{prefix}*")]
        if keys:
            await raw.delete(*keys)
        await raw.aclose()
