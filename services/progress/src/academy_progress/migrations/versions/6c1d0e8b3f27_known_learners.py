"""progress.learners: the learners progress knows of, so no write lands on an id nobody registered

Fed by users.user_registered (v1, v2) and users.user_erased.v1 (the `learner-registry` consumer). The
learners the users service had already announced to progress — a learner_preferences row whose zone a
user_registered.v2 / profile_updated.v2 set (profile_revision not null) — are copied in (source
'backfill'). A row without a revision holds only what an older release let anyone write: it proves
nothing, and neither do enrolments or progress rows (the very writes this table now refuses).

Revision ID: 6c1d0e8b3f27
Revises: ebf350c9f061
Create Date: 2026-12-01 14:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6c1d0e8b3f27"
down_revision: str | None = "ebf350c9f061"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "progress"


def upgrade() -> None:
    op.create_table(
        "learners",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("source IN ('event', 'backfill')", name=op.f("ck_learners_source_known")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_learners")),
        schema=SCHEMA,
    )
    op.execute(
        "INSERT INTO progress.learners (user_id, source) "
        "SELECT user_id, 'backfill' FROM progress.learner_preferences WHERE profile_revision IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("learners", schema=SCHEMA)
