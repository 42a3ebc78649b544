"""Re-encryption under the active key: the step of a key rotation that makes the old key removable.

`academy-users reencrypt-personal-data` rewrites every encrypted value not under PERSONAL_DATA_KEY_ID
(decrypted with the key it names, which must still be in PERSONAL_DATA_KEYS) and recomputes every
`phone_lookup` with the current PHONE_LOOKUP_KEY. It works in batches by id, one transaction each, with
`FOR UPDATE SKIP LOCKED`: a learner being changed right now is skipped (the change writes under the
active key anyway) and counted in `remaining` when it still holds an old value; run it again until
`remaining` is 0. It changes no value a learner sees: no event, no revision, one audit entry for the run.

The stored idempotent answers (`idempotency_keys.response`, learner profiles encrypted by
`encryption.idempotency_response_cipher`) are re-encrypted the same way, after the learners, and any
answer still in clear (written before that cipher, the migration `d7a1c3e5f9b2` not run) is encrypted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from academy_runtime.db import transaction
from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    String,
    Text,
    and_,
    cast,
    column,
    func,
    not_,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from academy_users import metrics
from academy_users.accounts.repository import UserRepository
from academy_users.encryption import FORMAT_VERSION, IDEMPOTENCY_RESPONSE_COLUMN, KeyRing

log = logging.getLogger(__name__)

ENCRYPTED_COLUMNS = ("full_name", "phone", "username")
ACTOR = "users:reencrypt-personal-data"

# The stored text, not the models' decrypting type: this reads and writes ciphertext.
_stored = table(
    "users",
    column("id", Integer),
    *(column(name, Text) for name in ENCRYPTED_COLUMNS),
    column("phone_lookup", String),
    schema="users",
)
_answers = table(
    "idempotency_keys",
    column("key", String),
    column("caller", String),
    column("response", JSONB),
    schema="users",
)


@dataclass
class ReencryptionReport:
    """What a run did: learners examined, values re-encrypted, lookups recomputed, and how many learners
    still hold a value under an old key (skipped while locked: run again)."""

    examined: int = 0
    values_reencrypted: int = 0
    lookups_recomputed: int = 0
    remaining: int = 0
    answers_reencrypted: int = 0
    answers_remaining: int = 0

    def summary(self, key_id: str) -> str:
        """One line for the command's output."""
        text = (
            f"{self.examined} learners examined: {self.values_reencrypted} values re-encrypted under key {key_id}, "
            f"{self.lookups_recomputed} phone lookups recomputed; {self.remaining} learners still hold values "
            f"under another key; {self.answers_reencrypted} stored idempotent answers re-encrypted, "
            f"{self.answers_remaining} still under another key"
        )
        locked = self.remaining or self.answers_remaining
        return text + (" (locked while this ran: run the command again)" if locked else "")


def _not_current(ring: KeyRing) -> ColumnElement[bool]:
    prefix = f"{FORMAT_VERSION}:{ring.active_key_id}:"
    return or_(*(~_stored.c[name].startswith(prefix, autoescape=True) for name in ENCRYPTED_COLUMNS))


async def _batch(session: AsyncSession, *, after_id: int, limit: int) -> Sequence[Row[tuple[object, ...]]]:
    stmt = (
        select(_stored)
        .where(_stored.c.id > after_id)
        .order_by(_stored.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(stmt)).all()


def _column_name(name: str) -> str:
    return f"users.users.{name}"


async def reencrypt_personal_data(
    sessionmaker: async_sessionmaker[AsyncSession], ring: KeyRing, *, batch_size: int = 500
) -> ReencryptionReport:
    """Re-encrypt every value not under `ring.active_key_id` and recompute every phone lookup with
    `ring.lookup_key`, `batch_size` learners per transaction. UndecryptableValueError (and the batch rolled
    back) when a value does not decrypt with the ring: a key it names is missing, or it was tampered with."""
    report = ReencryptionReport()
    after_id = 0
    while True:
        async with transaction(sessionmaker) as session:
            rows = await _batch(session, after_id=after_id, limit=batch_size)
            for row in rows:
                values = _rewritten(row, ring, report)
                if values:
                    await session.execute(update(_stored).where(_stored.c.id == row.id).values(**values))
            report.examined += len(rows)
        if len(rows) < batch_size:
            break
        after_id = rows[-1].id
    await _reencrypt_answers(sessionmaker, ring, report, batch_size=batch_size)
    async with transaction(sessionmaker) as session:
        has_old = or_(*(_stored.c[name].is_not(None) for name in ENCRYPTED_COLUMNS))
        count = select(func.count()).select_from(_stored).where(has_old, _not_current(ring))
        report.remaining = int((await session.execute(count)).scalar_one())
        count = select(func.count()).select_from(_answers).where(_answer_not_current(ring))
        report.answers_remaining = int((await session.execute(count)).scalar_one())
        UserRepository(session).audit(
            user_id=None,
            actor=ACTOR,
            action="personal_data_reencrypted",
            details={
                "key_id": ring.active_key_id,
                "examined": report.examined,
                "values": report.values_reencrypted,
                "lookups": report.lookups_recomputed,
                "remaining": report.remaining,
                "answers": report.answers_reencrypted,
            },
        )
    metrics.PERSONAL_DATA_REENCRYPTED.inc(report.values_reencrypted)
    log.info(
        "personal data re-encrypted",
        extra={"key_id": ring.active_key_id, "values": report.values_reencrypted, "remaining": report.remaining},
    )
    return report


def _rewritten(row: Row[tuple[object, ...]], ring: KeyRing, report: ReencryptionReport) -> dict[str, str | None]:
    """The new stored values of one learner's row (empty when nothing changes)."""
    values: dict[str, str | None] = {}
    stored = row._mapping  # noqa: SLF001 - SQLAlchemy's public mapping view of a row
    phone: str | None = None
    for name in ENCRYPTED_COLUMNS:
        text = stored[name]
        if text is None:
            continue
        plain = ring.decrypt(str(text), column=_column_name(name))  # a bad value fails loudly, whatever its key
        if name == "phone":
            phone = plain
        if not ring.is_current(str(text)):
            values[name] = ring.encrypt(plain, column=_column_name(name))
            report.values_reencrypted += 1
    lookup = None if phone is None else ring.phone_lookup(phone)
    if lookup != stored["phone_lookup"]:
        values["phone_lookup"] = lookup
        report.lookups_recomputed += 1
    return values


def _answer_not_current(ring: KeyRing) -> ColumnElement[bool]:
    """A stored answer in clear (a JSON object or array) or encrypted under another key than the active one
    (a JSON string, whose text form is the quoted `v1:<key id>:...`)."""
    is_text = func.jsonb_typeof(_answers.c.response) == "string"
    current = cast(_answers.c.response, Text).startswith(f'"{FORMAT_VERSION}:{ring.active_key_id}:', autoescape=True)
    return or_(and_(is_text, not_(current)), and_(_answers.c.response.is_not(None), not_(is_text)))


async def _reencrypt_answers(
    sessionmaker: async_sessionmaker[AsyncSession], ring: KeyRing, report: ReencryptionReport, *, batch_size: int
) -> None:
    """Every stored idempotent answer not under the active key re-encrypted (one still in clear encrypted),
    `batch_size` per transaction, skipping the records locked by a request in flight (counted afterwards in
    `answers_remaining`). A rewritten record no longer matches, so each batch takes new ones."""
    while True:
        async with transaction(sessionmaker) as session:
            stmt = select(_answers).where(_answer_not_current(ring)).limit(batch_size).with_for_update(skip_locked=True)
            rows = (await session.execute(stmt)).all()
            for row in rows:
                response = row.response
                if isinstance(response, str):
                    plain = ring.decrypt(response, column=IDEMPOTENCY_RESPONSE_COLUMN)
                else:
                    plain = json.dumps(response, ensure_ascii=False, separators=(",", ":"))
                await session.execute(
                    update(_answers)
                    .where(_answers.c.key == row.key, _answers.c.caller == row.caller)
                    .values(response=ring.encrypt(plain, column=IDEMPOTENCY_RESPONSE_COLUMN))
                )
            report.answers_reencrypted += len(rows)
        if len(rows) < batch_size:
            return
