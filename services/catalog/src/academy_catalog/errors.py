"""Errors of the catalog: input errors found below the request boundary (rendered exactly like FastAPI's
own 422s) and the domain errors whose `code` callers branch on."""

from __future__ import annotations

from academy_runtime.errors import NotFoundError
from fastapi.exceptions import RequestValidationError


class CourseNotFoundError(NotFoundError):
    """No such course, or not one this query shows (a draft; an archived or hidden one outside
    `include_archived`): the same answer, so a learner cannot tell a withdrawn course from none."""

    code = "course_not_found"


class LessonNotFoundError(NotFoundError):
    code = "lesson_not_found"


def invalid_field(field: str, message: str) -> RequestValidationError:
    """A 422 naming `field` ("body.category", "query.category"), in the shape every 422 of the API has.

    Some input is only known to be wrong after a look at the database (an unknown category); clients
    still get one error format whatever found the problem.
    """
    return RequestValidationError([{"type": "value_error", "loc": tuple(field.split(".")), "msg": message}])
