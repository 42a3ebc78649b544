"""inbox.digest: what the handled event said, so an id reused for other content is reported

A consumer that meets an event id already in the inbox compares the new event's digest with this one:
equal is a redelivery (acknowledged, no second effect), different is dead-lettered as `event_id_reused`
(issue 9, part 4). Rows already there have none and are taken as redeliveries.

Revision ID: 405374c8e26b
Revises: b4d9e2f7a1c3
Create Date: 2026-11-30 20:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "405374c8e26b"
down_revision: str | None = "b4d9e2f7a1c3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "catalog"


def upgrade() -> None:
    op.add_column("inbox", sa.Column("digest", sa.String(length=64), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("inbox", "digest", schema=SCHEMA)
