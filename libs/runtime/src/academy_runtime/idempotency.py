"""Idempotency keys for commands over HTTP: a retried request gets the first answer, not a second effect.

The key, the calling service, a fingerprint of the request and the response are stored in the
service's `idempotency_keys` table in the same transaction as the command's effects. A concurrent
duplicate blocks on the primary key until the first commits, then reads its answer.

Subjects (issue 10): a stored answer may hold a person's data (a learner's profile), and the request's
fingerprint is a hash of what they sent (a phone number is guessed back from its SHA-256 in minutes). A
service whose answers are about someone builds its table with a `subject` column
(`Messaging(metadata, idempotency_subjects=True)`), names the subject of each command
(`run(..., subject=lambda answer: f"user/{answer.id}")`), and deletes every record about a person with
`forget_subject` when it erases them.

Encrypted answers (issue 10): the subject lets an erasure find a person's answers, but until then they sit
in clear in every backup. A service whose answers hold personal data gives the store a `ResponseCipher`
(`Messaging(metadata, idempotency_response_cipher=ResponseCipher(encrypt=..., decrypt=...))`): each
answer's JSON text is then stored as the cipher's text (a JSON string in `response`) and decrypted on
replay, so the replay is the same answer and the table holds no value in clear. The cipher is the
service's own (its keys, its rotation); the store only calls it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Header, Request
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, delete, func, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from academy_runtime.errors import ConflictError, ValidationFailedError

T = TypeVar("T", bound=BaseModel)

MAX_KEY_LENGTH = 200
MAX_SUBJECT_LENGTH = 100

Subject = str | Callable[[Any], str | None] | None
"""Whom a command's answer is about: a text (`user/42`), a function of the answer, or None."""


@dataclass(frozen=True)
class ResponseCipher:
    """How a service has its stored answers encrypted: `encrypt(json_text) -> stored_text` and
    `decrypt(stored_text) -> json_text`. Both are called at request time (not at import), so they may use
    keys installed at start-up; `decrypt` raises whatever the service's cipher raises for a value it cannot
    authenticate (the replay is then a 500, never a garbled answer)."""

    encrypt: Callable[[str], str]
    decrypt: Callable[[str], str]


def idempotency_table(metadata: MetaData, *, with_subject: bool = False) -> Table:
    """The `idempotency_keys` table; `with_subject` adds `subject` (indexed), whom each answer is about."""
    columns: list[Any] = [
        Column("key", String(MAX_KEY_LENGTH), primary_key=True),
        Column("caller", String(100), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("status_code", Integer, nullable=True),
        Column("response", JSONB, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]
    if with_subject:
        columns += [
            Column("subject", String(MAX_SUBJECT_LENGTH), nullable=True),
            Index("ix_idempotency_keys_subject", "subject"),
        ]
    return Table("idempotency_keys", metadata, *columns)


def fingerprint(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


async def idempotency_key_header(
    idempotency_key: str | None = Header(default=None, max_length=MAX_KEY_LENGTH),
) -> str | None:
    return idempotency_key


class IdempotencyStore:
    """Runs a command once per (Idempotency-Key, caller) and replays its first answer."""

    def __init__(self, table: Table, *, response_cipher: ResponseCipher | None = None) -> None:
        self.table = table
        self.response_cipher = response_cipher

    def stored_response(self, answer: BaseModel) -> Any:
        """What `response` holds for `answer`: its JSON, or with a cipher the cipher's text of that JSON."""
        data = answer.model_dump(mode="json")
        if self.response_cipher is None:
            return data
        return self.response_cipher.encrypt(json.dumps(data, ensure_ascii=False, separators=(",", ":")))

    def replayed_response(self, stored: Any) -> Any:
        """The answer's JSON from what `response` holds. With a cipher, a stored text is decrypted; a JSON
        object (written before the service had a cipher, and not yet migrated) is returned as it is."""
        if self.response_cipher is not None and isinstance(stored, str):
            return json.loads(self.response_cipher.decrypt(stored))
        return stored

    @property
    def has_subjects(self) -> bool:
        """Whether the table records whom each answer is about (`idempotency_table(with_subject=True)`)."""
        return "subject" in self.table.c

    async def run(
        self,
        session: AsyncSession,
        request: Request,
        *,
        key: str | None,
        payload: Any,
        response_model: type[T],
        action: Callable[[], Awaitable[T]],
        subject: Subject = None,
    ) -> T:
        """`action()`'s answer, stored under `key` with the caller; the stored answer for a key seen before
        (422 when the key came with another request, 409 while the first is still running). `subject`
        (a text, or a function of the answer) is recorded where the table has subjects; ValueError when
        it is given to a table without them (a wiring bug that would keep a person's data unerasable)."""
        if subject is not None and not self.has_subjects:
            raise ValueError("this idempotency table has no subject column: build it with with_subject=True")
        if not key:
            return await action()
        caller = getattr(request.state, "caller", "anonymous")
        digest = fingerprint({"path": request.url.path, "method": request.method, "payload": payload})
        table = self.table
        claimed = await session.execute(
            pg_insert(table)
            .values(key=key, caller=caller, fingerprint=digest)
            .on_conflict_do_nothing()
            .returning(table.c.key)
        )
        if claimed.first() is None:
            row = (await session.execute(select(table).where(table.c.key == key, table.c.caller == caller))).one()
            if row.fingerprint != digest:
                raise ValidationFailedError(
                    "this Idempotency-Key was already used for a different request", details={"key": key}
                )
            if row.response is None:
                raise ConflictError("a request with this Idempotency-Key is still in progress")
            return response_model.model_validate(self.replayed_response(row.response))
        result = await action()
        values: dict[str, Any] = {"status_code": 200, "response": self.stored_response(result)}
        if subject is not None:
            values["subject"] = subject(result) if callable(subject) else subject
        await session.execute(update(table).where(table.c.key == key, table.c.caller == caller).values(**values))
        return result

    async def forget_subject(self, session: AsyncSession, subject: str) -> int:
        """Delete every record whose answer is about `subject` (an erasure); returns how many went."""
        if not self.has_subjects:
            raise ValueError("this idempotency table has no subject column: build it with with_subject=True")
        result = await session.execute(delete(self.table).where(self.table.c.subject == subject))
        return int(getattr(result, "rowcount", 0) or 0)
