"""Where could a learner's personal data still be? Everywhere the platform keeps anything, searched.

`find_leftovers` looks, for each given value (a name, a phone in the forms people write it, a username,
a Telegram id), in:

- every row of every table of every schema of the run's database (services' tables, outboxes, inboxes,
  idempotency records, audit logs), through the row's text form: a value inside a JSON document, an
  array or a composite is found as well as a plain column, and also in its JSON-escaped form (`\\u0417…`)
  and as UTF-8 hex (a `bytea` column) — `academy_runtime.testing.rows_mentioning`, as the services' own
  erasure tests search their schema;
- every Redis key of the run (its prefix) and every value of it, whatever the type (string, hash, list,
  set, sorted set, stream) — `academy_runtime.testing.redis_entries_mentioning`;
- every object of the run's S3 bucket: its key, and its bytes (the values, and the digests of the images
  the learner sent).

User ids are short numbers that appear by chance in any text, so they are looked for only as a whole
segment of a Redis key or an S3 object key (`…:42:…`, `…/42/…`), where a service names what belongs to
a learner. Each hit is described as `where: what`, so a failing test says exactly what remains.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

import redis.asyncio as aioredis
from academy_runtime.testing import TestPlatform, redis_entries_mentioning, rows_mentioning
from miniopy_async.api import Minio
from sqlalchemy.ext.asyncio import create_async_engine


async def _database_leftovers(platform: TestPlatform, values: list[str]) -> list[str]:
    dsn = platform.admin_dsn().split("://", 1)[1]
    engine = create_async_engine(f"postgresql+asyncpg://{dsn}")
    try:
        async with engine.connect() as connection:
            return [f"PostgreSQL {hit}" for hit in await rows_mentioning(connection, None, values)]
    finally:
        await engine.dispose()


def _segment(user_ids: Iterable[int], separators: str) -> re.Pattern[str] | None:
    ids = "|".join(str(user_id) for user_id in user_ids)
    if not ids:
        return None
    before, after = re.escape(separators), re.escape(separators + ".")
    return re.compile(rf"(^|[{before}])({ids})($|[{after}])")


async def _redis_leftovers(platform: TestPlatform, prefix: str, values: list[str], user_ids: list[int]) -> list[str]:
    by_id = _segment(user_ids, ":/_-")
    client = aioredis.from_url(platform.infra.redis_url)
    try:
        return await redis_entries_mentioning(client, prefix, values, in_keys=[by_id] if by_id is not None else [])
    finally:
        await client.aclose()


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
