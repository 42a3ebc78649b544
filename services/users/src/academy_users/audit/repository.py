from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from academy_runtime.repository import Repository
from sqlalchemy import select

from academy_users.models import AuditLog


@dataclass(frozen=True)
class AuditFilter:
    """What an audit query selects: every given field must match; `since` inclusive, `until` exclusive."""

    user_id: int | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def names(self) -> list[str]:
        """The filters given, by name (what the audit of a query records, never their values)."""
        return [name for name, value in vars(self).items() if value is not None]


class AuditRepository(Repository):
    """Reads of the audit log (entries are written through `UserRepository.audit`)."""

    async def page(self, where: AuditFilter, *, before_id: int | None, limit: int) -> Sequence[AuditLog]:
        """Up to `limit` entries matching `where`, newest first, with ids below `before_id` (keyset paging
        on the primary key: a page costs the same however deep it is, and no entry written meanwhile is
        skipped or repeated)."""
        stmt = select(AuditLog)
        if where.user_id is not None:
            stmt = stmt.where(AuditLog.user_id == where.user_id)
        if where.actor is not None:
            stmt = stmt.where(AuditLog.actor == where.actor)
        if where.action is not None:
            stmt = stmt.where(AuditLog.action == where.action)
        if where.since is not None:
            stmt = stmt.where(AuditLog.created_at >= where.since)
        if where.until is not None:
            stmt = stmt.where(AuditLog.created_at < where.until)
        if before_id is not None:
            stmt = stmt.where(AuditLog.id < before_id)
        return (await self.session.execute(stmt.order_by(AuditLog.id.desc()).limit(limit))).scalars().all()

    async def of_learner(self, user_id: int) -> Sequence[AuditLog]:
        """Every entry about `user_id`, oldest first (the learner's export)."""
        stmt = select(AuditLog).where(AuditLog.user_id == user_id).order_by(AuditLog.id)
        return (await self.session.execute(stmt)).scalars().all()
