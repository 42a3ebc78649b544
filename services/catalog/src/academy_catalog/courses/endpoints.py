from __future__ import annotations

from typing import Annotated

from academy_runtime.auth import ServiceCaller
from academy_runtime.db import SessionDep
from fastapi import APIRouter, Path, Query, Request, status

from academy_catalog.courses import service
from academy_catalog.courses.schemas import CategorySlug, CourseDetail, CoursePage, CreateCourse
from academy_catalog.dependencies import IdempotencyKey, OperatorCaller
from academy_catalog.models import messaging

router = APIRouter(prefix="/internal/courses", tags=["courses"])

CourseId = Annotated[int, Path(gt=0, le=2_147_483_647)]


@router.get("", response_model=CoursePage)
async def list_courses(
    session: SessionDep,
    _: ServiceCaller,
    category: Annotated[CategorySlug | None, Query(description="Only courses of this category.")] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> CoursePage:
    """Published, active courses: top courses first, then the most recently published."""
    return await service.list_courses(session, category=category, page=page, page_size=page_size)


@router.get("/{course_id}", response_model=CourseDetail)
async def get_course(
    course_id: CourseId,
    session: SessionDep,
    _: ServiceCaller,
    include_drafts: Annotated[bool, Query(description="Operators: also find unpublished drafts.")] = False,
) -> CourseDetail:
    """A course with its lessons in order. Drafts are 404 unless `include_drafts` is set."""
    return await service.get_course(session, course_id, include_drafts=include_drafts)


@router.post("", response_model=CourseDetail, status_code=status.HTTP_201_CREATED)
async def create_course(
    command: CreateCourse,
    session: SessionDep,
    _: OperatorCaller,
    request: Request,
    idempotency_key: IdempotencyKey,
) -> CourseDetail:
    """Operators: create a draft course with its lessons."""
    return await messaging.idempotency.run(
        session,
        request,
        key=idempotency_key,
        payload=command.model_dump(mode="json"),
        response_model=CourseDetail,
        action=lambda: service.create_course(session, command),
    )


@router.post("/{course_id}/publish", response_model=CourseDetail)
async def publish_course(
    course_id: CourseId,
    session: SessionDep,
    _: OperatorCaller,
    request: Request,
    idempotency_key: IdempotencyKey,
) -> CourseDetail:
    """Operators: publish a draft (`catalog.course_published.v1`); 409 for an archived course."""
    return await messaging.idempotency.run(
        session,
        request,
        key=idempotency_key,
        payload={"course_id": course_id},
        response_model=CourseDetail,
        action=lambda: service.publish_course(session, course_id),
    )


@router.post("/{course_id}/archive", response_model=CourseDetail)
async def archive_course(
    course_id: CourseId,
    session: SessionDep,
    _: OperatorCaller,
    request: Request,
    idempotency_key: IdempotencyKey,
) -> CourseDetail:
    """Operators: withdraw a course for good (`catalog.course_archived.v1`)."""
    return await messaging.idempotency.run(
        session,
        request,
        key=idempotency_key,
        payload={"course_id": course_id},
        response_model=CourseDetail,
        action=lambda: service.archive_course(session, course_id),
    )
