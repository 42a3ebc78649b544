"""user_avatars: the original upload's type and size, kept beside the processed images

Each avatar keeps three objects in S3 (`avatars/<user>/<avatar>/original`, `large.webp`, `small.webp`);
the row describes the large image as before and now the original too: its real type (checked against
its bytes) and its size. No code wrote avatars before this revision; should a row exist, it gets
`application/octet-stream` and 0 (the server defaults are dropped again at once).

Revision ID: b3d5f7a9c1e2
Revises: 6b6773eac17e
Create Date: 2026-12-10 12:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b3d5f7a9c1e2"
down_revision: str | None = "6b6773eac17e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "users"


def upgrade() -> None:
    op.add_column(
        "user_avatars",
        sa.Column(
            "original_content_type",
            sa.String(length=100),
            server_default=sa.text("'application/octet-stream'"),
            nullable=False,
        ),
        schema=SCHEMA,
    )
    op.add_column(
        "user_avatars",
        sa.Column("original_size_bytes", sa.Integer(), server_default=sa.text("0"), nullable=False),
        schema=SCHEMA,
    )
    # The defaults only fill rows already there; the service always writes both.
    op.alter_column("user_avatars", "original_content_type", server_default=None, schema=SCHEMA)
    op.alter_column("user_avatars", "original_size_bytes", server_default=None, schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("user_avatars", "original_size_bytes", schema=SCHEMA)
    op.drop_column("user_avatars", "original_content_type", schema=SCHEMA)
