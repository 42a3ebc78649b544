"""erased_learners: the user ids of erased learners, so a late registration event cannot bring one back

Revision ID: c41f7a2e9b18
Revises: 858fc5c89c7d
Create Date: 2026-12-02 10:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c41f7a2e9b18"
down_revision: str | None = "858fc5c89c7d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erased_learners",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_erased_learners")),
        schema="gateway_bot",
    )


def downgrade() -> None:
    op.drop_table("erased_learners", schema="gateway_bot")
