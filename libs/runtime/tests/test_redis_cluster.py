"""REDIS_CLUSTER=true (issue 11): the runtime's Redis users against a local three-node Redis Cluster.

The cluster is the session's `redis_cluster_url` (academy_runtime.testing): started from the machine's
`redis-server` unless TEST_REDIS_CLUSTER_URL names one.
"""

from __future__ import annotations

import secrets
from collections import defaultdict

import pytest
from academy_runtime.ratelimit import RateLimiter, storage_url
from academy_runtime.resources import Resources
from academy_runtime.settings import ServiceSettings
from academy_runtime.testing import cleanup_redis, on_redis_cluster
from limits.aio.storage import RedisClusterStorage
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.cluster import key_slot

from .test_rate_limits import bearer, limited, redis_only_settings, replicas, service_token


@pytest.fixture
def settings() -> ServiceSettings:
    """As test_rate_limits' (no database, development keys), on the single Redis of the run."""
    return redis_only_settings()


@pytest.fixture
def cluster_settings(settings: ServiceSettings, redis_cluster_url: str) -> ServiceSettings:
    return on_redis_cluster(settings, redis_cluster_url)


async def _keys(redis: RedisCluster, prefix: str) -> list[str]:
    found = [key async for key in redis.scan_iter(match=f"{prefix}*", count=500)]
    return sorted(key.decode() if isinstance(key, bytes) else str(key) for key in found)


def test_the_setting_is_off_by_default_and_refuses_a_database_other_than_zero():
    assert ServiceSettings(_env_file=None).redis_cluster is False
    assert ServiceSettings(_env_file=None, redis_cluster=True, redis_url="redis://node-1:6379").redis_cluster
    assert ServiceSettings(_env_file=None, redis_cluster=True, redis_url="redis://node-1:6379/0").redis_cluster
    with pytest.raises(ValidationError, match="a Redis Cluster has only database 0"):
        ServiceSettings(_env_file=None, redis_cluster=True, redis_url="redis://node-1:6379/2")


def test_the_rate_limiter_storage_url_names_the_cluster_scheme():
    assert storage_url("redis://h:6379/0") == "async+redis://h:6379/0"
    assert storage_url("redis://h:7000/0", cluster=True) == "async+redis+cluster://h:7000"
    assert storage_url("redis://:pw@h:7000", cluster=True) == "async+redis+cluster://:pw@h:7000"


async def test_resources_open_a_cluster_client_when_the_setting_says_so(
    settings: ServiceSettings, cluster_settings: ServiceSettings
):
    single = Resources.open(settings)
    clustered = Resources.open(cluster_settings)
    try:
        assert type(single.redis) is Redis
        assert isinstance(clustered.redis, RedisCluster)
        assert await clustered.redis.ping()
        primaries = clustered.redis.get_primaries()
        assert len(primaries) >= 3  # the local cluster's three nodes
        # Keys spread over the nodes, and SCAN visits every primary (redis-py's cluster scan_iter).
        keys = [clustered.rkey("spread", n) for n in range(30)]
        for key in keys:
            await clustered.redis.set(key, "x", ex=60)
        nodes = {clustered.redis.get_node_from_key(key).name for key in keys}
        assert len(nodes) == len(primaries)
        assert await _keys(clustered.redis, cluster_settings.redis_prefix) == sorted(keys)
        # The run's clean-up works on a cluster (DEL split by slot).
        await cleanup_redis(cluster_settings.redis_url, cluster_settings.redis_prefix, cluster=True)
        assert await _keys(clustered.redis, cluster_settings.redis_prefix) == []
    finally:
        await single.close()
        await clustered.close()


async def test_the_rate_limit_is_shared_through_the_cluster(cluster_settings: ServiceSettings):
    token = service_token("gateway-bot")
    settings = limited(cluster_settings)
    async with replicas(settings, count=2) as (first, second), first() as a, second() as b:
        statuses = [(await c.get("/internal/ping", headers=bearer(token))).status_code for c in (a, b, a, b, a)]
        assert statuses == [200] * 5
        assert (await a.get("/internal/ping", headers=bearer(token))).status_code == 429
        assert (await b.get("/internal/ping", headers=bearer(token))).status_code == 429
    limiter = RateLimiter(settings)
    try:
        assert isinstance(limiter.storage, RedisClusterStorage)
        redis = limiter.storage.bridge.storage
        assert isinstance(redis, RedisCluster)
        keys = await _keys(redis, settings.redis_prefix)
        # Each sliding window's two counters (`{k}`, `{k}/-1`), which one script reads, share a slot.
        assert keys, "the limiter wrote no counters"
        assert all(key.startswith(f"{settings.redis_prefix}ratelimit:{{") for key in keys), keys
        windows: dict[str, set[int]] = defaultdict(set)
        for key in keys:
            current = key.removesuffix("/-1")
            windows[current] |= {key_slot(key.encode()), key_slot(f"{current}/-1".encode())}
        assert all(len(slots) == 1 for slots in windows.values()), windows
    finally:
        await cleanup_redis(settings.redis_url, settings.redis_prefix, cluster=True)
        await limiter.aclose()


async def test_a_transaction_must_keep_to_one_slot(cluster_settings: ServiceSettings):
    """The rule the platform's keys follow: what runs as one MULTI (or one script) names one hash tag."""
    resources = Resources.open(cluster_settings)
    tag = secrets.token_hex(4)
    try:
        redis = resources.redis
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(resources.rkey(f"{{{tag}}}", "a"))
            pipe.incr(resources.rkey(f"{{{tag}}}", "b"))
            assert await pipe.execute() == [1, 1]
        untagged = [resources.rkey(tag, n) for n in range(20)]
        assert len({key_slot(key.encode()) for key in untagged}) > 1
        async with redis.pipeline(transaction=True) as pipe:
            for key in untagged:
                pipe.incr(key)
            with pytest.raises(Exception, match="same slot"):
                await pipe.execute()
    finally:
        await cleanup_redis(cluster_settings.redis_url, cluster_settings.redis_prefix, cluster=True)
        await resources.close()


def test_a_local_cluster_keeps_to_files_of_its_own(tmp_path):
    """`up` into a directory holding other files is refused (`down` once removed the whole directory,
    so `scripts/redis-cluster.sh up .` then `down .` would have deleted the checkout); `down` removes what
    the cluster made and leaves the directory's other files."""
    import shutil

    from academy_runtime.redis_cluster import start_local_cluster

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    crowded = tmp_path / "crowded"
    crowded.mkdir()
    (crowded / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        start_local_cluster(crowded)
    assert (crowded / "keep.txt").read_text() == "mine"

    cluster = start_local_cluster(tmp_path / "fresh")
    (cluster.directory / "notes.txt").write_text("written while it ran")
    cluster.stop()
    assert [p.name for p in cluster.directory.iterdir()] == ["notes.txt"]
    cluster = start_local_cluster(tmp_path / "empty-after")
    cluster.stop()
    assert not cluster.directory.exists()
