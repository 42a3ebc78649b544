"""audit reasons: a ticket reference (`SUP-1234`) or a fixed code, nothing a name or a phone fits

Issue 10 QA. The earlier pattern (ASCII letters, digits and `-_.:#/`) admitted `tel:79161234598` and
`Praskovya.Vtorova`. The reason is now `^[A-Z]{2,10}-[0-9]{1,8}$` or one of the service's fixed codes
(`academy_users.models.AUDIT_REASON_CODES`). Entries already there whose reason does not fit get the code
`reason_removed`: such a reason may hold a personal value, and the entry keeps who, what and when. The
downgrade restores the earlier CHECK (every reason of the new form fits it) but not the removed reasons.

Revision ID: e8b2d4f6a0c3
Revises: d7a1c3e5f9b2
Create Date: 2026-12-20 13:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e8b2d4f6a0c3"
down_revision: str | None = "d7a1c3e5f9b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "users"
CONSTRAINT = "ck_audit_log_reason_is_a_reference"
# Copied, not imported: a migration keeps the rule of its own revision.
PATTERN = r"^([A-Z]{2,10}-[0-9]{1,8}|learner_request|consent_withdrawn|operator_request|reason_removed)$"
EARLIER_PATTERN = r"^[A-Za-z][A-Za-z0-9]*[-_.:#/][A-Za-z0-9_.:#/-]*$"


def upgrade() -> None:
    op.drop_constraint(op.f(CONSTRAINT), "audit_log", schema=SCHEMA, type_="check")
    op.execute(
        sa.text(
            f"UPDATE {SCHEMA}.audit_log SET reason = 'reason_removed' "  # noqa: S608 - constants, no input
            "WHERE reason IS NOT NULL AND reason !~ :pattern"
        ).bindparams(pattern=PATTERN)
    )
    op.create_check_constraint(op.f(CONSTRAINT), "audit_log", f"reason ~ '{PATTERN}'", schema=SCHEMA)


def downgrade() -> None:
    op.drop_constraint(op.f(CONSTRAINT), "audit_log", schema=SCHEMA, type_="check")
    op.create_check_constraint(op.f(CONSTRAINT), "audit_log", f"reason ~ '{EARLIER_PATTERN}'", schema=SCHEMA)
