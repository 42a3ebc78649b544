from __future__ import annotations

from typing import Annotated

from academy_runtime.db import SessionDep
from academy_runtime.ids import INT32_MAX
from fastapi import APIRouter, Query

from academy_progress.dependencies import ReportReader
from academy_progress.reports import service
from academy_progress.reports.schemas import InactiveLearner, PopularCourse

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
    _: ReportReader,
    days: Annotated[int, Query(ge=1, le=365)] = 7,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    after_user_id: Annotated[
        int, Query(ge=0, le=INT32_MAX, description="Keyset pagination: the last user_id seen.")
    ] = 0,
) -> list[InactiveLearner]:
    """Learners with an unfinished course and no lesson completed in the last `days` days, by user id."""
    return await service.inactive_learners(session, days=days, limit=limit, after_user_id=after_user_id)
