"""Issue 12: the segments the gateway asks progress for — a course's learners, a category's, the inactive —
resolved into exactly those learners the gateway can reach."""

from __future__ import annotations

import asyncio

import pytest
from academy_runtime.client import ServiceCallError
from academy_runtime.errors import NotFoundError

from .. import learning_support  # noqa: TID252 - tests are no installed package: the shared helpers are the parent's
from .support import create, delivery_for, recipients, start, unique_city

pytestmark = pytest.mark.integration


async def _enrol(runtime, user_id: int, course_id: int, timeout: float = 15.0) -> None:
    """Enrol on a free course once progress knows the learner (from users' registration event)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await runtime.clients.progress.post(
                f"/internal/learners/{user_id}/enrolments",
                json={"course_id": course_id},
                idempotency_key=learning_support.unique("enrol"),
            )
        except (NotFoundError, ServiceCallError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)
        else:
            return


async def test_course_category_and_inactive_segments(broadcaster, make_learner, resources, bot_runtime):
    category = await learning_support.new_category(bot_runtime)
    # Latin titles: the learners enrolled here make these courses the month's most enrolled, the «next step»
    # every course completion suggests; a Cyrillic title there broke test_learning_language's English check.
    first = await learning_support.publish_course(
        bot_runtime, category=category, title=learning_support.unique("Segment course")
    )
    second = await learning_support.publish_course(
        bot_runtime, category=category, title=learning_support.unique("Segment course")
    )
    for course in (first, second):
        await learning_support.wait_until_progress_knows(bot_runtime, course)
    city = unique_city()
    on_first = await make_learner(city)
    on_second = await make_learner(city)
    on_none = await make_learner(city)
    await _enrol(bot_runtime, on_first.user_id, first["id"])
    await _enrol(bot_runtime, on_second.user_id, second["id"])
    delivery = delivery_for(resources, bot_runtime)

    async def listed(segment: dict) -> set[int]:
        created = await create(broadcaster, segment=segment)
        await start(broadcaster, created["id"])
        assert await delivery.resolve(created["id"])
        await broadcaster.post(f"/internal/broadcasts/{created['id']}/cancel")  # listed, not sent
        return set(await recipients(resources, created["id"]))

    assert await listed({"kind": "course", "value": first["id"]}) == {on_first.user_id}
    assert await listed({"kind": "category", "value": category}) == {on_first.user_id, on_second.user_id}
    inactive = await listed({"kind": "inactive", "value": 1})  # enrolled, nothing completed: inactive
    assert {on_first.user_id, on_second.user_id} <= inactive
    assert on_none.user_id not in inactive
