"""Reading the audit log: for auditors (the query API) and for the learner (their export)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from academy_users.accounts.repository import UserRepository
from academy_users.audit.repository import AuditFilter, AuditRepository
from academy_users.audit.schemas import AuditEntryOut, AuditPage


async def read_audit_log(
    session: AsyncSession,
    where: AuditFilter,
    *,
    before_id: int | None,
    limit: int,
    actor: str,
    reason: str | None,
) -> AuditPage:
    """A page of entries matching `where`, newest first (`next_before_id` continues). The read is itself
    an entry (`audit_log_read`, by `actor`, about the learner filtered on if any, naming the filters
    used), written after the page is taken, so it shows in the next query, not in this one."""
    rows = await AuditRepository(session).page(where, before_id=before_id, limit=limit + 1)
    entries = [AuditEntryOut.model_validate(row) for row in rows[:limit]]
    UserRepository(session).audit(
        user_id=where.user_id,
        actor=actor,
        action="audit_log_read",
        details={"filters": where.names(), "entries": len(entries)},
        reason=reason,
    )
    return AuditPage(entries=entries, next_before_id=entries[-1].id if len(rows) > limit else None)
