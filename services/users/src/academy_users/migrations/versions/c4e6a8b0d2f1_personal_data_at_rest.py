"""personal data at rest: names, phones and usernames encrypted, the phone lookup, the audit log's reason

Issue 10. `users.full_name`, `phone` and `username` become text holding `v1:<key id>:<ciphertext>`
(AES-256-GCM, academy_users.encryption), and `phone_lookup` (HMAC-SHA256 of the phone, indexed) is
added. The learners already there are encrypted here, so THIS MIGRATION NEEDS THE KEYS: run it with
PERSONAL_DATA_KEYS, PERSONAL_DATA_KEY_ID and PHONE_LOOKUP_KEY set as the service will run (the
Kubernetes migration Job reads the `academy-personal-data-keys` Secret; with ENVIRONMENT=development and
none set, the development keys). A migration without keys, or with the wrong ones, leaves values the
service cannot read; the settings refuse to start it without keys outside development. The downgrade
decrypts them again with the same keys.

The audit log gets `reason` (a ticket or a fixed code, checked by a pattern no name or phone fits),
its indexes for the query API, and loses the personal values earlier entries held: the `telegram_id`
registrations wrote into `details` (not restored by the downgrade). Idempotency records get `subject`,
filled from the answers they hold (`user/<id>`), so an erasure deletes them.

Revision ID: c4e6a8b0d2f1
Revises: b3d5f7a9c1e2
Create Date: 2026-12-12 12:00:00.000000

"""

from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from academy_runtime.table_migrations import idempotency_subject_downgrade, idempotency_subject_upgrade
from alembic import op

from academy_users.encryption import KeyRing, installed_key_ring_or_none

revision: str = "c4e6a8b0d2f1"
down_revision: str | None = "b3d5f7a9c1e2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "users"
ENCRYPTED = ("full_name", "phone", "username")
BATCH = 500
# Widths of the plaintext columns before this revision (the downgrade's).
PLAIN_WIDTHS = {"full_name": 255, "phone": 20, "username": 255}
REASON_PATTERN = r"^[A-Za-z][A-Za-z0-9]*[-_.:#/][A-Za-z0-9_.:#/-]*$"

_users = sa.table(
    "users",
    sa.column("id", sa.Integer),
    *(sa.column(name, sa.Text) for name in ENCRYPTED),
    sa.column("phone_lookup", sa.String),
    schema=SCHEMA,
)


def _key_ring() -> KeyRing:
    """The ring the process installed (a test, the service's own start-up), else the settings' (the CLI)."""
    ring = installed_key_ring_or_none()
    if ring is not None:
        return ring
    from academy_users.settings import UsersSettings

    return UsersSettings().personal_data_key_ring()


def _batches(connection: sa.Connection) -> Iterator[list[sa.Row[tuple[object, ...]]]]:
    """The learners with something to convert, by id, `BATCH` at a time."""
    after = 0
    has_value = sa.or_(*(_users.c[name].is_not(None) for name in ENCRYPTED))
    while True:
        rows = list(
            connection.execute(
                sa.select(_users).where(_users.c.id > after, has_value).order_by(_users.c.id).limit(BATCH)
            )
        )
        if not rows:
            return
        yield rows
        after = rows[-1].id


def _column(name: str) -> str:
    return f"{SCHEMA}.users.{name}"


def upgrade() -> None:
    for name in ENCRYPTED:
        op.alter_column("users", name, type_=sa.Text(), existing_nullable=True, schema=SCHEMA)
    op.add_column("users", sa.Column("phone_lookup", sa.String(length=64), nullable=True), schema=SCHEMA)
    op.create_index("ix_users_phone_lookup", "users", ["phone_lookup"], unique=False, schema=SCHEMA)

    connection = op.get_bind()
    ring: KeyRing | None = None
    for rows in _batches(connection):
        ring = ring or _key_ring()  # only when there is something to encrypt: a new database needs no keys
        for row in rows:
            values: dict[str, str | None] = {
                name: None if row._mapping[name] is None else ring.encrypt(row._mapping[name], column=_column(name))
                for name in ENCRYPTED
            }
            values["phone_lookup"] = None if row.phone is None else ring.phone_lookup(row.phone)
            connection.execute(sa.update(_users).where(_users.c.id == row.id).values(**values))

    op.add_column("audit_log", sa.Column("reason", sa.String(length=64), nullable=True), schema=SCHEMA)
    op.create_check_constraint(
        op.f("ck_audit_log_reason_is_a_reference"), "audit_log", f"reason ~ '{REASON_PATTERN}'", schema=SCHEMA
    )
    op.drop_index(op.f("ix_users_audit_log_user_id"), table_name="audit_log", schema=SCHEMA)
    op.create_index("ix_audit_log_user_id_id", "audit_log", ["user_id", "id"], unique=False, schema=SCHEMA)
    op.create_index("ix_audit_log_actor_id", "audit_log", ["actor", "id"], unique=False, schema=SCHEMA)
    # Registrations recorded the Telegram id in details: a personal value the audit log must not hold.
    op.execute(f"UPDATE {SCHEMA}.audit_log SET details = details - 'telegram_id' WHERE details ? 'telegram_id'")

    idempotency_subject_upgrade(SCHEMA)
    # The answers stored so far are registrations ({"learner": {"id": ...}}) and profile changes ({"id": ...}).
    op.execute(
        f"UPDATE {SCHEMA}.idempotency_keys SET subject = 'user/' || coalesce(response->'learner'->>'id', "
        "response->>'id') WHERE response IS NOT NULL AND coalesce(response->'learner'->>'id', response->>'id') "
        "~ '^[0-9]+$'"
    )


def downgrade() -> None:
    idempotency_subject_downgrade(SCHEMA)
    op.drop_index("ix_audit_log_actor_id", table_name="audit_log", schema=SCHEMA)
    op.drop_index("ix_audit_log_user_id_id", table_name="audit_log", schema=SCHEMA)
    op.create_index(op.f("ix_users_audit_log_user_id"), "audit_log", ["user_id"], unique=False, schema=SCHEMA)
    op.drop_constraint(op.f("ck_audit_log_reason_is_a_reference"), "audit_log", schema=SCHEMA, type_="check")
    op.drop_column("audit_log", "reason", schema=SCHEMA)

    connection = op.get_bind()
    ring: KeyRing | None = None
    for rows in _batches(connection):
        ring = ring or _key_ring()
        for row in rows:
            values = {
                name: None if row._mapping[name] is None else ring.decrypt(row._mapping[name], column=_column(name))
                for name in ENCRYPTED
            }
            connection.execute(sa.update(_users).where(_users.c.id == row.id).values(**values))

    op.drop_index("ix_users_phone_lookup", table_name="users", schema=SCHEMA)
    op.drop_column("users", "phone_lookup", schema=SCHEMA)
    for name in ENCRYPTED:
        op.alter_column(
            "users", name, type_=sa.String(length=PLAIN_WIDTHS[name]), existing_nullable=True, schema=SCHEMA
        )
