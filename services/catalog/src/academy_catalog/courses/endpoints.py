"""Courses: learner queries (cached in Redis) and the operator commands (Idempotency-Key aware)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from academy_runtime.auth import Caller
from academy_runtime.db import SessionDep, transaction
from academy_runtime.errors import error_responses
from academy_runtime.ids import CourseId, LessonId
from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from academy_catalog.audit import audited
from academy_catalog.cache import CacheDep, InvalidatesCache, process_cache
from academy_catalog.courses import service
from academy_catalog.courses.schemas import (
    AddLesson,
    CategorySlug,
    CourseDetail,
    CoursePage,
    CreateCourse,
    EditCourse,
    EditLesson,
    ReorderLessons,
)
from academy_catalog.dependencies import CatalogEditor, CatalogReader, IdempotencyKey, SettingsDep
from academy_catalog.models import messaging

router = APIRouter(prefix="/internal/courses", tags=["courses"])

# The examples name the catalog a new deployment's first editor makes: course 1 published with lessons
# 1..3, course 2 a draft with lesson 4, course 3 published (then archived); the API tests seed the same.
PublishedCourseId = Annotated[CourseId, Path(examples=[1])]
DraftCourseId = Annotated[CourseId, Path(examples=[2])]


def _json(model: BaseModel) -> Response:
    return Response(content=model.model_dump_json(), media_type="application/json")


async def _as_json(answer: Awaitable[BaseModel]) -> bytes:
    return (await answer).model_dump_json().encode()


# -- learner queries -----------------------------------------------------------------------------

_NO_PARAMS: tuple[object, ...] = ()


CategoryFilter = Annotated[
    CategorySlug | None, Query(description="Only courses of this category.", examples=["manicure"])
]
PageNumber = Annotated[int, Query(ge=1, le=10_000)]
PageSize = Annotated[int, Query(ge=1, le=100)]
_DEFAULT_PAGE, _DEFAULT_PAGE_SIZE = 1, 20


def _courses_params(category: str | None, page: int, page_size: int) -> tuple[object, ...]:
    """The cache key's params of a course list query (one definition for the endpoint and its fast answer)."""
    return (category or "*", page, page_size)


@router.get("", response_model=CoursePage)
async def list_courses(
    cache: CacheDep,
    _: CatalogReader,
    category: CategoryFilter = None,
    page: PageNumber = _DEFAULT_PAGE,
    page_size: PageSize = _DEFAULT_PAGE_SIZE,
) -> Response:
    """Published, active courses: top courses first, then the most recently published."""
    body = await cache.get_or_load(
        "courses",
        _courses_params(category, page, page_size),
        lambda session: _as_json(service.list_courses(session, category=category, page=page, page_size=page_size)),
    )
    return cache.response(body)


_CATEGORY_FILTER: TypeAdapter[str | None] = TypeAdapter(CategoryFilter)
_PAGE_NUMBER: TypeAdapter[int] = TypeAdapter(PageNumber)
_PAGE_SIZE: TypeAdapter[int] = TypeAdapter(PageSize)


def list_courses_from_memory(request: Request) -> Response | None:
    """`list_courses`' answer when the process holds it in memory, ahead of FastAPI's routing and
    dependencies (`academy_runtime.fast_answers`, which has checked the caller first); None otherwise.

    The query's parameters are validated with the endpoint's own annotated types (so `page=01` is page 1
    here as there); a value they refuse leaves the request to the endpoint, which answers the 422."""
    query = request.query_params
    try:
        category = _CATEGORY_FILTER.validate_python(query.get("category"))
        page = _PAGE_NUMBER.validate_python(query.get("page", _DEFAULT_PAGE))
        page_size = _PAGE_SIZE.validate_python(query.get("page_size", _DEFAULT_PAGE_SIZE))
    except ValidationError:
        return None
    return process_cache(request.app.state.resources).response_from_memory(
        "courses", _courses_params(category, page, page_size)
    )


@router.get("/top", responses=error_responses(404), response_model=CourseDetail)
async def top_course(cache: CacheDep, settings: SettingsDep, _: CatalogReader) -> Response:
    """The course of the month: the operator's `is_top` flag, else the most enrolled this month, else the newest.

    404 when no course is published.
    """
    body = await cache.get_or_load(
        "top",
        _NO_PARAMS,
        lambda session: _as_json(service.top_course(session, timezone=settings.catalog_timezone)),
        ttl_s=settings.top_course_cache_ttl_s,
    )
    return cache.response(body)


def top_course_from_memory(request: Request) -> Response | None:
    """`top_course`'s answer when the process holds it in memory (`academy_runtime.fast_answers`)."""
    return process_cache(request.app.state.resources).response_from_memory("top", _NO_PARAMS)


@router.get("/{course_id}", responses=error_responses(404), response_model=CourseDetail)
async def get_course(
    course_id: PublishedCourseId,
    cache: CacheDep,
    _: CatalogReader,
    include_drafts: Annotated[
        bool, Query(description="Operators: also find drafts, archived and inactive courses.")
    ] = False,
    include_archived: Annotated[
        bool,
        Query(
            description=(
                "Also find a course withdrawn after publication (archived, or hidden with `is_active` off), "
                "for a learner progress says is enrolled on it: learners keep what they enrolled in. "
                "Drafts stay 404."
            )
        ),
    ] = False,
) -> Response:
    """A course with its lessons in order.

    404 `course_not_found` unless published and active, or, with `include_archived`, published once
    (then archived or hidden); `include_drafts` (operators) finds any course, uncached.
    """
    if include_drafts:
        async with transaction(cache.resources.sessionmaker) as session:
            return _json(await service.get_course(session, course_id, include_drafts=True))
    if include_archived:
        body = await cache.get_or_load(
            "course",
            (course_id, "include_archived"),
            lambda session: _as_json(service.get_course(session, course_id, include_archived=True)),
        )
    else:
        body = await cache.get_or_load(
            "course", (course_id,), lambda session: _as_json(service.get_course(session, course_id))
        )
    return cache.response(body)


# -- operator commands ---------------------------------------------------------------------------


async def _idempotent(
    session: AsyncSession,
    request: Request,
    key: str | None,
    payload: dict[str, Any],
    action: Callable[[], Awaitable[CourseDetail]],
    *,
    editor: Caller,
    change: str,
) -> CourseDetail:
    """Run an operator command once per Idempotency-Key, recording it in the audit log as `change`."""
    return await messaging.idempotency.run(
        session,
        request,
        key=key,
        payload=payload,
        response_model=CourseDetail,
        action=lambda: audited(session, editor, change, payload, action()),
    )


@router.post("", response_model=CourseDetail, status_code=status.HTTP_201_CREATED)
async def create_course(
    command: CreateCourse,
    session: SessionDep,
    editor: CatalogEditor,
    __: InvalidatesCache,
    request: Request,
    idempotency_key: IdempotencyKey,
) -> CourseDetail:
    """Operators: create a draft course with its lessons (numbered 1..n)."""
    return await _idempotent(
        session,
        request,
        idempotency_key,
        command.model_dump(mode="json"),
        lambda: service.create_course(session, command),
        editor=editor,
        change="course_created",
    )


@router.patch("/{course_id}", responses=error_responses(404), response_model=CourseDetail)
async def edit_course(  # noqa: PLR0917 - FastAPI dependencies
    course_id: PublishedCourseId,
    command: EditCourse,
    session: SessionDep,
    editor: CatalogEditor,
    __: InvalidatesCache,
    request: Request,
    idempotency_key: IdempotencyKey,
) -> CourseDetail:
    """Operators: change fields (title, price, `is_active`, `is_top`...); published courses announce it.

    Absent fields stay as they are; `null` clears an optional field. An archived course is 409.
    """
    return await _idempotent(
        session,
        request,
        idempotency_key,
        {"course_id": course_id, **command.model_dump(mode="json", exclude_unset=True)},
        lambda: service.edit_course(session, course_id, command),
        editor=editor,
        change="course_edited",
    )


@router.post("/{course_id}/publish", responses=error_responses(404), response_model=CourseDetail)
async def publish_course(
    course_id: DraftCourseId,
    session: SessionDep,
    editor: CatalogEditor,
    __: InvalidatesCache,
    request: Request,
    idempotency_key: IdempotencyKey,
) -> CourseDetail:
    """Operators: publish a draft (`catalog.course_published.v1`); 409 for an archived course."""
    return await _idempotent(
        session,
        request,
        idempotency_key,
        {"course_id": course_id},
        lambda: service.publish_course(session, course_id),
        editor=editor,
        change="course_published",
    )


@router.post("/{course_id}/archive", responses=error_responses(404), response_model=CourseDetail)
async def archive_course(
    course_id: Annotated[CourseId, Path(examples=[3])],
    session: SessionDep,
    editor: CatalogEditor,
    __: InvalidatesCache,
    request: Request,
    idempotency_key: IdempotencyKey,
) -> CourseDetail:
    """Operators: withdraw a course for good (`catalog.course_archived.v1`)."""
    return await _idempotent(
        session,
        request,
        idempotency_key,
        {"course_id": course_id},
        lambda: service.archive_course(session, course_id),
        editor=editor,
        change="course_archived",
    )


@router.post(
    "/{course_id}/lessons",
    responses=error_responses(404, 409),
    response_model=CourseDetail,
    status_code=status.HTTP_201_CREATED,
)
async def add_lesson(  # noqa: PLR0917 - FastAPI dependencies
    course_id: DraftCourseId,
    command: AddLesson,
    session: SessionDep,
    editor: CatalogEditor,
    __: InvalidatesCache,
    request: Request,
    idempotency_key: IdempotencyKey,
) -> CourseDetail:
    """Operators: add a lesson, last or at `order` (the lessons from there move down). Returns the course."""
    return await _idempotent(
        session,
        request,
        idempotency_key,
        {"course_id": course_id, **command.model_dump(mode="json")},
        lambda: service.add_lesson(session, course_id, command),
        editor=editor,
        change="lesson_added",
    )


@router.put("/{course_id}/lessons/order", responses=error_responses(404, 409), response_model=CourseDetail)
async def reorder_lessons(  # noqa: PLR0917 - FastAPI dependencies
    course_id: PublishedCourseId,
    command: ReorderLessons,
    session: SessionDep,
    editor: CatalogEditor,
    __: InvalidatesCache,
    request: Request,
    idempotency_key: IdempotencyKey,
) -> CourseDetail:
    """Operators: the course's lesson ids in their new order, each exactly once."""
    return await _idempotent(
        session,
        request,
        idempotency_key,
        {"course_id": course_id, **command.model_dump(mode="json")},
        lambda: service.reorder_lessons(session, course_id, command),
        editor=editor,
        change="lessons_reordered",
    )


@router.patch("/{course_id}/lessons/{lesson_id}", responses=error_responses(404, 409), response_model=CourseDetail)
async def edit_lesson(
    *,
    course_id: PublishedCourseId,
    lesson_id: Annotated[LessonId, Path(examples=[1])],
    command: EditLesson,
    session: SessionDep,
    editor: CatalogEditor,
    __: InvalidatesCache,
    request: Request,
    idempotency_key: IdempotencyKey,
) -> CourseDetail:
    """Operators: change fields of a lesson (its position changes through the order endpoint)."""
    return await _idempotent(
        session,
        request,
        idempotency_key,
        {"course_id": course_id, "lesson_id": lesson_id, **command.model_dump(mode="json", exclude_unset=True)},
        lambda: service.edit_lesson(session, course_id, lesson_id, command),
        editor=editor,
        change="lesson_edited",
    )


@router.delete("/{course_id}/lessons/{lesson_id}", responses=error_responses(404, 409), response_model=CourseDetail)
async def delete_lesson(  # noqa: PLR0917 - FastAPI dependencies
    course_id: PublishedCourseId,
    lesson_id: Annotated[LessonId, Path(examples=[3])],
    session: SessionDep,
    editor: CatalogEditor,
    __: InvalidatesCache,
    request: Request,
    idempotency_key: IdempotencyKey,
) -> CourseDetail:
    """Operators: remove a lesson; the later ones move up. The only lesson of a published course is 409."""
    return await _idempotent(
        session,
        request,
        idempotency_key,
        {"course_id": course_id, "lesson_id": lesson_id},
        lambda: service.delete_lesson(session, course_id, lesson_id),
        editor=editor,
        change="lesson_deleted",
    )
