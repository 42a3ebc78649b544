"""Who a broadcast's segment names, asked of the services that know (issue 12): users knows cities, progress
knows enrolments (a course's, a category's through its course projection) and inactivity. They answer user ids
in pages (keyset on the user id); the gateway keeps the ones it has a chat for (`learners`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from academy_gateway_bot.clients import ServiceClients

PAGE_SIZE = 1000


def segment_user_ids(clients: ServiceClients | None, segment: dict[str, Any]) -> AsyncIterator[list[int]] | None:
    """Pages of the user ids of `segment` (`{"kind", "value"}`, schemas.Segment); None for `everyone` (every
    learner of the gateway's own projection). Iterating raises the clients' errors (ServiceCallError,
    DependencyUnavailableError) when a service cannot answer: the resolution is tried again later.
    ValueError for a kind it does not know, or for a segment of the services without `clients`."""
    kind, value = segment["kind"], segment.get("value")
    if kind == "everyone":
        return None
    if clients is None:
        raise ValueError(f"segment {kind} needs the services' clients")
    if kind == "city":
        return _pages(clients, "users", "/internal/users/ids", {"city": value})
    if kind == "course":
        return _pages(clients, "progress", "/internal/enrolments/learner-ids", {"course_id": value})
    if kind == "category":
        return _pages(clients, "progress", "/internal/enrolments/category-learner-ids", {"category": value})
    if kind == "inactive":
        return _inactive_pages(clients, int(value or 0))
    raise ValueError(f"unknown segment kind {kind!r}")


async def _pages(clients: ServiceClients, service: str, path: str, params: dict[str, Any]) -> AsyncIterator[list[int]]:
    client = clients.users if service == "users" else clients.progress
    after = 0
    while True:
        page = await client.get(path, params={**params, "after_user_id": after, "limit": PAGE_SIZE})
        ids = [int(user_id) for user_id in page["user_ids"]]
        if ids:
            yield ids
        if page.get("next_after_user_id") is None:
            return
        after = int(page["next_after_user_id"])


async def _inactive_pages(clients: ServiceClients, days: int) -> AsyncIterator[list[int]]:
    after = 0
    while True:
        rows = await clients.progress.get(
            "/internal/learners/inactive", params={"days": days, "after_user_id": after, "limit": PAGE_SIZE}
        )
        ids = [int(row["user_id"]) for row in rows]
        if ids:
            yield ids
        if len(ids) < PAGE_SIZE:
            return
        after = ids[-1]
