"""A v1 course completion ahead of its v2 twin in one backlog is still named by v2 (QA's finding: inside a batch
the v1 handler waited for its twin's commit holding the batch's learners' locks, so the twin, later in the same
transaction or in another batch, was never recorded first; `course_completed.v1` is now never batched)."""

import pytest
from academy_gamification.activity.consumers import learning_progress

from .test_batches import DAY, POINTS_V2, PROGRESS, _wait, backlog, lesson  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration


async def test_a_v1_completion_before_its_v2_twin_in_one_batch_is_named_by_v2(backlog):  # noqa: F811 - the fixture
    """As `test_both_versions_of_a_completion_award_the_course_once_named_by_v2` (v1 handled first), with
    both versions in one backlog."""
    for user in range(7001, 7008):
        await backlog.publish(lesson(user, 701))
    await backlog.publish(backlog.course_v1(7010, 8, at=DAY))
    await backlog.publish(backlog.course(7010, 8, at=DAY))

    await backlog.start()
    await _wait(lambda: backlog.handled_count(PROGRESS), 9)

    [course] = [
        event["data"]
        for event in await backlog.outbox(POINTS_V2, 7010)
        if event["data"]["reason"] == "course_completed"
    ]
    assert course["awarded_for"]["title"] == "Курс 8"


async def test_the_same_backlog_one_event_per_transaction_is_named_by_v2(backlog, monkeypatch):  # noqa: F811 - the fixture
    """The control: without batches (as before them) the same backlog gives the v2 title."""
    monkeypatch.setattr(learning_progress, "batch_size", 1)
    await test_a_v1_completion_before_its_v2_twin_in_one_batch_is_named_by_v2(backlog)
