"""An async client for the control API: play the payer, read payments and notifications, arm faults.

>>> async with YooKassaEmulatorClient(base_url) as kassa:                       # doctest: +SKIP
...     payment = await kassa.wait_for_payment(metadata={"payment_id": "12"})
...     await kassa.pay(payment.id)
...     [note] = await kassa.wait_for_notifications(event="payment.succeeded", object_id=payment.id)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import BaseModel, ConfigDict, Field

JsonDict = dict[str, Any]


class EmulatorError(Exception):
    """The control API refused a request (unknown payment, a payment no longer pending...)."""

    def __init__(self, status_code: int, detail: Any) -> None:
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail


class Money(BaseModel):
    """``{"value": "500.00", "currency": "RUB"}``."""

    value: Decimal
    currency: str


class EmulatedPayment(BaseModel):
    """A payment as the control API shows it: YooKassa's object plus what only the emulator knows."""

    model_config = ConfigDict(extra="allow")

    id: str
    status: str
    paid: bool
    amount: Money
    income_amount: Money | None = None
    refunded_amount: Money | None = None
    description: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    created_at: str
    captured_at: str | None = None
    expires_at: str | None = None
    cancellation_details: JsonDict | None = None
    payment_method: JsonDict | None = None
    capture: bool
    return_url: str
    confirmation_url: str
    receipt: JsonDict | None = None
    idempotence_key: str
    refund_ids: list[str] = Field(default_factory=list)

    @property
    def api(self) -> JsonDict:
        """The payment object exactly as ``GET /v3/payments/{id}`` gives it."""
        extras = {"capture", "return_url", "confirmation_url", "receipt", "idempotence_key", "refund_ids"}
        data = self.model_dump(mode="json", exclude_none=True)
        return {key: value for key, value in data.items() if key not in extras}


class Notification(BaseModel):
    """One entry of the delivery log."""

    model_config = ConfigDict(extra="allow")

    seq: int
    id: str
    event: str
    object_id: str
    url: str | None
    body: JsonDict
    #: ``queued``, ``held``, ``delayed``, ``sending``, ``retrying``, ``delivered``, ``failed``, ``dropped``, ``skipped``
    status: str
    response_status: int | None = None
    attempts: int
    attempt_log: list[JsonDict] = Field(default_factory=list)
    created_at: float
    delivered_at: float | None = None
    faults: list[str] = Field(default_factory=list)
    copy_number: int = Field(default=1, alias="copy")


NotificationPredicate = Callable[[Notification], bool]


class YooKassaEmulatorClient:
    """The control API of a YooKassa emulator at ``base_url`` (``http://host:port``, no ``/v3``)."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, http: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/").removesuffix("/v3")
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(base_url=self.base_url, timeout=timeout, trust_env=False)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, f"/_emulator{path}", **kwargs)
        if response.is_error:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise EmulatorError(response.status_code, detail)
        return response.json()

    # ----------------------------------------------------------------- payments

    async def payments(self, *, status: str | None = None) -> list[EmulatedPayment]:
        """Every payment, oldest first (``status`` filters)."""
        params = {"status": status} if status else None
        body = await self._request("GET", "/payments", params=params)
        return [EmulatedPayment.model_validate(item) for item in body["payments"]]

    async def payment(self, payment_id: str) -> EmulatedPayment:
        return EmulatedPayment.model_validate(await self._request("GET", f"/payments/{payment_id}"))

    async def find_payment(self, *, metadata: Mapping[str, str] | None = None, **fields: Any) -> EmulatedPayment | None:
        """The newest payment whose metadata contains ``metadata`` and whose fields equal ``fields``."""
        wanted = dict(metadata or {})
        for payment in reversed(await self.payments()):
            if all(payment.metadata.get(key) == value for key, value in wanted.items()) and all(
                getattr(payment, key, None) == value for key, value in fields.items()
            ):
                return payment
        return None

    async def wait_for_payment(
        self, *, metadata: Mapping[str, str] | None = None, timeout: float = 5.0, **fields: Any
    ) -> EmulatedPayment:
        """Poll until :meth:`find_payment` finds one; ``TimeoutError`` lists what there is."""
        deadline = time.monotonic() + timeout
        while True:
            found = await self.find_payment(metadata=metadata, **fields)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                seen = [(p.id, p.status, p.metadata) for p in await self.payments()]
                raise TimeoutError(f"no payment with metadata {metadata} and {fields} in {timeout}s; there are {seen}")
            await asyncio.sleep(0.05)

    async def pay(self, payment_id: str) -> EmulatedPayment:
        """The payer pays with the test card (the page's Pay button): ``succeeded`` or ``waiting_for_capture``."""
        return EmulatedPayment.model_validate(await self._request("POST", f"/payments/{payment_id}/succeed"))

    async def cancel(
        self, payment_id: str, *, party: str = "yoo_money", reason: str = "expired_on_confirmation"
    ) -> EmulatedPayment:
        """The payer gives up (or the bank declines, ``party="payment_network"``): ``canceled``."""
        body = {"party": party, "reason": reason}
        return EmulatedPayment.model_validate(await self._request("POST", f"/payments/{payment_id}/cancel", json=body))

    async def refunds(self) -> list[JsonDict]:
        return list((await self._request("GET", "/refunds"))["refunds"])

    async def refund(self, refund_id: str) -> JsonDict:
        result: JsonDict = await self._request("GET", f"/refunds/{refund_id}")
        return result

    # ----------------------------------------------------------------- notifications

    async def notify(
        self, payment_id: str, *, event: str | None = None, overrides: JsonDict | None = None
    ) -> list[Notification]:
        """(Re)send the notification of the payment's current status, or ``event`` with ``overrides`` (forged)."""
        body: JsonDict = {"event": event, "object": overrides}
        answer = await self._request("POST", f"/payments/{payment_id}/notify", json=body)
        return [Notification.model_validate(item) for item in answer["notifications"]]

    async def notify_refund(self, refund_id: str) -> list[Notification]:
        answer = await self._request("POST", f"/refunds/{refund_id}/notify", json={})
        return [Notification.model_validate(item) for item in answer["notifications"]]

    async def notifications(
        self, *, event: str | None = None, object_id: str | None = None, status: str | None = None
    ) -> list[Notification]:
        """The delivery log, oldest first, filtered by ``event``, ``object_id`` (payment or refund id), ``status``."""
        params = {k: v for k, v in {"event": event, "object_id": object_id, "status": status}.items() if v}
        body = await self._request("GET", "/notifications", params=params)
        return [Notification.model_validate(item) for item in body["notifications"]]

    async def wait_for_notifications(
        self,
        predicate: NotificationPredicate | None = None,
        *,
        count: int = 1,
        event: str | None = None,
        object_id: str | None = None,
        status: str | None = "delivered",
        timeout: float = 5.0,
    ) -> list[Notification]:
        """Poll until at least ``count`` log entries match (by default: delivered ones); returns them all."""
        deadline = time.monotonic() + timeout
        while True:
            items = await self.notifications(event=event, object_id=object_id, status=status)
            matching = [item for item in items if predicate is None or predicate(item)]
            if len(matching) >= count:
                return matching
            if time.monotonic() > deadline:
                log = [(n.event, n.object_id, n.status, n.attempts) for n in await self.notifications()]
                raise TimeoutError(
                    f"{len(matching)} of {count} notifications (event={event}, object_id={object_id}, "
                    f"status={status}) after {timeout}s; the log: {log}"
                )
            await asyncio.sleep(0.05)

    async def notification_url(self) -> str | None:
        url: str | None = (await self._request("GET", "/notification-url"))["url"]
        return url

    async def set_notification_url(self, url: str | None) -> None:
        await self._request("PUT", "/notification-url", json={"url": url})

    # ----------------------------------------------------------------- faults and the rest

    async def set_faults(
        self,
        *,
        repeat: int = 1,
        repeat_next: int | None = None,
        reorder: int = 0,
        drop: int = 0,
        delay: float = 0.0,
        delay_next: int | None = None,
        api_errors: int = 0,
        api_status: int = 500,
        api_fail_after: bool = False,
    ) -> JsonDict:
        """Arm faults, replacing the armed ones.

        ``repeat=N``: the next notification (``repeat_next`` of them) is delivered N times.
        ``reorder=K``: the next K notifications are held, then delivered newest first.
        ``drop=N``: the next N notifications are lost. ``delay=S``: the next one (``delay_next``) comes S s late.
        ``api_errors=N``: the next N ``/v3`` calls answer ``api_status``; ``api_fail_after`` does the work first.
        """
        body = {
            "repeat_times": repeat,
            "repeat_next": (1 if repeat > 1 else 0) if repeat_next is None else repeat_next,
            "reorder_next": reorder,
            "drop_next": drop,
            "delay_next": (1 if delay > 0 else 0) if delay_next is None else delay_next,
            "delay_seconds": delay,
            "api_fail_next": api_errors,
            "api_fail_status": api_status,
            "api_fail_after": api_fail_after,
        }
        result: JsonDict = await self._request("PUT", "/faults", json=body)
        return result

    async def faults(self) -> JsonDict:
        result: JsonDict = await self._request("GET", "/faults")
        return result

    async def clear_faults(self) -> None:
        await self._request("DELETE", "/faults")

    async def release_held(self) -> int:
        """Deliver the notifications a ``reorder`` fault holds (newest first) before K were collected."""
        released: int = (await self._request("POST", "/faults/release"))["released"]
        return released

    async def calls(self, *, since: int = 0) -> list[JsonDict]:
        """The ``/v3`` calls: method, path, ``idempotence_key``, body, status, response."""
        return list((await self._request("GET", "/calls", params={"since": since}))["calls"])

    async def reset(self, *, full: bool = False) -> None:
        await self._request("POST", "/reset", params={"full": "true"} if full else None)

    async def health(self) -> JsonDict:
        result: JsonDict = await self._request("GET", "/health")
        return result
