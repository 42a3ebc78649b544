"""Alembic steps for the tables every service gets from the runtime (outbox, inbox, idempotency keys).

The runtime defines those tables once (`academy_runtime.messaging`), and each service owns a copy in its
own schema, so a change to them is one migration per service. The steps live here, written once; each
service's migration calls them with its schema. A step is frozen once released: a later change to the
runtime's tables is a new pair of functions, never an edit of these, so old migrations keep replaying
exactly what they did.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def _unpublished_index(schema: str, where: str) -> None:
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["id"],
        unique=False,
        schema=schema,
        postgresql_where=sa.text(where),
    )


def outbox_parked_at_upgrade(schema: str) -> None:
    """outbox.parked_at (issue 9): a row the relay can never publish is parked, and the relay's partial
    index `ix_outbox_unpublished` skips parked rows as it skips published ones."""
    op.add_column("outbox", sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True), schema=schema)
    op.drop_index("ix_outbox_unpublished", table_name="outbox", schema=schema)
    _unpublished_index(schema, "published_at IS NULL AND parked_at IS NULL")


def outbox_parked_at_downgrade(schema: str) -> None:
    """The reverse of `outbox_parked_at_upgrade` (parked rows become unpublished ones again)."""
    op.drop_index("ix_outbox_unpublished", table_name="outbox", schema=schema)
    _unpublished_index(schema, "published_at IS NULL")
    op.drop_column("outbox", "parked_at", schema=schema)


def idempotency_subject_upgrade(schema: str) -> None:
    """idempotency_keys.subject (issue 10): whom a stored answer is about (`user/42`), indexed, so that an
    erasure deletes the records holding the person's data (`IdempotencyStore.forget_subject`). Only for
    services built with `Messaging(..., idempotency_subjects=True)`; existing rows get no subject (the
    service's own migration fills what it can tell from the stored answers)."""
    op.add_column("idempotency_keys", sa.Column("subject", sa.String(length=100), nullable=True), schema=schema)
    op.create_index("ix_idempotency_keys_subject", "idempotency_keys", ["subject"], unique=False, schema=schema)


def idempotency_subject_downgrade(schema: str) -> None:
    """The reverse of `idempotency_subject_upgrade`."""
    op.drop_index("ix_idempotency_keys_subject", table_name="idempotency_keys", schema=schema)
    op.drop_column("idempotency_keys", "subject", schema=schema)
