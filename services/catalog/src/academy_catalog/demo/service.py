"""Load the demo catalog, again and again: upsert by code, announce only what changed.

A new course is created and published (`course_published`); an existing one is brought back to the
demo content, and a real change is announced (`course_updated`). Lessons are matched by position, so
their ids, and the learners' progress on them, survive a re-run. A course an operator archived stays
archived.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from academy_runtime.db import transaction
from academy_runtime.locks import hold_named_lock
from academy_runtime.resources import Resources
from sqlalchemy.ext.asyncio import AsyncSession

from academy_catalog.cache import CatalogCache
from academy_catalog.communities.repository import CommunityRepository
from academy_catalog.communities.service import check_consistent
from academy_catalog.courses import service as courses
from academy_catalog.courses.repository import CourseRepository
from academy_catalog.demo.data import COMMUNITIES, COURSES, MEDIA, DemoCommunity, DemoCourse
from academy_catalog.models import Community, Course, Lesson


@dataclass
class DemoReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped_archived: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "skipped_archived": self.skipped_archived,
        }


def course_fields(demo: DemoCourse) -> dict[str, object]:
    return {
        "title": demo.title,
        "description": demo.description,
        "full_description": demo.full_description,
        "category": demo.category,
        # No cover: Telegram fetches a cover itself, and the placeholder host has none, so every card
        # would cost a failed sendPhoto before the text card. An operator sets real covers.
        "cover_image_url": None,
        "is_top": demo.is_top,
        "price": demo.price,
        "currency": "RUB",
        "duration_hours": demo.duration_hours,
        "is_active": True,
    }


def lesson_fields(demo: DemoCourse) -> list[dict[str, object]]:
    return [
        {
            "order": position,
            "title": lesson.title,
            "description": lesson.description,
            "video_url": f"{MEDIA}/courses/{demo.code}/lesson-{position:02d}.mp4",
            "video_duration": lesson.minutes * 60,
            "pdf_url": f"{MEDIA}/courses/{demo.code}/checklist-{position:02d}.pdf",
            # The first lesson of every course is the free preview.
            "is_free": position == 1,
        }
        for position, lesson in enumerate(demo.lessons, start=1)
    ]


async def load_demo_catalog(session: AsyncSession) -> DemoReport:
    """Upsert every demo course and community; flushes, the caller commits."""
    # Two loaders at once would both create the missing courses; the second waits for the first.
    await hold_named_lock(session, "catalog:demo")
    report = DemoReport()
    for demo in COURSES:
        await _upsert_course(session, demo, report)
    for community in COMMUNITIES:
        await _upsert_community(session, community, report)
    return report


async def _upsert_course(session: AsyncSession, demo: DemoCourse, report: DemoReport) -> None:
    repository = CourseRepository(session)
    course = await repository.get_by_code(demo.code, for_update=True)
    if course is None:
        course = Course(
            code=demo.code,
            status="draft",
            **course_fields(demo),
            lessons=[Lesson(**values) for values in lesson_fields(demo)],
        )
        await repository.add(course)
        await courses.publish(session, course)
        report.created.append(demo.code)
        return
    if course.status == "archived":
        report.skipped_archived.append(demo.code)
        return
    before = courses.content_of(course)
    for name, value in course_fields(demo).items():
        setattr(course, name, value)
    existing = courses.ordered_lessons(course)
    wanted = lesson_fields(demo)
    # Matched by position: positions 1..min stay where they are, extra ones are added or removed at
    # the end, so no two lessons ever hold the same position.
    for lesson, values in zip(existing, wanted, strict=False):
        for name, value in values.items():
            setattr(lesson, name, value)
    for values in wanted[len(existing) :]:
        course.lessons.append(Lesson(**values))
    for lesson in existing[len(wanted) :]:
        course.lessons.remove(lesson)
    changed = await courses.record_change(session, course, before)
    if course.status == "draft":
        await courses.publish(session, course)
        changed = True
    (report.updated if changed else report.unchanged).append(demo.code)


async def _upsert_community(session: AsyncSession, demo: DemoCommunity, report: DemoReport) -> None:
    repository = CommunityRepository(session)
    values = {
        "title": demo.title,
        "description": demo.description,
        "type": demo.type,
        "city": demo.city,
        "category": demo.category,
        "telegram_link": demo.telegram_link,
    }
    community = await repository.get_by_code(demo.code, for_update=True)
    if community is None:
        community = Community(code=demo.code, **values)
        await check_consistent(session, community)
        await repository.add(community)
        report.created.append(demo.code)
        return
    if all(getattr(community, name) == value for name, value in values.items()):
        report.unchanged.append(demo.code)
        return
    for name, value in values.items():
        setattr(community, name, value)
    await session.flush()
    report.updated.append(demo.code)


async def demo_catalog_command(resources: Resources) -> str:
    """`academy-catalog demo-catalog`: load in one transaction, then forget the cached answers."""
    import json

    async with transaction(resources.sessionmaker) as session:
        report = await load_demo_catalog(session)
    await CatalogCache(resources).invalidate()
    return json.dumps({"demo_catalog": report.summary()}, ensure_ascii=False)
