from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from academy_runtime.repository import Repository
from sqlalchemy import Integer, RowMapping, and_, case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from academy_progress.learners.service import hold_learner
from academy_progress.models import CourseProjection, CoursePurchase, LessonProjection, UserCourse, UserProgress


class EnrolmentRepository(Repository):
    async def insert_if_absent(
        self,
        *,
        user_id: int,
        course_id: int,
        source: str,
        purchase_id: int | None = None,
        enrolled_at: datetime | None = None,
    ) -> UserCourse | None:
        """Enrol the learner; None when they already are (concurrent enrolments included)."""
        values: dict[str, Any] = {"user_id": user_id, "course_id": course_id, "source": source}
        if purchase_id is not None:
            values["purchase_id"] = purchase_id
        if enrolled_at is not None:
            values["purchased_at"] = enrolled_at
        result = await self.session.execute(
            insert(UserCourse)
            .values(values)
            .on_conflict_do_nothing(index_elements=[UserCourse.user_id, UserCourse.course_id])
            .returning(UserCourse)
        )
        return result.scalar_one_or_none()

    async def lock_learner_purchases(self, user_id: int) -> None:
        """Wait for, then hold until the transaction ends, the learner's purchase enrolments.

        A purchase and a refund (of the same or of another purchase of the course) handled side by
        side would each miss the other's uncommitted rows: the refund would find no enrolment to
        remove yet, the purchase no refund yet. Taking turns, each one's statements see what the
        other committed (READ COMMITTED takes a snapshot per statement). It is the learner's events lock
        (`learners.service.hold_learner`): an erasure of the learner waits for it too.
        """
        await hold_learner(self.session, user_id)

    async def record_purchase(
        self, *, purchase_id: int, user_id: int, course_id: int, purchased_at: datetime
    ) -> CoursePurchase:
        """Remember the purchase (kept as first told); the row says whether it was refunded already."""
        new = insert(CoursePurchase).values(
            purchase_id=purchase_id, user_id=user_id, course_id=course_id, purchased_at=purchased_at
        )
        stmt = new.on_conflict_do_update(
            index_elements=[CoursePurchase.purchase_id],
            set_={"purchased_at": func.coalesce(CoursePurchase.purchased_at, new.excluded.purchased_at)},
        ).returning(CoursePurchase)
        return (await self.session.execute(stmt)).scalar_one()

    async def record_revocation(self, *, purchase_id: int, user_id: int, course_id: int, revoked_at: datetime) -> None:
        """Remember that the purchase was refunded (the first refund's time is kept)."""
        new = insert(CoursePurchase).values(
            purchase_id=purchase_id, user_id=user_id, course_id=course_id, revoked_at=revoked_at
        )
        await self.session.execute(
            new.on_conflict_do_update(
                index_elements=[CoursePurchase.purchase_id],
                set_={"revoked_at": func.coalesce(CoursePurchase.revoked_at, new.excluded.revoked_at)},
            )
        )

    async def standing_purchase(self, *, user_id: int, course_id: int) -> CoursePurchase | None:
        """A purchase of the course by the learner that arrived and was not refunded (the earliest)."""
        result = await self.session.execute(
            select(CoursePurchase)
            .where(
                CoursePurchase.user_id == user_id,
                CoursePurchase.course_id == course_id,
                CoursePurchase.purchased_at.is_not(None),
                CoursePurchase.revoked_at.is_(None),
            )
            .order_by(CoursePurchase.purchased_at, CoursePurchase.purchase_id)
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def delete_purchase_enrolment(self, *, user_id: int, course_id: int, purchase_id: int) -> int | None:
        """Remove the enrolment this purchase opened; the id removed, None when it opened none (any more)."""
        result = await self.session.execute(
            delete(UserCourse)
            .where(
                UserCourse.user_id == user_id,
                UserCourse.course_id == course_id,
                UserCourse.purchase_id == purchase_id,
            )
            .returning(UserCourse.id)
        )
        return result.scalar_one_or_none()

    async def move_purchase_enrolment(
        self, *, user_id: int, course_id: int, from_purchase_id: int, to_purchase_id: int
    ) -> int | None:
        """Let another purchase carry the enrolment this one opened; the enrolment's id, None when none."""
        result = await self.session.execute(
            update(UserCourse)
            .where(
                UserCourse.user_id == user_id,
                UserCourse.course_id == course_id,
                UserCourse.purchase_id == from_purchase_id,
            )
            .values(purchase_id=to_purchase_id)
            .returning(UserCourse.id)
        )
        return result.scalar_one_or_none()

    async def get(self, *, user_id: int, course_id: int) -> UserCourse | None:
        result = await self.session.execute(
            select(UserCourse).where(UserCourse.user_id == user_id, UserCourse.course_id == course_id)
        )
        return result.scalar_one_or_none()

    async def courses_with_progress(self, user_id: int) -> Sequence[RowMapping]:
        """The seed's example query 1, on the projection, with its two traps closed.

        - Lessons are LEFT-joined: a course whose lessons are not known yet (or has none) is still
          listed, at 0 %, instead of vanishing from the inner join or dividing by zero.
        - Progress rows are joined per lesson *and* per learner, completed ones only: UNIQUE
          (user_id, lesson_id) makes that at most one row per lesson, so nothing is counted twice,
          and other learners' rows and lessons no longer in the course are not counted at all.
        """
        uc, cp, lp, up = UserCourse, CourseProjection, LessonProjection, UserProgress
        total = func.count(lp.lesson_id)
        completed = func.count(up.id)
        percent = case((total == 0, 0), else_=func.round(completed * 100.0 / total)).cast(Integer)
        stmt = (
            select(
                uc.course_id,
                cp.title,
                cp.category,
                uc.source,
                uc.purchased_at.label("enrolled_at"),
                uc.is_completed,
                uc.completed_at,
                total.label("total_lessons"),
                completed.label("completed_lessons"),
                percent.label("progress_percent"),
            )
            .select_from(uc)
            .outerjoin(cp, cp.course_id == uc.course_id)
            .outerjoin(lp, lp.course_id == uc.course_id)
            .outerjoin(up, and_(up.user_id == uc.user_id, up.lesson_id == lp.lesson_id, up.completed.is_(True)))
            .where(uc.user_id == user_id)
            # Grouped by the primary keys, so every other selected column is determined by them.
            .group_by(uc.id, cp.course_id)
            .order_by(uc.purchased_at.desc(), uc.course_id)
        )
        return (await self.session.execute(stmt)).mappings().all()
