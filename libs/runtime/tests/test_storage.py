"""ObjectStorage against a real S3 server (TEST_S3_ENDPOINT: moto or MinIO): removing one object or every
object under a prefix, missing ones being no error (issue 10: avatars deleted with their row, erasure)."""

from collections.abc import AsyncIterator

import pytest
from academy_runtime.settings import ServiceSettings
from academy_runtime.storage import ObjectNotFoundError, ObjectStorage

pytestmark = pytest.mark.integration


@pytest.fixture
async def storage(settings: ServiceSettings) -> AsyncIterator[ObjectStorage]:
    storage = ObjectStorage.from_settings(settings)
    await storage.remove_prefix("rt-storage/")
    yield storage
    await storage.remove_prefix("rt-storage/")
    await storage.aclose()


async def test_remove_deletes_the_object_and_a_missing_one_is_no_error(storage):
    await storage.put_bytes("rt-storage/a", b"a")

    await storage.remove("rt-storage/a")
    await storage.remove("rt-storage/a")  # again: already gone

    assert not await storage.exists("rt-storage/a")
    with pytest.raises(ObjectNotFoundError):
        await storage.get_bytes("rt-storage/a")


async def test_remove_prefix_deletes_everything_under_it_and_nothing_else(storage):
    for key in ("rt-storage/42/1/original", "rt-storage/42/1/large.webp", "rt-storage/42/2/small.webp"):
        await storage.put_bytes(key, b"x")
    await storage.put_bytes("rt-storage/421/1/original", b"another learner")

    assert await storage.remove_prefix("rt-storage/42/") == 3
    assert await storage.remove_prefix("rt-storage/42/") == 0

    assert await storage.exists("rt-storage/421/1/original")
    assert not await storage.exists("rt-storage/42/1/original")


async def test_an_empty_prefix_is_refused(storage):
    with pytest.raises(ValueError, match="prefix"):
        await storage.remove_prefix("")
