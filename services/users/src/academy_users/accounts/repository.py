from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from academy_runtime.repository import Repository
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from academy_users.encryption import installed_key_ring
from academy_users.models import AUDIT_REASON_PATTERN, AuditLog, User

# What an audit entry's details may hold: field names, ids, codes and counts (issue 10: "the audit log
# holds no personal values"). A text with a space, a `+`, a `@` or a letter outside ASCII (a name, a
# phone, an e-mail) is refused before it is written.
_DETAIL_TEXT = re.compile(r"^[A-Za-z0-9_.:/-]{0,64}$")
_DETAIL_NUMBER_MAX = 2**63


def audit_code(text: str) -> str | None:
    """`text` when it may stand in audit details as a code (letters, digits, `_.:/-`, ≤ 64), else None."""
    return text if _DETAIL_TEXT.fullmatch(text) else None


def _check_details(value: object, path: str = "details") -> None:
    """ValueError naming the path of a detail that is not a name, an id, a code, a count or a flag."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if abs(value) >= _DETAIL_NUMBER_MAX:
            raise ValueError(f"audit {path} is a number beyond an id")
        return
    if isinstance(value, str):
        if not _DETAIL_TEXT.fullmatch(value):
            raise ValueError(f"audit {path} is not a name, an id or a code (the audit log holds no personal values)")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_details(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _check_details(str(key), f"{path} key")
            _check_details(item, f"{path}.{key}")
        return
    raise ValueError(f"audit {path} is a {type(value).__name__}, not a name, an id or a code")


class UserRepository(Repository):
    async def insert_if_absent(
        self,
        *,
        telegram_id: int,
        username: str | None,
        locale: str,
        full_name: str,
        phone: str,
        city: str,
        time_zone: str,
        time_zone_source: str,
        consent_version: str,
        consent_at: datetime,
    ) -> User | None:
        """Insert a learner who consented; None when one with this telegram_id exists (concurrent calls
        included)."""
        result = await self.session.execute(
            insert(User)
            .values(
                telegram_id=telegram_id,
                username=username,
                locale=locale,
                full_name=full_name,
                phone=phone,
                # A Core INSERT passes no ORM validator: the phone's digest is set here, with the phone.
                phone_lookup=installed_key_ring().phone_lookup(phone),
                city=city,
                time_zone=time_zone,
                time_zone_source=time_zone_source,
                consent_personal_data=True,
                consent_version=consent_version,
                consent_at=consent_at,
            )
            .on_conflict_do_nothing(index_elements=[User.telegram_id])
            .returning(User)
        )
        return result.scalar_one_or_none()

    async def by_telegram_id(self, telegram_id: int, *, for_update: bool = False) -> User | None:
        return await self.one_or_none(select(User).where(User.telegram_id == telegram_id), for_update=for_update)

    async def by_id(self, user_id: int, *, for_update: bool = False) -> User | None:
        return await self.session.get(User, user_id, with_for_update=for_update)

    async def by_phone(self, phone: str) -> Sequence[User]:
        """Learners with this E.164 phone, oldest first, found by its keyed digest (`phone_lookup`): the
        encrypted column itself cannot be compared. Usually one; nothing keeps two learners from sharing
        a number."""
        digest = installed_key_ring().phone_lookup(phone)
        stmt = select(User).where(User.phone_lookup == digest).order_by(User.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def without_time_zone(self, *, after_id: int, limit: int) -> Sequence[User]:
        """Learners on the default zone who have a city, by id from `after_id` on, locked for the change."""
        stmt = (
            select(User)
            .where(User.time_zone_source == "default", User.city.is_not(None), User.id > after_id)
            .order_by(User.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def ids_in_city(self, city: str, *, after_id: int, limit: int) -> Sequence[int]:
        """Ids of the registered learners (consented, active) whose city is `city` (case and surrounding
        spaces aside), ascending from after `after_id`, at most `limit`."""
        stmt = (
            select(User.id)
            .where(
                func.lower(func.btrim(User.city)) == city.strip().lower(),
                User.consent_personal_data.is_(True),
                User.is_active.is_(True),
                User.id > after_id,
            )
            .order_by(User.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    def audit(
        self,
        *,
        user_id: int | None,
        actor: str,
        action: str,
        details: dict[str, object],
        reason: str | None = None,
    ) -> None:
        """Add an audit entry (written at the next flush, in the caller's transaction): who (`actor`, as
        `Caller.actor` names it), what (`action`), about whom (`user_id`), why (`reason`: an operator's
        ticket or the gateway's fixed code, AUDIT_REASON_PATTERN) and `details` holding field names, ids,
        codes and counts only. ValueError when a detail or the reason could hold a personal value (a
        space, a `+`, a letter outside ASCII): the audit log keeps no names or phones (issue 10)."""
        _check_details(details)
        if reason is not None and not re.fullmatch(AUDIT_REASON_PATTERN, reason):
            raise ValueError("audit reason is not a reference such as SUP-1234 or a fixed code such as learner_request")
        self.session.add(AuditLog(user_id=user_id, actor=actor, action=action, reason=reason, details=details))
