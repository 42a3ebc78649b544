"""outbox.parked_at: a row that can never be published no longer holds up the rows behind it

The relay parks a row it cannot turn into a message (over MAX_EVENT_BYTES, not an encodable
CloudEvent): parked_at is set, last_error says why, and the relay's claim (and its partial index) skips
the row, so the rows behind it are published in order. Clearing parked_at makes the relay try again.

Revision ID: 6b6773eac17e
Revises: 52dc3c894bae
Create Date: 2026-12-01 12:00:00.000000

"""

from collections.abc import Sequence

from academy_runtime.table_migrations import outbox_parked_at_downgrade, outbox_parked_at_upgrade

revision: str = "6b6773eac17e"
down_revision: str | None = "52dc3c894bae"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "users"


def upgrade() -> None:
    outbox_parked_at_upgrade(SCHEMA)


def downgrade() -> None:
    outbox_parked_at_downgrade(SCHEMA)
