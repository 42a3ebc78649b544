"""Idempotency keys for commands over HTTP: a retried request gets the first answer, not a second effect.

The key, the calling service, a fingerprint of the request and the response are stored in the
service's `idempotency_keys` table in the same transaction as the command's effects. A concurrent
duplicate blocks on the primary key until the first commits, then reads its answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Header, Request
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, func, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from academy_runtime.errors import ConflictError, ValidationFailedError

T = TypeVar("T", bound=BaseModel)

MAX_KEY_LENGTH = 200


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("key", String(MAX_KEY_LENGTH), primary_key=True),
        Column("caller", String(100), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("status_code", Integer, nullable=True),
        Column("response", JSONB, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def fingerprint(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


async def idempotency_key_header(
    idempotency_key: str | None = Header(default=None, max_length=MAX_KEY_LENGTH),
) -> str | None:
    return idempotency_key


class IdempotencyStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    async def run(
        self,
        session: AsyncSession,
        request: Request,
        *,
        key: str | None,
        payload: Any,
        response_model: type[T],
        action: Callable[[], Awaitable[T]],
    ) -> T:
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
            return response_model.model_validate(row.response)
        result = await action()
        await session.execute(
            update(table)
            .where(table.c.key == key, table.c.caller == caller)
            .values(status_code=200, response=result.model_dump(mode="json"))
        )
        return result
