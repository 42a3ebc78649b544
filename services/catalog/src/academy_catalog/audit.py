"""The catalog's audit log: who made each change (issue 9 §3)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from academy_runtime.auth import Caller
from academy_runtime.repository import Repository

from academy_catalog.models import AuditLog

T = TypeVar("T")


class AuditRepository(Repository):
    async def record(self, *, actor: str, action: str, subject_id: int | None, details: dict[str, Any]) -> None:
        await self.add(AuditLog(actor=actor, action=action, subject_id=subject_id, details=details))


async def audited(session: Any, caller: Caller, action: str, details: dict[str, Any], change: Awaitable[T]) -> T:
    """Await `change` (a service call of an operator command) and record it in the audit log, in the same
    transaction: `caller.actor` (`operator:alice`), `action`, the id of what it answered with (its `id`
    attribute, when it has one) and `details` (the command). A change that raises records nothing."""
    result = await change
    subject_id = getattr(result, "id", None)
    await AuditRepository(session).record(
        actor=caller.actor,
        action=action,
        subject_id=subject_id if isinstance(subject_id, int) else None,
        details=details,
    )
    return result
