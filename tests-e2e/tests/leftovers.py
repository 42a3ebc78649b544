"""Where could a learner's personal data still be? Everywhere the platform keeps anything, searched.

`find_leftovers` looks, for each given value (a name, a phone in the forms people write it, a username,
a Telegram id), in:

- every row of every table of every schema of the run's database (services' tables, outboxes, inboxes,
  idempotency records, audit logs), through the row's text form: a value inside a JSON document, an
  array or a composite is found as well as a plain column, and also in its JSON-escaped form (`\\u0417…`)
  and as UTF-8 hex (a `bytea` column);
- every Redis key of the run (its prefix) and every value of it, whatever the type (string, hash, list,
  set, sorted set, stream);
- every object of the run's S3 bucket: its key, and its bytes (the values, and the digests of the images
  the learner sent).

User ids are short numbers that appear by chance in any text, so they are looked for only as a whole
segment of a Redis key or an S3 object key (`…:42:…`, `…/42/…`), where a service names what belongs to
a learner. Each hit is described as `where: what`, so a failing test says exactly what remains.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable

import asyncpg
import redis.asyncio as aioredis
from academy_runtime.testing import TestPlatform
from miniopy_async.api import Minio

_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


def _patterns(values: Iterable[str]) -> dict[str, list[str]]:
    """Each value with the forms it may take in a row's text: as written, JSON-escaped, UTF-8 hex."""
    forms: dict[str, list[str]] = {}
    for value in values:
        escaped = json.dumps(value)[1:-1]
        forms[value] = sorted({value, escaped, value.encode().hex()})
    return forms


async def _database_leftovers(platform: TestPlatform, values: list[str]) -> list[str]:
    found: list[str] = []
    forms = _patterns(values)
    connection = await asyncpg.connect(platform.admin_dsn())
    try:
        tables = await connection.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema <> ALL($1::text[]) ORDER BY 1, 2",
            list(_SYSTEM_SCHEMAS),
        )
        for table in tables:
            name = f'"{table["table_schema"]}"."{table["table_name"]}"'
            for value, patterns in forms.items():
                like = [f"%{pattern}%" for pattern in patterns]
                rows = await connection.fetch(
                    f"SELECT r::text AS row FROM {name} AS r WHERE lower(r::text) LIKE ANY($1::text[]) LIMIT 3",
                    [pattern.lower() for pattern in like],
                )
                found += [f"PostgreSQL {name}: {value!r} in {row['row'][:300]}" for row in rows]
    finally:
        await connection.close()
    return found


async def _redis_values(client: aioredis.Redis, key: bytes) -> list[bytes]:
    """Every string a key holds, whatever its type (a stream's field names and values)."""
    kind = (await client.type(key)).decode()
    readers = {
        "string": lambda: client.mget([key]),
        "hash": lambda: client.hgetall(key),
        "list": lambda: client.lrange(key, 0, -1),
        "set": lambda: client.smembers(key),
        "zset": lambda: client.zrange(key, 0, -1),
        "stream": lambda: client.xrange(key),
    }
    if kind not in readers:
        return []
    held = await readers[kind]()
    if kind == "hash":
        return [item for pair in held.items() for item in pair]
    if kind == "stream":
        return [item for _id, fields in held for pair in fields.items() for item in pair]
    return [item for item in held if item is not None]


def _segment(user_ids: Iterable[int], separators: str) -> re.Pattern[str] | None:
    ids = "|".join(str(user_id) for user_id in user_ids)
    if not ids:
        return None
    before, after = re.escape(separators), re.escape(separators + ".")
    return re.compile(rf"(^|[{before}])({ids})($|[{after}])")


async def _redis_leftovers(platform: TestPlatform, prefix: str, values: list[str], user_ids: list[int]) -> list[str]:
    found: list[str] = []
    by_id = _segment(user_ids, ":/_-")
    client = aioredis.from_url(platform.infra.redis_url)
    try:
        async for key in client.scan_iter(match=f"{prefix}*", count=500):
            name = key.decode(errors="replace")
            texts = [name] + [item.decode(errors="replace") for item in await _redis_values(client, key)]
            found += [
                f"Redis {name}: {value!r}" for value in values if any(value.lower() in text.lower() for text in texts)
            ]
            if by_id is not None and by_id.search(name.removeprefix(prefix)):
                found.append(f"Redis {name}: a key of the learner")
    finally:
        await client.aclose()
    return found


async def _s3_leftovers(
    platform: TestPlatform, bucket: str, values: list[str], user_ids: list[int], digests: set[str]
) -> list[str]:
    found: list[str] = []
    by_id = _segment(user_ids, "/_-")
    client = Minio(
        platform.infra.s3_endpoint,
        access_key="academy-test",
        secret_key=f"{platform.auth_secret}-s3",
        secure=False,
        region="us-east-1",
    )
    try:
        if not await client.bucket_exists(bucket):
            return []
        async for item in client.list_objects(bucket, recursive=True):
            key = item.object_name or ""
            response = await client.get_object(bucket, key)
            try:
                body: bytes = await response.read()
            finally:
                response.release()
            if by_id is not None and by_id.search(key):
                found.append(f"S3 {bucket}/{key}: an object of the learner")
            if hashlib.sha256(body).hexdigest() in digests:
                found.append(f"S3 {bucket}/{key}: an image the learner sent")
            found += [f"S3 {bucket}/{key}: {value!r}" for value in values if value.encode() in body + key.encode()]
    finally:
        await client.close_session()  # type: ignore[no-untyped-call]
    return found


async def find_leftovers(
    platform: TestPlatform,
    *,
    values: list[str],
    user_ids: list[int],
    images: list[bytes],
    redis_prefix: str,
    bucket: str,
) -> list[str]:
    """Every place where one of `values`, a key segment naming one of `user_ids`, or one of `images`
    remains (see the module docstring); empty when nothing does."""
    digests = {hashlib.sha256(image).hexdigest() for image in images}
    return [
        *await _database_leftovers(platform, values),
        *await _redis_leftovers(platform, redis_prefix, values, user_ids),
        *await _s3_leftovers(platform, bucket, values, user_ids, digests),
    ]
