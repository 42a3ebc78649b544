"""erasure: progress forgets an erased learner (issue 10)

- learners.forgotten_at / objects_removed_at: when the learner's rows, then their transcript PDFs in S3,
  were deleted after the erasure. Learners erased before this release (users.user_erased.v1 only marked
  them) keep both null: the worker's erasure sweep forgets them after the upgrade.
- erased_enrolments: per course, how many erased learners were enrolled and completed it (numbers
  without the person, counted in the popular-courses report).
- idempotency_keys.subject: whom a stored answer is about (`user/<id>`), so an erasure deletes the
  learner's. Answers stored before this release get it where they name the learner (an enrolment); the
  others (lesson completions) name no learner but their key may name the Telegram chat (the gateway's
  key of a message), so they are deleted: a replay of one re-runs the completion, which changes nothing
  the second time (it answers `newly_completed: false`).

Revision ID: cc5998005614
Revises: 6c1d0e8b3f27
Create Date: 2026-12-02 10:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from academy_runtime.table_migrations import idempotency_subject_downgrade, idempotency_subject_upgrade
from alembic import op

revision: str = "cc5998005614"
down_revision: str | None = "6c1d0e8b3f27"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "progress"


def upgrade() -> None:
    op.add_column("learners", sa.Column("forgotten_at", sa.DateTime(timezone=True), nullable=True), schema=SCHEMA)
    op.add_column(
        "learners", sa.Column("objects_removed_at", sa.DateTime(timezone=True), nullable=True), schema=SCHEMA
    )
    op.create_check_constraint(
        op.f("ck_learners_forgotten_only_if_erased"),
        "learners",
        "forgotten_at IS NULL OR erased_at IS NOT NULL",
        schema=SCHEMA,
    )
    op.create_check_constraint(
        op.f("ck_learners_objects_after_rows"),
        "learners",
        "objects_removed_at IS NULL OR forgotten_at IS NOT NULL",
        schema=SCHEMA,
    )
    op.create_index(
        "ix_learners_erased_pending",
        "learners",
        ["user_id"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("erased_at IS NOT NULL AND objects_removed_at IS NULL"),
    )
    op.create_table(
        "erased_enrolments",
        sa.Column("course_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("enrolled", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("completed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint(
            "completed >= 0 AND completed <= enrolled", name=op.f("ck_erased_enrolments_completed_within_enrolled")
        ),
        sa.PrimaryKeyConstraint("course_id", name=op.f("pk_erased_enrolments")),
        schema=SCHEMA,
    )
    idempotency_subject_upgrade(SCHEMA)
    op.execute(
        "UPDATE progress.idempotency_keys SET subject = 'user/' || (response -> 'enrolment' ->> 'user_id') "
        "WHERE jsonb_typeof(response -> 'enrolment' -> 'user_id') = 'number'"
    )
    op.execute("DELETE FROM progress.idempotency_keys WHERE subject IS NULL")


def downgrade() -> None:
    idempotency_subject_downgrade(SCHEMA)
    op.drop_table("erased_enrolments", schema=SCHEMA)
    op.drop_index("ix_learners_erased_pending", table_name="learners", schema=SCHEMA)
    op.drop_constraint(op.f("ck_learners_objects_after_rows"), "learners", schema=SCHEMA, type_="check")
    op.drop_constraint(op.f("ck_learners_forgotten_only_if_erased"), "learners", schema=SCHEMA, type_="check")
    op.drop_column("learners", "objects_removed_at", schema=SCHEMA)
    op.drop_column("learners", "forgotten_at", schema=SCHEMA)
