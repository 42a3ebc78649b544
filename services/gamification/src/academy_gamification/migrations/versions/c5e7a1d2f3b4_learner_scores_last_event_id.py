"""learner_scores.last_event_id: the last v2 points/achievement event published about the learner

The next one names it in `follows_event_id` (a chain per learner, so consumers tell them in order).
Rows already there start the chain afresh: their next v2 event follows nothing.

Revision ID: c5e7a1d2f3b4
Revises: a83f5d2c7e19
Create Date: 2026-11-30 18:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c5e7a1d2f3b4"
down_revision: str | None = "a83f5d2c7e19"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "gamification"


def upgrade() -> None:
    op.add_column("learner_scores", sa.Column("last_event_id", sa.String(length=200), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("learner_scores", "last_event_id", schema=SCHEMA)
