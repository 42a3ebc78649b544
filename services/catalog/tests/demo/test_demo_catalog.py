"""The demo catalog: every category filled, loadable again and again without duplicates or extra events."""

import asyncio
import json
from collections import Counter

import pytest
from academy_catalog.app import main
from academy_catalog.demo.data import COMMUNITIES, COURSES, FREE_MANICURE_COURSE
from academy_catalog.demo.service import load_demo_catalog
from academy_catalog.models import Community, Course, Lesson
from academy_runtime.db import transaction
from academy_runtime.testing import TestPlatform, _patched_environ
from sqlalchemy import func, select, update

pytestmark = pytest.mark.integration

CATEGORIES = {"manicure", "pedicure", "eyelashes", "podology", "eyebrows", "marketing", "business"}
CITIES = {"Москва", "Санкт-Петербург", "Казань", "Новосибирск", "Екатеринбург"}


async def _load(resources):
    async with transaction(resources.sessionmaker) as session:
        return await load_demo_catalog(session)


async def _rows(resources) -> dict[str, list]:
    async with resources.sessionmaker() as session:
        return {
            "courses": [
                tuple(r)
                for r in await session.execute(
                    select(
                        Course.id, Course.code, Course.title, Course.price, Course.status, Course.updated_at
                    ).order_by(Course.id)
                )
            ],
            "lessons": [
                tuple(r)
                for r in await session.execute(select(Lesson.id, Lesson.course_id, Lesson.order).order_by(Lesson.id))
            ],
            "communities": [
                tuple(r) for r in await session.execute(select(Community.id, Community.code).order_by(Community.id))
            ],
        }


def test_the_demo_data_covers_every_category_as_promised():
    per_category = Counter(course.category for course in COURSES)
    assert set(per_category) == CATEGORIES
    assert all(2 <= count <= 3 for count in per_category.values())
    assert all(3 <= len(course.lessons) <= 6 for course in COURSES)
    assert any(course.price == 0 for course in COURSES)
    assert any(course.price > 0 for course in COURSES)
    assert sum(course.is_top for course in COURSES) == 1
    free_manicure = next(course for course in COURSES if course.code == FREE_MANICURE_COURSE)
    assert (free_manicure.category, free_manicure.price, len(free_manicure.lessons)) == ("manicure", 0, 3)
    assert {c.city for c in COMMUNITIES if c.type == "city"} == CITIES
    assert {c.category for c in COMMUNITIES if c.type == "profession"} == CATEGORIES
    assert all(c.telegram_link.startswith("https://t.me/") for c in COMMUNITIES)
    assert len({c.code for c in COURSES}) == len(COURSES)


async def test_the_demo_catalog_is_published_through_the_outbox(api, resources, outbox):
    report = await _load(resources)

    assert len(report.created) == len(COURSES) + len(COMMUNITIES)
    rows = await outbox()
    assert [r.event_type for r in rows] == ["catalog.course_published.v1"] * len(COURSES)
    listing = (await api.get("/internal/courses", params={"category": "manicure", "page_size": 100})).json()
    basics = next(c for c in listing["items"] if c["code"] == FREE_MANICURE_COURSE)
    assert (basics["price"], basics["lessons_count"], basics["free_lessons_count"]) == ("0.00", 3, 1)
    detail = (await api.get(f"/internal/courses/{basics['id']}")).json()
    first = detail["lessons"][0]
    assert first["is_free"] is True
    assert first["video_url"].startswith("https://media.beauty-academy.example/")
    assert first["pdf_url"].endswith(".pdf")
    assert first["video_duration"] > 0
    assert (await api.get("/internal/courses/top")).json()["code"] == "demo-manicure-hardware"
    chats = (await api.get("/internal/communities", params=[("city", "москва"), ("category", "manicure")])).json()
    assert [(c["type"], c["city"] or c["category"]) for c in chats] == [("city", "Москва"), ("profession", "manicure")]


async def test_loading_twice_changes_nothing_and_announces_nothing(resources, outbox):
    await _load(resources)
    before, events = await _rows(resources), len(await outbox())

    report = await _load(resources)

    assert report.created == report.updated == []
    assert len(report.unchanged) == len(COURSES) + len(COMMUNITIES)
    assert await _rows(resources) == before
    assert len(await outbox()) == events


async def test_a_rerun_restores_changed_content_and_announces_only_that_course(resources, outbox):
    await _load(resources)
    async with transaction(resources.sessionmaker) as session:
        await session.execute(update(Course).where(Course.code == FREE_MANICURE_COURSE).values(title="Испорчено"))
        course_id = await session.scalar(select(Course.id).where(Course.code == FREE_MANICURE_COURSE))
        lesson_ids = list(await session.scalars(select(Lesson.id).where(Lesson.course_id == course_id)))
        await session.execute(
            update(Lesson).where(Lesson.course_id == course_id, Lesson.order == 2).values(is_free=True)
        )
    events = len(await outbox())

    report = await _load(resources)

    assert report.updated == [FREE_MANICURE_COURSE]
    rows = (await outbox())[events:]
    assert [r.event_type for r in rows] == ["catalog.course_updated.v1"]
    data = rows[0].payload["data"]
    assert data["course_id"] == course_id
    assert data["title"] == "Основы маникюра: первые шаги"
    assert [lesson["is_free"] for lesson in data["lessons"]] == [True, False, False]
    # Lessons keep their ids (and the learners' progress on them).
    assert sorted(lesson["lesson_id"] for lesson in data["lessons"]) == sorted(lesson_ids)


async def test_an_archived_demo_course_stays_archived(api, resources, outbox):
    await _load(resources)
    async with resources.sessionmaker() as session:
        course_id = await session.scalar(select(Course.id).where(Course.code == "demo-business-pricing"))
    await api.post(f"/internal/courses/{course_id}/archive")
    events = len(await outbox())

    report = await _load(resources)

    assert report.skipped_archived == ["demo-business-pricing"]
    assert len(await outbox()) == events


async def test_the_command_loads_the_catalog_and_can_run_again(resources, platform: TestPlatform, outbox, capsys):
    def run() -> None:
        with _patched_environ(platform.settings_env("catalog")):
            main(["demo-catalog"])

    await asyncio.to_thread(run)
    await asyncio.to_thread(run)

    out = capsys.readouterr().out.splitlines()
    lines = [json.loads(line) for line in out if line.startswith('{"demo_catalog"')]
    assert lines[0]["demo_catalog"]["created"] == len(COURSES) + len(COMMUNITIES)
    assert lines[1]["demo_catalog"] == {
        "created": 0,
        "updated": 0,
        "unchanged": len(COURSES) + len(COMMUNITIES),
        "skipped_archived": [],
    }
    async with resources.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Course)) == len(COURSES)
    assert len(await outbox()) == len(COURSES)
