from __future__ import annotations

from typing import Annotated

from academy_runtime.db import SessionDep
from academy_runtime.ids import INT32_MAX, CourseId
from fastapi import APIRouter, Query

from academy_progress.dependencies import InactiveLearnersReader, ReportReader, SegmentReader
from academy_progress.reports import service
from academy_progress.reports.schemas import InactiveLearner, LearnerIdsPage, PopularCourse

router = APIRouter(prefix="/internal", tags=["reports"])


@router.get("/courses/popular", response_model=list[PopularCourse])
async def popular_courses(
    session: SessionDep, _: ReportReader, limit: Annotated[int, Query(ge=1, le=100)] = 5
) -> list[PopularCourse]:
    """The courses with the most students (the seed's "top 5"); courses without students included."""
    return await service.popular_courses(session, limit=limit)


@router.get("/learners/inactive", response_model=list[InactiveLearner])
async def inactive_learners(
    session: SessionDep,
    _: InactiveLearnersReader,
    days: Annotated[int, Query(ge=1, le=365)] = 7,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    after_user_id: Annotated[
        int, Query(ge=0, le=INT32_MAX, description="Keyset pagination: the last user_id seen.")
    ] = 0,
) -> list[InactiveLearner]:
    """Learners with an unfinished course and no lesson completed in the last `days` days, by user id."""
    return await service.inactive_learners(session, days=days, limit=limit, after_user_id=after_user_id)


_MAX_COURSES = 100


_Category = Annotated[
    str,
    Query(
        max_length=100,
        pattern=r"^[a-z0-9][a-z0-9_-]*$",  # the catalog's slugs
        description="A catalog category's slug, as the course projection holds it.",
        examples=["manicure"],
    ),
]
_AfterUserId = Annotated[int, Query(ge=0, le=INT32_MAX, description="Keyset pagination: the last id seen.")]
_Limit = Annotated[int, Query(ge=1, le=5000)]


@router.get("/enrolments/learner-ids", response_model=LearnerIdsPage)
async def enrolled_learner_ids(
    session: SessionDep,
    _: SegmentReader,
    course_id: Annotated[
        list[CourseId],
        Query(min_length=1, max_length=_MAX_COURSES, description="Learners of any of these courses (repeat it)."),
    ],
    after_user_id: _AfterUserId = 0,
    limit: _Limit = 1000,
) -> LearnerIdsPage:
    """Ids of the learners enrolled (completed or not) on any of the courses `course_id`, each once, ascending
    (a broadcast's segment, issue 12): ids only."""
    return await service.enrolled_learner_ids(
        session, course_ids=course_id, category=None, after_user_id=after_user_id, limit=limit
    )


@router.get("/enrolments/category-learner-ids", response_model=LearnerIdsPage)
async def category_learner_ids(
    session: SessionDep,
    _: SegmentReader,
    category: _Category,
    after_user_id: _AfterUserId = 0,
    limit: _Limit = 1000,
) -> LearnerIdsPage:
    """Ids of the learners enrolled (completed or not) on any course of the category (by the course
    projection), each once, ascending (a broadcast's segment, issue 12): ids only."""
    return await service.enrolled_learner_ids(
        session, course_ids=[], category=category, after_user_id=after_user_id, limit=limit
    )
