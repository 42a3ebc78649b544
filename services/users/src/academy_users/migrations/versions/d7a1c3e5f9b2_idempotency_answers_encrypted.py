"""idempotency answers encrypted: the stored answers already there become ciphertext

Issue 10. `users.idempotency_keys.response` held whole learner profiles in clear (the registration's,
the PATCH's and the avatar upload's answers); the service now stores them encrypted
(`academy_users.encryption.idempotency_response_cipher`: a JSON string `v1:<key id>:<ciphertext>`).
The rows already there are encrypted here rather than deleted: a replayed request is then still answered
with its first answer (deleting them would re-run the request: safe for the registration, idempotent on
`telegram_id`, but a retried avatar upload would store a second avatar). So THIS MIGRATION NEEDS THE
KEYS, as `c4e6a8b0d2f1` does (only when a clear row exists). The downgrade decrypts them again.

Revision ID: d7a1c3e5f9b2
Revises: c4e6a8b0d2f1
Create Date: 2026-12-20 12:00:00.000000

"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from academy_users.encryption import IDEMPOTENCY_RESPONSE_COLUMN, KeyRing, installed_key_ring_or_none
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "d7a1c3e5f9b2"
down_revision: str | None = "c4e6a8b0d2f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "users"

_keys = sa.table(
    "idempotency_keys",
    sa.column("key", sa.String),
    sa.column("caller", sa.String),
    sa.column("response", JSONB),
    schema=SCHEMA,
)


def _key_ring() -> KeyRing:
    """The ring the process installed (a test, the service's own start-up), else the settings' (the CLI)."""
    ring = installed_key_ring_or_none()
    if ring is not None:
        return ring
    from academy_users.settings import UsersSettings

    return UsersSettings().personal_data_key_ring()


def _rows(connection: sa.Connection, *, encrypted: bool) -> list[sa.Row[tuple[object, ...]]]:
    """The records whose answer is encrypted (a JSON string) or, with `encrypted` false, in clear."""
    is_text = sa.func.jsonb_typeof(_keys.c.response) == "string"
    where = is_text if encrypted else sa.and_(_keys.c.response.is_not(None), ~is_text)
    return list(connection.execute(sa.select(_keys).where(where)))


def upgrade() -> None:
    connection = op.get_bind()
    rows = _rows(connection, encrypted=False)
    if not rows:
        return  # a new database, or nothing stored: no keys needed
    ring = _key_ring()
    for row in rows:
        text = json.dumps(row.response, ensure_ascii=False, separators=(",", ":"))
        connection.execute(
            sa.update(_keys)
            .where(_keys.c.key == row.key, _keys.c.caller == row.caller)
            .values(response=ring.encrypt(text, column=IDEMPOTENCY_RESPONSE_COLUMN))
        )


def downgrade() -> None:
    connection = op.get_bind()
    rows = _rows(connection, encrypted=True)
    if not rows:
        return
    ring = _key_ring()
    for row in rows:
        plain = json.loads(ring.decrypt(str(row.response), column=IDEMPOTENCY_RESPONSE_COLUMN))
        connection.execute(
            sa.update(_keys).where(_keys.c.key == row.key, _keys.c.caller == row.caller).values(response=plain)
        )
