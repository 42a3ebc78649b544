from __future__ import annotations

from academy_runtime.errors import ConflictError, DomainError, NotFoundError


class PaymentRequiredError(DomainError):
    """The learner asked for something that has to be bought first (a paid course)."""

    status_code = 402
    code = "payment_required"


class CourseNotFoundError(NotFoundError):
    """No such course, or one this learner may not see: archived or hidden, and not enrolled on it.

    One answer for both, so a withdrawn course looks like no course to anybody who did not take it.
    """

    code = "course_not_found"


class LessonNotFoundError(NotFoundError):
    """No such lesson (the catalog may have removed it), or one of a course this learner may not see."""

    code = "lesson_not_found"


class CourseArchivedError(ConflictError):
    """The catalog archived the course: it takes no new learner (its learners keep it)."""

    code = "course_archived"


class CourseNotOpenError(ConflictError):
    """The catalog hid the course (`is_active` off): it takes no new learner for now (its learners keep it)."""

    code = "course_not_open"
