"""course_enrolments can outlive their learner, detached; erased_learners (a tombstone of ids)

`users.user_erased.v2` (issue 10): an erased learner's enrolments keep counting for the course of the
month but name nobody. A row without a user cannot be keyed by (user_id, course_id), so the table gets a
surrogate key `id` and the pair becomes a unique constraint (nulls are distinct: detached rows never
collide, and the upsert of an enrolment still finds its row by the pair). `erased_learners (user_id)`
remembers the ids, so an enrolment announced after the erasure is not recorded.

The downgrade deletes the detached rows (the previous key cannot hold them): the course of the month
then counts the erased learners' enrolments of this month no more.

Revision ID: eb634a85f269
Revises: 7d9234f11e3d
Create Date: 2026-12-02 12:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "eb634a85f269"
down_revision: str | None = "7d9234f11e3d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "catalog"


def upgrade() -> None:
    op.create_table(
        "erased_learners",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_erased_learners")),
        schema=SCHEMA,
    )
    # BIGSERIAL numbers the existing rows, as create_table gives a BigInteger primary key its sequence.
    op.execute(f"ALTER TABLE {SCHEMA}.course_enrolments ADD COLUMN id BIGSERIAL NOT NULL")
    op.drop_constraint(op.f("pk_course_enrolments"), "course_enrolments", schema=SCHEMA, type_="primary")
    op.create_primary_key(op.f("pk_course_enrolments"), "course_enrolments", ["id"], schema=SCHEMA)
    op.create_unique_constraint(
        op.f("uq_course_enrolments_user_id_course_id"), "course_enrolments", ["user_id", "course_id"], schema=SCHEMA
    )
    op.alter_column("course_enrolments", "user_id", existing_type=sa.Integer(), nullable=True, schema=SCHEMA)


def downgrade() -> None:
    op.execute(f"DELETE FROM {SCHEMA}.course_enrolments WHERE user_id IS NULL")
    op.alter_column("course_enrolments", "user_id", existing_type=sa.Integer(), nullable=False, schema=SCHEMA)
    op.drop_constraint(
        op.f("uq_course_enrolments_user_id_course_id"), "course_enrolments", schema=SCHEMA, type_="unique"
    )
    op.drop_constraint(op.f("pk_course_enrolments"), "course_enrolments", schema=SCHEMA, type_="primary")
    op.create_primary_key(op.f("pk_course_enrolments"), "course_enrolments", ["user_id", "course_id"], schema=SCHEMA)
    op.drop_column("course_enrolments", "id", schema=SCHEMA)
    op.drop_table("erased_learners", schema=SCHEMA)
