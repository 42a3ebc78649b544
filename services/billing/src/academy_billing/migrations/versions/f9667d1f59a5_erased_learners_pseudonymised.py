"""erasure: an erased learner's records are pseudonymised (issue 10)

- learners.pseudonymised_at: when billing last finished detaching an erased learner's records from the
  person (learners.erasure); learners erased before this release keep it null and the reconciliation
  job's sweep pseudonymises them after the upgrade.
- idempotency_keys.subject: whom a stored answer is about (`user/<id>`), so an erasure deletes the
  learner's; answers stored before this release get it where they name the learner (an operator's
  adjustment: `transaction.user_id`). A stored wallet purchase names no learner, but its key may name the
  Telegram chat (the gateway's key of a message), so those are deleted: a replay of one is still answered
  with the first purchase, by the ledger's reference of the request (`purchase:<hash>`).

Revision ID: f9667d1f59a5
Revises: 5b7e2c91d4a3
Create Date: 2026-12-02 10:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from academy_runtime.table_migrations import idempotency_subject_downgrade, idempotency_subject_upgrade
from alembic import op

revision: str = "f9667d1f59a5"
down_revision: str | None = "5b7e2c91d4a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "billing"


def upgrade() -> None:
    op.add_column("learners", sa.Column("pseudonymised_at", sa.DateTime(timezone=True), nullable=True), schema=SCHEMA)
    op.create_check_constraint(
        op.f("ck_learners_pseudonymised_only_if_erased"),
        "learners",
        "pseudonymised_at IS NULL OR erased_at IS NOT NULL",
        schema=SCHEMA,
    )
    op.create_index(
        "ix_learners_erased_unpseudonymised",
        "learners",
        ["user_id"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("erased_at IS NOT NULL AND pseudonymised_at IS NULL"),
    )
    idempotency_subject_upgrade(SCHEMA)
    op.execute(
        "UPDATE billing.idempotency_keys SET subject = 'user/' || (response -> 'transaction' ->> 'user_id') "
        "WHERE jsonb_typeof(response -> 'transaction' -> 'user_id') = 'number'"
    )
    op.execute("DELETE FROM billing.idempotency_keys WHERE subject IS NULL")


def downgrade() -> None:
    idempotency_subject_downgrade(SCHEMA)
    op.drop_index("ix_learners_erased_unpseudonymised", table_name="learners", schema=SCHEMA)
    op.drop_constraint(op.f("ck_learners_pseudonymised_only_if_erased"), "learners", schema=SCHEMA, type_="check")
    op.drop_column("learners", "pseudonymised_at", schema=SCHEMA)
