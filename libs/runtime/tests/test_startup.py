"""What an API process does once its resources are open."""

from __future__ import annotations

import gc
from dataclasses import replace

from academy_runtime.gc_tuning import GEN0_THRESHOLD
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
