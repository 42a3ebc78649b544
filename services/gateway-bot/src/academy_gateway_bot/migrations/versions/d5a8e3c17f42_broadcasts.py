"""broadcasts (issue 12): the message, its segment and state; broadcast_recipients, one row per learner;
learners.announcements_enabled (the learner's opt-out of announcements)

The draft `broadcasts` table of the initial schema was never used (no code wrote it): it is replaced.

Revision ID: d5a8e3c17f42
Revises: c41f7a2e9b18
Create Date: 2026-11-30 18:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d5a8e3c17f42"
down_revision: str | None = "c41f7a2e9b18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "gateway_bot"
_BROADCAST_STATUSES = "'draft', 'scheduled', 'sending', 'paused', 'cancelled', 'finished'"
_RECIPIENT_STATUSES = "'pending', 'sending', 'sent', 'blocked', 'failed', 'skipped', 'unknown'"


def upgrade() -> None:
    op.add_column(
        "learners",
        sa.Column("announcements_enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        schema=SCHEMA,
    )
    op.drop_table("broadcasts", schema=SCHEMA)
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text_ru", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=True),
        sa.Column("photo", sa.Text(), nullable=True),
        sa.Column("button_url", sa.Text(), nullable=True),
        sa.Column("button_text_ru", sa.String(length=64), nullable=True),
        sa.Column("button_text_en", sa.String(length=64), nullable=True),
        sa.Column("segment", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'draft'"), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("recipients_total", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"status IN ({_BROADCAST_STATUSES})", name=op.f("ck_broadcasts_broadcast_status_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
        schema=SCHEMA,
    )
    op.create_index("ix_broadcasts_status", "broadcasts", ["status"], unique=False, schema=SCHEMA)
    op.create_table(
        "broadcast_recipients",
        sa.Column("broadcast_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            f"status IN ({_RECIPIENT_STATUSES})", name=op.f("ck_broadcast_recipients_recipient_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            [f"{SCHEMA}.broadcasts.id"],
            name=op.f("fk_broadcast_recipients_broadcast_id_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("broadcast_id", "user_id", name=op.f("pk_broadcast_recipients")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_broadcast_recipients_broadcast_id_status",
        "broadcast_recipients",
        ["broadcast_id", "status"],
        unique=False,
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_index("ix_broadcast_recipients_broadcast_id_status", table_name="broadcast_recipients", schema=SCHEMA)
    op.drop_table("broadcast_recipients", schema=SCHEMA)
    op.drop_index("ix_broadcasts_status", table_name="broadcasts", schema=SCHEMA)
    op.drop_table("broadcasts", schema=SCHEMA)
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "audience", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'draft'"), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("sent_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("failed_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
        schema=SCHEMA,
    )
    op.drop_column("learners", "announcements_enabled", schema=SCHEMA)
