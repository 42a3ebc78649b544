"""«Мои данные»: what the platform holds about a learner, gathered for them as one JSON document.

The learner's right to know what is processed about them (152-ФЗ art. 14). The users service answers
for the profile, the avatars and the audit of the learner's data (`GET .../personal-data`; it records the
export). The other services are asked through the endpoints the gateway already reads: progress (courses
with their lessons, reminder settings), gamification (points, achievements), billing (wallet, its
transactions, purchases, payments). The gateway adds its own: the chat it reaches the learner in, its
language and time zone, and the notifications it sent (their texts).

A service that does not answer leaves its section marked `"unavailable": true` and is named in
`PersonalDataExport.unavailable`; the learner is told to try again for the full file. Users not answering
fails the export (`DependencyUnavailableError`): without the profile there is nothing to give.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from academy_runtime.client import ServiceCallError, ServiceClient
from academy_runtime.errors import DependencyUnavailableError, NotFoundError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from academy_gateway_bot.clients import ServiceClients
from academy_gateway_bot.context import LearnerCtx
from academy_gateway_bot.models import Learner, NotificationLog

EXPORT_FILENAME = "beauty-academy-my-data.json"
FORMAT_VERSION = 1
# Pages of billing's keyset listings read for the export (100 items a page): a wallet with more than
# 5 000 transactions is cut, and the file says so.
_PAGE_SIZE = 100
_MAX_PAGES = 50


@dataclass
class PersonalDataExport:
    """The export: `document` (JSON-ready), the services that did not answer, and a few counts for the
    chat's summary."""

    document: dict[str, Any]
    unavailable: list[str] = field(default_factory=list)

    def as_json(self) -> bytes:
        """The document as indented UTF-8 JSON (Cyrillic kept readable)."""
        return json.dumps(self.document, ensure_ascii=False, indent=2, default=_json_value).encode()

    def count(self, *path: str) -> int:
        """The length of the list at `path` in the document (0 when a service did not answer)."""
        node: Any = self.document
        for step in path:
            node = node.get(step) if isinstance(node, dict) else None
        return len(node) if isinstance(node, list) else 0

    def value(self, *path: str) -> Any:
        """The value at `path` in the document, None when missing."""
        node: Any = self.document
        for step in path:
            node = node.get(step) if isinstance(node, dict) else None
        return node


def _json_value(value: object) -> str:
    """Moments and dates as ISO 8601 (`2026-11-30T13:06:37+00:00`), as the services write theirs; anything
    else as its text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


async def collect_personal_data(
    sessionmaker: async_sessionmaker[AsyncSession], clients: ServiceClients, learner: LearnerCtx
) -> PersonalDataExport:
    """Everything the platform holds about `learner`, from every service the gateway reads, and its own."""
    user_id = learner.user_id
    export = PersonalDataExport(
        document={
            "format_version": FORMAT_VERSION,
            "exported_at": datetime.now(UTC).isoformat(),
            "user_id": user_id,
            "users": await clients.users.personal_data(user_id),
        }
    )
    sections: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
        "progress": lambda: _progress(clients.progress, user_id),
        "gamification": lambda: _gamification(clients.gamification, user_id),
        "billing": lambda: _billing(clients.billing, user_id),
    }
    for name, read in sections.items():
        try:
            export.document[name] = await read()
        except (DependencyUnavailableError, ServiceCallError):
            export.document[name] = {"unavailable": True}
            export.unavailable.append(name)
    async with sessionmaker() as session:
        export.document["gateway_bot"] = await _gateway(session, user_id)
    return export


async def _optional(client: ServiceClient, path: str, **kwargs: Any) -> Any:
    """The answer, or None for a 404 (nothing held yet: no wallet, no points)."""
    try:
        return await client.get(path, **kwargs)
    except NotFoundError:
        return None


async def _progress(progress: ServiceClient, user_id: int) -> dict[str, Any]:
    base = f"/internal/learners/{user_id}"
    courses: list[dict[str, Any]] = await _optional(progress, f"{base}/courses") or []
    lessons = {}
    for course in courses:
        view = await _optional(progress, f"{base}/courses/{course['course_id']}")
        if view is not None:
            lessons[str(course["course_id"])] = view.get("lessons", [])
    return {
        "enrolments": courses,
        "lessons_by_course": lessons,
        "preferences": await _optional(progress, f"{base}/preferences"),
        # The transcripts issued and their PDFs (object keys, sizes, dates).
        "transcripts": await _optional(progress, f"{base}/transcripts"),
    }


async def _gamification(gamification: ServiceClient, user_id: int) -> dict[str, Any]:
    base = f"/internal/learners/{user_id}"
    achievements = await _optional(gamification, f"{base}/achievements")
    return {
        "points": await _optional(gamification, f"{base}/points"),
        "achievements": (achievements or {}).get("items", []),
    }


async def _billing(billing: ServiceClient, user_id: int) -> dict[str, Any]:
    transactions, transactions_cut = await _all_pages(billing, f"/internal/wallets/{user_id}/transactions")
    payments, payments_cut = await _all_pages(billing, f"/internal/learners/{user_id}/payments")
    section: dict[str, Any] = {
        "wallet": await _optional(billing, f"/internal/wallets/{user_id}"),
        "transactions": transactions,
        "purchases": await _optional(billing, f"/internal/learners/{user_id}/purchases") or [],
        "payments": payments,
    }
    if transactions_cut or payments_cut:
        section["truncated"] = True
    return section


async def _all_pages(billing: ServiceClient, path: str) -> tuple[list[dict[str, Any]], bool]:
    """Every item of a billing keyset listing (`items`, `next_before_id`), newest first; True when cut."""
    items: list[dict[str, Any]] = []
    before_id: int | None = None
    for _page in range(_MAX_PAGES):
        params: dict[str, Any] = {"limit": _PAGE_SIZE}
        if before_id is not None:
            params["before_id"] = before_id
        page = await _optional(billing, path, params=params)
        if page is None:
            return items, False
        items.extend(page.get("items", []))
        before_id = page.get("next_before_id")
        if before_id is None:
            return items, False
    return items, True


async def _gateway(session: AsyncSession, user_id: int) -> dict[str, Any]:
    """What the gateway itself holds: the chat it reaches the learner in and what it told them."""
    learner = await session.scalar(select(Learner).where(Learner.user_id == user_id))
    sent = await session.scalars(
        select(NotificationLog).where(NotificationLog.user_id == user_id).order_by(NotificationLog.id)
    )
    return {
        "chat": None
        if learner is None
        else {
            "telegram_id": learner.telegram_id,
            "locale": learner.locale,
            "time_zone": learner.time_zone,
            "notifications_enabled": learner.notifications_enabled,
            "blocked_at": learner.blocked_at,
        },
        "notifications": [
            # `queued_at`: when the event that brought it was handled; `sent_at`: null until it was sent.
            {
                "kind": row.kind,
                "text": row.text,
                "status": row.status,
                "queued_at": row.created_at,
                "sent_at": row.sent_at,
            }
            for row in sent
        ],
    }
