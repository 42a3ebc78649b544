"""What an API process does once its resources are open."""

from __future__ import annotations

import gc
import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from academy_runtime.gc_tuning import GEN0_THRESHOLD, release_free_heap
from academy_runtime.http import create_app
from academy_runtime.service import ServiceDefinition
from academy_runtime.settings import ServiceSettings


async def test_start_up_objects_are_left_to_no_garbage_collection(
    migrated: ServiceSettings, service: ServiceDefinition
):
    """A full collection no longer traverses what start-up made (it stalled every request in flight for
    80-120 ms in the catalog), while what is made afterwards is collected as before, every
    GEN0_THRESHOLD allocations instead of 700."""
    gc.unfreeze()
    threshold = gc.get_threshold()
    app = create_app(replace(service, routers=[]), migrated)
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 0
            resources = app.state.resources
            assert all(obj is not resources for obj in gc.get_objects())  # frozen: in no generation
            made_later = [[]]
            assert any(obj is made_later for obj in gc.get_objects())
            assert gc.get_threshold() == (GEN0_THRESHOLD, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


async def test_api_only_warm_ups_run_in_the_api_process_and_not_in_the_worker(
    migrated: ServiceSettings, service: ServiceDefinition
):
    """`on_api_startup` hooks (users' city gazetteer) run when the API starts, after `on_startup`;
    the worker opens its resources without them."""
    calls: list[str] = []

    async def everywhere(_resources) -> None:
        calls.append("on_startup")

    async def api_only(resources) -> None:
        assert calls[-1] == "on_startup", "API warm-ups come after the resources are open"
        calls.append("on_api_startup")

    definition = replace(service, routers=[], on_startup=[everywhere], on_api_startup=[api_only])
    app = create_app(definition, migrated)
    try:
        async with app.router.lifespan_context(app):
            assert calls == ["on_startup", "on_api_startup"]
    finally:
        gc.unfreeze()

    calls.clear()
    resources = await definition.open_resources(migrated)  # what the worker and the commands open
    try:
        assert calls == ["on_startup"]
    finally:
        await resources.close()


def _resident_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim and /proc are Linux's")
def test_the_heap_freed_during_start_up_goes_back_to_the_system() -> None:
    # Freed memory inside the heap: 4 KB blocks (malloc's, not pymalloc's), every 16th kept so glibc cannot
    # give the heap's top back by itself. What start-up's schema building and mapper compiling leave.
    blocks = [bytes(4096) for _ in range(16_000)]
    kept = blocks[::16]
    del blocks
    before = _resident_bytes()

    assert release_free_heap() is True
    assert before - _resident_bytes() > 20 * 2**20  # of ~60 MB freed
    assert len(kept) == 1_000
