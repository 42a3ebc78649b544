"""Object storage over the S3 API (MinIO in compose and Kubernetes, any S3 server locally).

One `ObjectStorage` per process, opened by the service's `open_object_storage` start-up hook and kept
in `resources.extras`; it holds a pooled HTTP session that `Resources.close()` releases. Nothing
connects at construction: the bucket is created (if missing) on the first write, so a process whose
S3 server is down still starts and serves everything that does not need it.
"""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

from miniopy_async.api import Minio
from miniopy_async.error import S3Error

from academy_runtime.errors import DependencyUnavailableError
from academy_runtime.resources import Resources
from academy_runtime.settings import ServiceSettings

STORAGE_EXTRA = "storage"
_NO_SUCH_KEY = {"NoSuchKey", "NoSuchObject", "NoSuchBucket"}


class ObjectNotFoundError(LookupError):
    """The object (or its bucket) does not exist."""


class ObjectStorage:
    """A small facade over one bucket: put, get and remove bytes, presigned download links.

    The bucket is private (created without a policy): objects are read through the services' APIs or
    a presigned link, never anonymously."""

    def __init__(self, client: Minio, bucket: str) -> None:
        self.client = client
        self.bucket = bucket
        self._bucket_ready = False
        self._bucket_lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> ObjectStorage:
        client = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
            secure=settings.s3_secure,
            # A known region spares a location request before every presigned URL.
            region=settings.s3_region,
        )
        return cls(client, settings.s3_bucket)

    async def ensure_bucket(self) -> None:
        """Create the bucket unless it exists (once per process)."""
        if self._bucket_ready:
            return
        async with self._bucket_lock:
            if self._bucket_ready:
                return
            if not await self.client.bucket_exists(self.bucket):
                try:
                    await self.client.make_bucket(self.bucket)
                except S3Error as exc:
                    # Another process created it between the two calls.
                    if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                        raise
            self._bucket_ready = True

    async def put_bytes(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> None:
        await self.ensure_bucket()
        await self.client.put_object(self.bucket, key, io.BytesIO(data), len(data), content_type=content_type)

    async def get_bytes(self, key: str) -> bytes:
        try:
            response = await self.client.get_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _NO_SUCH_KEY:
                raise ObjectNotFoundError(key) from exc
            raise
        try:
            body: bytes = await response.read()
        finally:
            response.release()
        return body

    async def exists(self, key: str) -> bool:
        try:
            await self.client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _NO_SUCH_KEY:
                return False
            raise
        return True

    async def remove(self, key: str) -> None:
        """Delete the object `key`; nothing to do when it (or the bucket) does not exist, so a retried
        deletion, or one after a partial upload, succeeds. Raises MinioException / OSError when the S3
        server fails or cannot be reached."""
        try:
            await self.client.remove_object(self.bucket, key)
        except S3Error as exc:
            if exc.code not in _NO_SUCH_KEY:
                raise

    async def remove_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with `prefix` (`avatars/42/`: all of a learner's avatars,
        orphans of failed uploads included); returns how many there were. An empty `prefix` is refused
        (ValueError): it would empty the bucket. Missing objects or bucket are not an error (see `remove`)."""
        if not prefix:
            raise ValueError("remove_prefix needs a prefix; an empty one names the whole bucket")
        try:
            keys = [
                obj.object_name
                async for obj in self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
                if obj.object_name is not None
            ]
        except S3Error as exc:
            if exc.code in _NO_SUCH_KEY:
                return 0
            raise
        for key in keys:
            await self.remove(key)
        return len(keys)

    async def presigned_get_url(self, key: str, *, expires: timedelta = timedelta(minutes=15)) -> str:
        """A URL anyone holding it can GET the object with, until it expires (computed locally)."""
        url: str = await self.client.presigned_get_object(self.bucket, key, expires=expires)
        return url

    async def remove_bucket(self) -> None:
        """Delete every object and then the bucket (test clean-up; never used on a real bucket)."""
        if not await self.client.bucket_exists(self.bucket):
            return
        keys = [obj.object_name async for obj in self.client.list_objects(self.bucket, recursive=True)]
        for key in keys:
            if key is not None:
                await self.client.remove_object(self.bucket, key)
        await self.client.remove_bucket(self.bucket)

    async def aclose(self) -> None:
        await self.client.close_session()  # type: ignore[no-untyped-call]  # unannotated upstream


async def open_object_storage(resources: Resources) -> None:
    """Start-up hook (`ServiceDefinition.on_startup`): an `ObjectStorage` for the settings' bucket."""
    resources.extras[STORAGE_EXTRA] = ObjectStorage.from_settings(resources.settings)


def object_storage(resources: Resources) -> ObjectStorage:
    storage = resources.extras.get(STORAGE_EXTRA)
    if not isinstance(storage, ObjectStorage):
        raise DependencyUnavailableError("object storage is not configured for this service")
    return storage


__all__ = [
    "STORAGE_EXTRA",
    "ObjectNotFoundError",
    "ObjectStorage",
    "object_storage",
    "open_object_storage",
]
