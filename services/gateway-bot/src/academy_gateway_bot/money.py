"""What the bot asks billing about a learner's money: course offers, the wallet and its history.

The gateway never computes a price or a balance itself: billing's offer says what a course costs in
its own currency, in Stars and in coins, and whether the learner's wallet holds enough.
"""

from __future__ import annotations

import logging
from typing import Any

from academy_runtime.client import ServiceCallError
from academy_runtime.errors import DependencyUnavailableError, NotFoundError

from academy_gateway_bot.clients import ServiceClients

log = logging.getLogger(__name__)

HISTORY_PAGE = 5
# Billing's largest page: enough to find the page above a transaction in one call for most wallets.
_HISTORY_SCAN = 100

# Top-ups in roubles (billing checks the same limits: whole roubles, 100..50000).
TOP_UP_MIN_RUB = 100
TOP_UP_MAX_RUB = 50_000
TOP_UP_PRESETS_RUB = (100, 300, 500, 1000)
TOP_UP_PRESETS_STARS = (50, 100, 250, 500)


async def course_offer(clients: ServiceClients, user_id: int, course_id: int) -> dict[str, Any] | None:
    """Billing's offer of a paid course to this learner, or None when billing cannot say (it does not
    know the course yet, or it is down): the card then shows the price without payment buttons."""
    try:
        offer: dict[str, Any] = await clients.billing.get(f"/internal/learners/{user_id}/offers/{course_id}")
    except (NotFoundError, DependencyUnavailableError, ServiceCallError) as exc:
        log.info("no offer for the course card", extra={"course_id": course_id, "error": repr(exc)})
        return None
    if "stars_top_up_enabled" in offer:
        remember_stars_top_up(enabled=bool(offer["stars_top_up_enabled"]))
    return offer


# Whether billing takes Stars for top-ups (an operator's setting), as last heard from billing in this
# process: offers carry it, and a refused Stars top-up says it. Unknown: the button is shown.
_stars_top_up: dict[str, bool] = {}


def remember_stars_top_up(*, enabled: bool) -> None:
    _stars_top_up["enabled"] = enabled


def stars_top_up_enabled() -> bool | None:
    return _stars_top_up.get("enabled")


async def wallet(clients: ServiceClients, user_id: int) -> dict[str, Any]:
    found: dict[str, Any] = await clients.billing.get(f"/internal/wallets/{user_id}")
    return found


async def history_page(clients: ServiceClients, user_id: int, before_id: int | None) -> dict[str, Any]:
    """One page of the wallet's history, newest first (billing's keyset: `before_id`)."""
    params: dict[str, Any] = {"limit": HISTORY_PAGE}
    if before_id:
        params["before_id"] = before_id
    page: dict[str, Any] = await clients.billing.get(f"/internal/wallets/{user_id}/transactions", params=params)
    return page


async def newer_page(clients: ServiceClients, user_id: int, after_id: int) -> dict[str, Any]:
    """The page just above the transaction `after_id` (the newest one the learner was looking at).

    Billing pages backwards only (`before_id`), so the page above is found by walking from the newest
    transaction down to `after_id`; returned in the shape of `history_page` plus `has_newer`.
    """
    newer: list[dict[str, Any]] = []
    before_id: int | None = None
    while True:
        params: dict[str, Any] = {"limit": _HISTORY_SCAN}
        if before_id:
            params["before_id"] = before_id
        page = await clients.billing.get(f"/internal/wallets/{user_id}/transactions", params=params)
        items = page["items"]
        newer += [item for item in items if item["id"] > after_id]
        reached = any(item["id"] <= after_id for item in items)
        before_id = page.get("next_before_id")
        if reached or not before_id:
            break
    if not newer:  # nothing newer: the first page
        first = await history_page(clients, user_id, None)
        return {**first, "has_newer": False}
    shown = newer[-HISTORY_PAGE:]  # newest first: the last ones are the closest to `after_id`
    return {"items": shown, "next_before_id": shown[-1]["id"], "has_newer": len(newer) > len(shown)}


def missing_rub(missing_coins: int) -> int:
    """Roubles to top up for `missing_coins` (one coin a rouble, the billing default), within the limits."""
    return min(TOP_UP_MAX_RUB, max(TOP_UP_MIN_RUB, missing_coins))
