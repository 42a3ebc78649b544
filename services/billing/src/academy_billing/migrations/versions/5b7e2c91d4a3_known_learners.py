"""billing.learners: the learners billing knows of, so no write lands on an id nobody registered

Fed by users.user_registered (v1, v2) and users.user_erased.v1, and by the users service's answer for a
learner whose event has not arrived yet. Learners registered before this revision are confirmed by the
users service on their first write, so the table needs no backfill.

Revision ID: 5b7e2c91d4a3
Revises: 55408bfc052c
Create Date: 2026-12-01 10:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b7e2c91d4a3"
down_revision: str | None = "55408bfc052c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "billing"


def upgrade() -> None:
    op.create_table(
        "learners",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("source IN ('event', 'users_service')", name=op.f("ck_learners_source_known")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_learners")),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("learners", schema=SCHEMA)
