"""The control API under ``/_emulator``: play the payer, read what happened, arm faults.

Errors are FastAPI's ``{"detail": "..."}`` with a 4xx status, so a test sees a clear reason when it asks
for something that cannot happen (paying a payment that is no longer ``pending``: 409).

Routes:

- ``GET /_emulator/health``: ``{ok, shop_id, notification_url, payments, refunds}``;
- ``GET /_emulator/payments[?status=]``, ``GET /_emulator/payments/{id}``: the API object plus ``capture``,
  ``return_url``, ``confirmation_url``, ``receipt``, ``idempotence_key``, ``refund_ids``;
- ``POST /_emulator/payments/{id}/succeed``: the payer pays with the test card (the page's Pay button);
- ``POST /_emulator/payments/{id}/cancel`` ``{party?, reason?}``: the payer gives up
  (default ``yoo_money`` / ``expired_on_confirmation``);
- ``POST /_emulator/payments/{id}/notify`` ``{event?, object?}``: (re)send the notification of its
  current status, or ``event`` with ``object`` fields merged in (a forged one);
- ``GET /_emulator/refunds``, ``GET /_emulator/refunds/{id}``, ``POST /_emulator/refunds/{id}/notify``;
- ``GET /_emulator/notifications[?event=&object_id=&status=]``: the delivery log;
- ``GET / PUT /_emulator/notification-url`` ``{url}`` (``null`` switches notifications off);
- ``GET / PUT / DELETE /_emulator/faults``, ``POST /_emulator/faults/release``: faults
  (see :class:`~academy_yookassa_emulator.state.Faults`);
- ``GET /_emulator/calls[?since=]``: the log of ``/v3`` calls;
- ``POST /_emulator/reset[?full=true]``: forget everything (``full``: also a notification URL set at run time).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Query
from pydantic import BaseModel, Field

from academy_yookassa_emulator.errors import ApiError
from academy_yookassa_emulator.state import PAYMENT_EVENTS, Emulator, Faults, JsonDict, Payment, Refund


class CancelIn(BaseModel):
    """Who canceled and why (YooKassa's ``cancellation_details``)."""

    party: str = Field(default="yoo_money", pattern="^(yoo_money|payment_network|merchant)$")
    reason: str = "expired_on_confirmation"


class NotifyIn(BaseModel):
    """Which notification to send: ``event`` (default: the one of the current status) and object overrides."""

    event: str | None = Field(default=None, pattern=r"^(payment|refund)\.[a-z_]+$")
    object: JsonDict | None = None


class NotificationUrlIn(BaseModel):
    url: str | None = Field(default=None, pattern=r"^https?://")


class FaultsIn(BaseModel):
    """Faults to arm; ``PUT /_emulator/faults`` replaces all of them (what is left out is off)."""

    repeat_times: int = Field(default=1, ge=1, le=1000)
    repeat_next: int = Field(default=0, ge=0)
    reorder_next: int = Field(default=0, ge=0)
    drop_next: int = Field(default=0, ge=0)
    delay_next: int = Field(default=0, ge=0)
    delay_seconds: float = Field(default=0.0, ge=0, le=3600)
    api_fail_next: int = Field(default=0, ge=0)
    api_fail_status: int = Field(default=500, ge=400, le=599)
    api_fail_after: bool = False


def _http_error(error: ApiError) -> HTTPException:
    return HTTPException(status_code=error.status, detail=error.description)


def build_control_router(emulator: Emulator) -> APIRouter:
    """The ``/_emulator`` routes over ``emulator``'s state."""
    router = APIRouter(prefix="/_emulator", tags=["control"])
    _payment_routes(router, emulator)
    _refund_routes(router, emulator)
    _notification_routes(router, emulator)
    _steering_routes(router, emulator)
    return router


def _payment(emulator: Emulator, payment_id: str) -> Payment:
    try:
        return emulator.payment(payment_id)
    except ApiError as error:
        raise _http_error(error) from None


def _refund(emulator: Emulator, refund_id: str) -> Refund:
    try:
        return emulator.refund(refund_id)
    except ApiError as error:
        raise _http_error(error) from None


def _payment_routes(router: APIRouter, emulator: Emulator) -> None:
    def payment(payment_id: str) -> Payment:
        return _payment(emulator, payment_id)

    @router.get("/health")
    async def health() -> JsonDict:
        async with emulator.lock:
            return {
                "ok": True,
                "shop_id": emulator.config.shop_id,
                "notification_url": emulator.notification_url,
                "payments": len(emulator.payments),
                "refunds": len(emulator.refunds),
            }

    @router.get("/payments")
    async def payments(status: str | None = None) -> JsonDict:
        async with emulator.lock:
            items = [p.control_view() for p in emulator.payments.values() if status is None or p.status == status]
        return {"payments": items}

    @router.get("/payments/{payment_id}")
    async def get_payment(payment_id: str) -> JsonDict:
        async with emulator.lock:
            return payment(payment_id).control_view()

    @router.post("/payments/{payment_id}/succeed")
    async def succeed(payment_id: str) -> JsonDict:
        async with emulator.lock:
            try:
                return emulator.pay(payment(payment_id)).control_view()
            except ApiError as error:
                raise _http_error(error) from None

    @router.post("/payments/{payment_id}/cancel")
    async def cancel(payment_id: str, body: Annotated[CancelIn | None, Body()] = None) -> JsonDict:
        spec = body or CancelIn()
        async with emulator.lock:
            try:
                return emulator.payer_cancel(payment(payment_id), party=spec.party, reason=spec.reason).control_view()
            except ApiError as error:
                raise _http_error(error) from None

    @router.post("/payments/{payment_id}/notify")
    async def notify_payment(payment_id: str, body: Annotated[NotifyIn | None, Body()] = None) -> JsonDict:
        spec = body or NotifyIn()
        async with emulator.lock:
            target = payment(payment_id)
            event = spec.event or _payment_event(target)
            records = emulator.notifier.emit(event, {**target.to_api(), **(spec.object or {})}, manual=True)
            return {"notifications": [record.view() for record in records]}


def _refund_routes(router: APIRouter, emulator: Emulator) -> None:
    def refund(refund_id: str) -> Refund:
        return _refund(emulator, refund_id)

    @router.get("/refunds")
    async def refunds() -> JsonDict:
        async with emulator.lock:
            return {"refunds": [item.to_api() for item in emulator.refunds.values()]}

    @router.get("/refunds/{refund_id}")
    async def get_refund(refund_id: str) -> JsonDict:
        async with emulator.lock:
            return refund(refund_id).to_api()

    @router.post("/refunds/{refund_id}/notify")
    async def notify_refund(refund_id: str, body: Annotated[NotifyIn | None, Body()] = None) -> JsonDict:
        spec = body or NotifyIn()
        async with emulator.lock:
            target = refund(refund_id)
            event = spec.event or "refund.succeeded"
            records = emulator.notifier.emit(event, {**target.to_api(), **(spec.object or {})}, manual=True)
            return {"notifications": [record.view() for record in records]}


def _notification_routes(router: APIRouter, emulator: Emulator) -> None:
    @router.get("/notifications")
    async def notifications(
        event: str | None = None, object_id: str | None = None, status: str | None = None
    ) -> JsonDict:
        async with emulator.lock:
            items = [
                record.view()
                for record in emulator.notifier.log
                if (event is None or record.event == event)
                and (object_id is None or record.object_id == object_id)
                and (status is None or record.status == status)
            ]
        return {"notifications": items}

    @router.get("/notification-url")
    async def get_notification_url() -> JsonDict:
        async with emulator.lock:
            return {"url": emulator.notification_url}

    @router.put("/notification-url")
    async def put_notification_url(body: NotificationUrlIn) -> JsonDict:
        async with emulator.lock:
            emulator.notification_url = body.url
            return {"url": emulator.notification_url}


def _steering_routes(router: APIRouter, emulator: Emulator) -> None:
    def faults_view() -> JsonDict:
        return emulator.faults.view(len(emulator.notifier.held))

    @router.get("/faults")
    async def get_faults() -> JsonDict:
        async with emulator.lock:
            return faults_view()

    @router.put("/faults")
    async def put_faults(body: FaultsIn) -> JsonDict:
        async with emulator.lock:
            emulator.faults = Faults(**body.model_dump())
            if body.reorder_next == 0:
                emulator.notifier.release_held()
            return faults_view()

    @router.delete("/faults")
    async def clear_faults() -> JsonDict:
        async with emulator.lock:
            emulator.faults = Faults()
            emulator.notifier.release_held()
            return faults_view()

    @router.post("/faults/release")
    async def release() -> JsonDict:
        async with emulator.lock:
            emulator.faults.reorder_next = 0
            return {"released": emulator.notifier.release_held()}

    @router.get("/calls")
    async def calls(since: Annotated[int, Query(ge=0)] = 0) -> JsonDict:
        async with emulator.lock:
            return {"calls": [call.view() for call in emulator.calls if call.seq > since]}

    @router.post("/reset")
    async def reset(full: bool = False) -> JsonDict:
        async with emulator.lock:
            emulator.reset(full=full)
            return {"ok": True, "notification_url": emulator.notification_url}


def _payment_event(payment: Payment) -> str:
    event = PAYMENT_EVENTS.get(payment.status)
    if event is None:
        raise HTTPException(
            status_code=409,
            detail=f"YooKassa sends no notification for a {payment.status} payment; pass an event to forge one",
        )
    return event


__all__ = ["FaultsIn", "build_control_router"]
