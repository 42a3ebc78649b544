"""notification_log becomes the notifications' send queue (issue 11): a consumer writes a message `pending`
in the event's transaction and the delivery job sends each chat's rows in order, so a handler no longer holds
its consumer place and a database connection while its chat's send second comes

Revision ID: e2b7c4d91a06
Revises: d5a8e3c17f42
Create Date: 2026-12-01 14:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e2b7c4d91a06"
down_revision: str | None = "d5a8e3c17f42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "gateway_bot"
_STATUSES = "'pending', 'sent', 'blocked', 'failed', 'skipped'"


def upgrade() -> None:
    op.add_column(
        "notification_log", sa.Column("reply_markup", postgresql.JSONB(astext_type=sa.Text()), nullable=True), schema=SCHEMA
    )
    op.add_column(
        "notification_log", sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False), schema=SCHEMA
    )
    op.add_column("notification_log", sa.Column("not_before", sa.DateTime(timezone=True), nullable=True), schema=SCHEMA)
    op.add_column("notification_log", sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True), schema=SCHEMA)
    # Rows logged before the queue were sent when they were logged.
    op.execute(f"UPDATE {SCHEMA}.notification_log SET sent_at = created_at WHERE status = 'sent'")
    op.create_check_constraint(
        op.f("ck_notification_log_notification_status_known"), "notification_log", f"status IN ({_STATUSES})", schema=SCHEMA
    )
    op.create_index(
        "ix_notification_log_pending",
        "notification_log",
        ["user_id", "id"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    # Messages still queued were never sent: the log before the queue only knew outcomes.
    op.execute(f"DELETE FROM {SCHEMA}.notification_log WHERE status = 'pending'")
    op.drop_index("ix_notification_log_pending", table_name="notification_log", schema=SCHEMA)
    op.drop_constraint(op.f("ck_notification_log_notification_status_known"), "notification_log", schema=SCHEMA)
    for column in ("sent_at", "not_before", "attempts", "reply_markup"):
        op.drop_column("notification_log", column, schema=SCHEMA)
