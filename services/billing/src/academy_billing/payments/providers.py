"""Clients of the payment providers: YooKassa's API v3 and the Telegram Bot API's Stars methods.

YooKassa's official SDK (`yookassa`) is synchronous (requests); calling it from the event loop would
block every other request for the length of a provider call, and running it in a thread pool would
cost a thread per call and its global `Configuration`. So the API is called with httpx asynchronously,
and the SDK is used for what it does best without I/O: parsing notifications (`WebhookNotificationFactory`)
and its list of YooKassa's source networks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from academy_runtime.errors import DependencyUnavailableError, DomainError

log = logging.getLogger(__name__)

_TRANSIENT = {429, 500, 502, 503, 504}


class ProviderError(DomainError):
    """The provider refused a request (4xx): it will not succeed by retrying as it is."""

    status_code = 502
    code = "provider_refused"


class ProviderUnavailableError(DependencyUnavailableError):
    """The provider could not be reached or failed (5xx, time-out): retrying later may succeed."""

    code = "provider_unavailable"


@dataclass
class YooKassaClient:
    """YooKassa API v3 (https://yookassa.ru/developers/api): payments, capture, cancel, refunds.

    Every call that creates or changes something carries an `Idempotence-Key` (≤ 64 characters), so
    a retried call returns the first answer instead of acting twice (YooKassa keeps keys for 24 h).
    """

    http: httpx.AsyncClient

    @classmethod
    def create(cls, base_url: str, shop_id: str, secret_key: str, *, timeout_s: float) -> YooKassaClient:
        return cls(
            httpx.AsyncClient(
                base_url=base_url.rstrip("/") + "/",
                auth=httpx.BasicAuth(shop_id, secret_key),
                timeout=timeout_s,
                headers={"content-type": "application/json"},
            )
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _call(
        self, method: str, path: str, *, body: dict[str, Any] | None = None, idempotence_key: str | None = None
    ) -> dict[str, Any]:
        headers = {"Idempotence-Key": idempotence_key} if idempotence_key else {}
        try:
            response = await self.http.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderUnavailableError(f"YooKassa is unreachable: {type(exc).__name__}") from exc
        if response.status_code in _TRANSIENT:
            raise ProviderUnavailableError(f"YooKassa answered {response.status_code} to {method} {path}")
        try:
            document: dict[str, Any] = response.json()
        except ValueError as exc:
            raise ProviderUnavailableError(f"YooKassa answered {response.status_code} without JSON") from exc
        if not response.is_success:
            raise ProviderError(
                f"YooKassa refused {method} {path}: {document.get('code')}: {document.get('description')}",
                details={"provider_code": document.get("code"), "parameter": document.get("parameter")},
            )
        return document

    async def create_payment(self, body: dict[str, Any], *, idempotence_key: str) -> dict[str, Any]:
        return await self._call("POST", "payments", body=body, idempotence_key=idempotence_key)

    async def get_payment(self, payment_id: str) -> dict[str, Any]:
        return await self._call("GET", f"payments/{quote(payment_id, safe='')}")

    async def capture_payment(self, payment_id: str, *, idempotence_key: str) -> dict[str, Any]:
        path = f"payments/{quote(payment_id, safe='')}/capture"
        return await self._call("POST", path, body={}, idempotence_key=idempotence_key)

    async def create_refund(self, body: dict[str, Any], *, idempotence_key: str) -> dict[str, Any]:
        return await self._call("POST", "refunds", body=body, idempotence_key=idempotence_key)

    async def get_refund(self, refund_id: str) -> dict[str, Any]:
        return await self._call("GET", f"refunds/{quote(refund_id, safe='')}")


class StarsRefundRefusedError(ProviderError):
    """Telegram refused to refund a Stars payment (e.g. the charge id is unknown)."""


@dataclass
class TelegramStarsClient:
    """The Bot API method billing needs for Stars: `refundStarPayment` (https://core.telegram.org/bots/api#refundstarpayment).

    Telegram answers `CHARGE_ALREADY_REFUNDED` to a second refund of one charge; that is success here,
    which makes a retried refund safe.
    """

    http: httpx.AsyncClient
    token: str

    @classmethod
    def create(cls, api_url: str, token: str, *, timeout_s: float = 10.0) -> TelegramStarsClient:
        return cls(
            httpx.AsyncClient(base_url=(api_url or "https://api.telegram.org").rstrip("/"), timeout=timeout_s), token
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def star_transactions(self, *, offset: int, limit: int = 100) -> list[dict[str, Any]]:
        """`getStarTransactions`: the bot's Star transactions in chronological order, `offset` skipped
        (https://core.telegram.org/bots/api#getstartransactions). An incoming payment's `id` is its
        `telegram_payment_charge_id`, and its `source` names the payer and the invoice payload."""
        try:
            response = await self.http.post(
                f"/bot{self.token}/getStarTransactions", json={"offset": offset, "limit": limit}
            )
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailableError(f"the Bot API is unreachable: {type(exc).__name__}") from exc
        if not document.get("ok"):
            raise ProviderUnavailableError(f"getStarTransactions failed: {document.get('description')}")
        transactions: list[dict[str, Any]] = document["result"]["transactions"]
        return transactions

    async def refund_star_payment(self, *, telegram_user_id: int, telegram_payment_charge_id: str) -> None:
        """Give the Stars of one payment back. Raises StarsRefundRefusedError or ProviderUnavailableError."""
        try:
            response = await self.http.post(
                f"/bot{self.token}/refundStarPayment",
                json={"user_id": telegram_user_id, "telegram_payment_charge_id": telegram_payment_charge_id},
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailableError(f"the Bot API is unreachable: {type(exc).__name__}") from exc
        try:
            document = response.json()
        except ValueError as exc:
            raise ProviderUnavailableError(f"the Bot API answered {response.status_code} without JSON") from exc
        if document.get("ok"):
            return
        description = str(document.get("description", ""))
        if "CHARGE_ALREADY_REFUNDED" in description.upper():
            log.info("stars charge was already refunded", extra={"charge_id": telegram_payment_charge_id})
            return
        if response.status_code in _TRANSIENT:
            raise ProviderUnavailableError(f"the Bot API answered {response.status_code}: {description}")
        raise StarsRefundRefusedError(f"Telegram refused the Stars refund: {description}")
