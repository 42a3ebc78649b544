"""Learners keep what they enrolled in: no change the catalog makes to a course (archive, hide, remove,
rename or move lessons, another category) leaves an enrolled learner at a dead end, and a learner who
is not enrolled cannot see or enrol in a withdrawn course.

The catalog's events go through RabbitMQ and the real consumer runtime (the projection consumer), as
in production; the learner's commands through the HTTP API.
"""

import asyncio
from datetime import datetime
from decimal import Decimal

import pytest
from academy_contracts import CourseArchivedV1, CourseLesson, CoursePublishedV1, CourseUpdatedV1, EventData, Money
from academy_progress.models import UserCourse
from sqlalchemy import select

pytestmark = pytest.mark.integration

ANNA, BORIS, STRANGER = 42, 43, 44


@pytest.fixture(autouse=True)
async def _registered_learners(register_learners):
    """The learners these tests write for, registered (an unknown one gets 404 `learner_not_found`)."""
    await register_learners(ANNA, BORIS, STRANGER)


CONSUMER = "catalog-projection"
COURSE_DONE = "progress.course_completed.v1"
LESSON_DONE = "progress.lesson_completed.v1"
COURSE = 5
FIRST, SECOND, THIRD = 51, 52, 53
TITLES = {FIRST: "Подготовка рабочего места", SECOND: "Снятие покрытия", THIRD: "Покрытие гель-лаком"}


def snapshot(
    lesson_ids: tuple[int, ...],
    *,
    at: datetime,
    model: type[EventData] = CourseUpdatedV1,
    titles: dict[int, str] | None = None,
    category: str = "manicure",
    is_active: bool = True,
    price: str = "0.00",
) -> EventData:
    """Course 5 as the catalog announces it: these lessons, numbered 1..n in this order."""
    titles = {**TITLES, **(titles or {})}
    return model.model_validate(
        {
            "course_id": COURSE,
            "title": "Маникюр: основы",
            "category": category,
            "price": Money(amount=Decimal(price), currency="RUB"),
            "is_top": False,
            "duration_hours": 6,
            "is_active": is_active,
            "lessons": tuple(
                CourseLesson(lesson_id=lesson_id, order=n, title=titles[lesson_id], is_free=n == 1, video_duration=600)
                for n, lesson_id in enumerate(lesson_ids, start=1)
            ),
            ("published_at" if model is CoursePublishedV1 else "updated_at"): at,
        }
    )


@pytest.fixture
def catalog(bus, wait_for):
    """Announce a catalog event and wait until the projection consumer has committed it."""

    async def announce(data: EventData) -> None:
        event = await bus.publish(data)
        await wait_for(lambda: bus.handled(event, CONSUMER))

    return announce


@pytest.fixture
async def course(catalog, api, later):
    """Free course 5 with three lessons, Anna and Boris enrolled on it through the API."""
    await catalog(snapshot((FIRST, SECOND, THIRD), model=CoursePublishedV1, at=later(0)))
    for user_id in (ANNA, BORIS):
        response = await api.post(f"/internal/learners/{user_id}/enrolments", json={"course_id": COURSE})
        assert response.status_code == 200, response.text


async def _complete(api, lesson_id: int, user_id: int = ANNA):
    return await api.post(f"/internal/learners/{user_id}/lessons/{lesson_id}/complete")


async def _view(api, user_id: int = ANNA):
    return await api.get(f"/internal/learners/{user_id}/courses/{COURSE}")


async def _enrolment(resources, user_id: int) -> UserCourse:
    async with resources.sessionmaker() as session:
        return (
            await session.execute(
                select(UserCourse).where(UserCourse.user_id == user_id, UserCourse.course_id == COURSE)
            )
        ).scalar_one()


async def test_archived_after_two_of_three_lessons_the_learner_opens_and_completes_the_third(
    api, resources, course, catalog, later, outbox
):
    for lesson_id in (FIRST, SECOND):
        assert (await _complete(api, lesson_id)).status_code == 200

    await catalog(CourseArchivedV1(course_id=COURSE, archived_at=later(30)))
    view = (await _view(api)).json()
    answer = await _complete(api, THIRD)

    assert (view["enrolled"], view["archived"], view["in_catalog"]) == (True, True, False)
    assert (view["progress_percent"], view["next_lesson_id"]) == (67, THIRD)
    assert [lesson["accessible"] for lesson in view["lessons"]] == [True, True, True]
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["lesson_title"], body["lesson_order"], body["course_title"]) == (
        "Покрытие гель-лаком",
        3,
        "Маникюр: основы",
    )
    assert (body["completed_lessons"], body["total_lessons"], body["progress_percent"]) == (3, 3, 100)
    assert (body["course_completed"], body["course_newly_completed"]) == (True, True)
    assert (body["next_lesson_id"], body["next_lesson"]) == (None, None)
    [event] = await outbox(resources, COURSE_DONE)
    assert (event["data"]["user_id"], event["data"]["course_id"]) == (ANNA, COURSE)
    [mine] = (await api.get(f"/internal/learners/{ANNA}/courses")).json()
    assert (mine["title"], mine["is_completed"], mine["progress_percent"]) == ("Маникюр: основы", True, 100)


async def test_the_completion_answer_names_the_lesson_and_the_next_one_of_an_archived_course(
    api, course, catalog, later
):
    await _complete(api, FIRST)
    await catalog(CourseArchivedV1(course_id=COURSE, archived_at=later(30)))

    body = (await _complete(api, SECOND)).json()

    assert (body["lesson_title"], body["course_title"]) == ("Снятие покрытия", "Маникюр: основы")
    assert (body["progress_percent"], body["course_completed"]) == (67, False)
    assert body["next_lesson"] == {"lesson_id": THIRD, "order": 3, "title": "Покрытие гель-лаком"}


async def test_a_learner_not_enrolled_can_neither_see_nor_enrol_in_a_withdrawn_course(
    api, resources, course, catalog, later, outbox
):
    await catalog(CourseArchivedV1(course_id=COURSE, archived_at=later(30)))
    before = len(await outbox(resources))

    view = await _view(api, STRANGER)
    enrol = await api.post(f"/internal/learners/{STRANGER}/enrolments", json={"course_id": COURSE})
    preview = await _complete(api, FIRST, user_id=STRANGER)
    watching = await api.post(f"/internal/learners/{STRANGER}/lessons/{FIRST}/watch-time", json={"seconds": 30})

    assert (view.status_code, view.json()["error"]["code"]) == (404, "course_not_found")
    assert (enrol.status_code, enrol.json()["error"]["code"]) == (409, "course_archived")
    assert (preview.status_code, preview.json()["error"]["code"]) == (404, "lesson_not_found")
    assert watching.status_code == 404
    assert len(await outbox(resources)) == before
    assert (await _view(api, ANNA)).status_code == 200


async def test_a_hidden_course_takes_no_new_learner_but_keeps_its_own(api, course, catalog, later):
    await _complete(api, FIRST)
    await catalog(snapshot((FIRST, SECOND, THIRD), at=later(10), is_active=False))

    enrol = await api.post(f"/internal/learners/{STRANGER}/enrolments", json={"course_id": COURSE})
    stranger = await _view(api, STRANGER)
    mine = (await _view(api)).json()
    answer = (await _complete(api, SECOND)).json()

    assert (enrol.status_code, enrol.json()["error"]["code"]) == (409, "course_not_open")
    assert stranger.status_code == 404
    assert (mine["in_catalog"], mine["archived"], mine["next_lesson_id"]) == (False, False, SECOND)
    assert answer["next_lesson"] == {"lesson_id": THIRD, "order": 3, "title": "Покрытие гель-лаком"}


async def test_a_lesson_removed_mid_course_is_skipped_and_the_course_still_completes(
    api, resources, course, catalog, later, outbox
):
    await _complete(api, FIRST)

    await catalog(snapshot((FIRST, THIRD), at=later(10)))  # the catalog removed the second lesson
    view = (await _view(api)).json()
    stale_button = await _complete(api, SECOND)
    last = (await _complete(api, THIRD)).json()

    assert [(lesson["lesson_id"], lesson["order"]) for lesson in view["lessons"]] == [(FIRST, 1), (THIRD, 2)]
    assert (view["next_lesson_id"], view["progress_percent"]) == (THIRD, 50)
    assert (stale_button.status_code, stale_button.json()["error"]["code"]) == (404, "lesson_not_found")
    assert (last["lesson_order"], last["completed_lessons"], last["total_lessons"]) == (2, 2, 2)
    assert (last["course_newly_completed"], last["next_lesson"]) == (True, None)
    assert len(await outbox(resources, COURSE_DONE)) == 1


async def test_removing_the_only_lessons_a_learner_had_left_completes_their_course(
    api, resources, course, catalog, later, outbox
):
    for lesson_id in (FIRST, SECOND):
        await _complete(api, lesson_id)
    await _complete(api, FIRST, user_id=BORIS)

    await catalog(snapshot((FIRST, SECOND), at=later(10)))  # the third lesson removed
    await catalog(snapshot((FIRST, SECOND), at=later(20), titles={FIRST: "Рабочее место"}))  # a later edit
    anna, boris = (await _view(api)).json(), (await _view(api, BORIS)).json()

    assert (anna["is_completed"], anna["progress_percent"], anna["next_lesson_id"]) == (True, 100, None)
    assert (await _enrolment(resources, ANNA)).completed_at is not None
    assert (boris["is_completed"], boris["progress_percent"], boris["next_lesson_id"]) == (False, 50, SECOND)
    [event] = await outbox(resources, COURSE_DONE)  # once, though two snapshots found Anna done
    assert (event["data"]["user_id"], event["data"]["course_id"], event["data"]["category"]) == (
        ANNA,
        COURSE,
        "manicure",
    )
    # Boris finishes the shorter course the ordinary way.
    assert (await _complete(api, SECOND, user_id=BORIS)).json()["course_newly_completed"] is True
    assert sorted(e["data"]["user_id"] for e in await outbox(resources, COURSE_DONE)) == [ANNA, BORIS]


async def test_a_completion_racing_the_removal_of_the_last_lesson_completes_the_course_once(
    api, resources, project_course, enrol, later, outbox, register_learners
):
    """Each learner completes lesson 2 while the catalog's removal of lesson 3 is being applied: whichever
    commits first, the other sees it, and exactly one of them completes the course."""
    learners = range(100, 110)
    await register_learners(*learners)
    await project_course(snapshot((FIRST, SECOND, THIRD), model=CoursePublishedV1, at=later(0)))
    for user_id in learners:
        await enrol(user_id, COURSE)
        await _complete(api, FIRST, user_id=user_id)

    answers = await asyncio.gather(
        *(_complete(api, SECOND, user_id=user_id) for user_id in learners),
        project_course(snapshot((FIRST, SECOND), at=later(10))),
    )

    assert {answer.status_code for answer in answers[:-1]} == {200}
    assert sorted(e["data"]["user_id"] for e in await outbox(resources, COURSE_DONE)) == list(learners)
    for user_id in learners:
        assert (await _enrolment(resources, user_id)).is_completed is True


async def test_a_lesson_renamed_mid_course_shows_its_new_title(api, resources, course, catalog, later, outbox):
    await _complete(api, FIRST)

    await catalog(snapshot((FIRST, SECOND, THIRD), at=later(10), titles={SECOND: "Снятие гель-лака"}))
    view = (await _view(api)).json()
    before_it = (await _complete(api, FIRST)).json()  # pressed again: still points at the renamed lesson
    renamed = (await _complete(api, SECOND)).json()

    assert view["lessons"][1]["title"] == "Снятие гель-лака"
    assert before_it["next_lesson"] == {"lesson_id": SECOND, "order": 2, "title": "Снятие гель-лака"}
    assert renamed["lesson_title"] == "Снятие гель-лака"
    assert renamed["next_lesson"]["title"] == "Покрытие гель-лаком"


async def test_a_course_moved_to_another_category_still_works_and_says_so(
    api, resources, course, catalog, later, outbox
):
    await _complete(api, FIRST)

    await catalog(snapshot((FIRST, SECOND, THIRD), at=later(10), category="pedicure"))
    view = (await _view(api)).json()
    answers = [(await _complete(api, lesson_id)).json() for lesson_id in (SECOND, THIRD)]

    assert view["category"] == "pedicure"
    assert answers[-1]["course_newly_completed"] is True
    assert [e["data"]["category"] for e in await outbox(resources, LESSON_DONE)] == ["manicure", "pedicure", "pedicure"]
    [completed] = await outbox(resources, COURSE_DONE)
    assert completed["data"]["category"] == "pedicure"
