"""In-memory state: payments, refunds, idempotence keys, faults, the notification and call logs.

Payment life cycle (https://yookassa.ru/developers/payment-acceptance/getting-started/payment-process):
``pending`` → the payer confirms → ``succeeded`` (``capture: true``) or ``waiting_for_capture``
(``capture: false``) → capture → ``succeeded``, or cancel → ``canceled``; a payer who gives up leaves
the payment ``canceled`` too. ``succeeded`` and ``canceled`` are final. Refunds are possible from a
``succeeded`` payment up to its amount, in parts.

Everything here is changed by callers that hold :attr:`Emulator.lock` (one asyncio lock). Each state
change hands a notification to :class:`~academy_yookassa_emulator.notifications.Notifier`.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from academy_yookassa_emulator.config import YooKassaEmulatorConfig
from academy_yookassa_emulator.errors import ApiError, invalid_request, not_found
from academy_yookassa_emulator.notifications import Notifier
from academy_yookassa_emulator.validation import Amount, PaymentRequest, RefundRequest, money

JsonDict = dict[str, Any]

PENDING = "pending"
WAITING_FOR_CAPTURE = "waiting_for_capture"
SUCCEEDED = "succeeded"
CANCELED = "canceled"

#: The notification YooKassa sends on entering each payment status (none for ``pending``).
PAYMENT_EVENTS = {
    WAITING_FOR_CAPTURE: "payment.waiting_for_capture",
    SUCCEEDED: "payment.succeeded",
    CANCELED: "payment.canceled",
}
REFUND_SUCCEEDED = "refund.succeeded"

#: The test card every emulated payment is paid with (YooKassa's test MasterCard 5555 5555 5555 4444).
TEST_CARD: JsonDict = {
    "first6": "555555",
    "last4": "4444",
    "expiry_year": "2030",
    "expiry_month": "12",
    "card_type": "MasterCard",
    "issuer_country": "RU",
}


def timestamp(moment: datetime) -> str:
    """YooKassa's timestamps: ISO 8601 in UTC with milliseconds, e.g. ``2019-01-22T14:30:45.129Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now() -> datetime:
    return datetime.now(UTC)


def _object_id(kind: str) -> str:
    """A YooKassa-like id: 8 hex digits of time, a fixed middle, 12 random hex digits.

    Payments look like ``2d8f5a1e-000f-5000-8000-1a2b3c4d5e6f``, refunds like
    ``2d8f5a1e-0015-5000-9000-1a2b3c4d5e6f``.
    """
    middle = "000f-5000-8000" if kind == "payment" else "0015-5000-9000"
    return f"{int(time.time()) & 0xFFFFFFFF:08x}-{middle}-{secrets.token_hex(6)}"


@dataclass
class Payment:
    """One payment; :meth:`to_api` gives YooKassa's payment object."""

    id: str
    amount: Amount
    income: Decimal
    description: str | None
    metadata: dict[str, str]
    capture: bool
    return_url: str
    confirmation_url: str
    receipt: JsonDict | None
    recipient: JsonDict
    idempotence_key: str
    created_at: datetime = field(default_factory=now)
    status: str = PENDING
    captured_at: datetime | None = None
    expires_at: datetime | None = None
    cancellation_details: JsonDict | None = None
    refunded: Decimal = Decimal(0)
    refund_ids: list[str] = field(default_factory=list)
    paid_with_card: bool = False

    @property
    def paid(self) -> bool:
        return self.status in {WAITING_FOR_CAPTURE, SUCCEEDED}

    def to_api(self) -> JsonDict:
        """The payment object of ``GET /v3/payments/{id}`` (https://yookassa.ru/developers/api#payment_object)."""
        currency = self.amount.currency
        body: JsonDict = {
            "id": self.id,
            "status": self.status,
            "paid": self.paid,
            "amount": self.amount.to_api(),
            "income_amount": {"value": money(self.income), "currency": currency},
        }
        if self.description is not None:
            body["description"] = self.description
        body["recipient"] = dict(self.recipient)
        if self.paid_with_card:
            body["payment_method"] = {
                "type": "bank_card",
                "id": self.id,
                "saved": False,
                "status": "inactive",
                "title": f"Bank card *{TEST_CARD['last4']}",
                "card": dict(TEST_CARD),
            }
        if self.captured_at is not None:
            body["captured_at"] = timestamp(self.captured_at)
        body["created_at"] = timestamp(self.created_at)
        if self.expires_at is not None:
            body["expires_at"] = timestamp(self.expires_at)
        if self.status == PENDING:
            body["confirmation"] = {
                "type": "redirect",
                "confirmation_url": self.confirmation_url,
                "return_url": self.return_url,
            }
        body["test"] = True
        body["refunded_amount"] = {"value": money(self.refunded), "currency": currency}
        body["refundable"] = self.status == SUCCEEDED and self.refunded < self.amount.value
        if self.receipt is not None:
            body["receipt_registration"] = SUCCEEDED if self.status == SUCCEEDED else PENDING
        body["metadata"] = dict(self.metadata)
        if self.cancellation_details is not None:
            body["cancellation_details"] = dict(self.cancellation_details)
        if self.paid_with_card:
            body["authorization_details"] = {
                "rrn": f"{int(self.created_at.timestamp()):012d}"[-12:],
                "auth_code": self.id[-6:].upper(),
                "three_d_secure": {"applied": False},
            }
        return body

    def control_view(self) -> JsonDict:
        """The API object plus what only the emulator knows: ``capture``, ``return_url``, ``receipt``..."""
        return {
            **self.to_api(),
            "capture": self.capture,
            "return_url": self.return_url,
            "confirmation_url": self.confirmation_url,
            "receipt": self.receipt,
            "idempotence_key": self.idempotence_key,
            "refund_ids": list(self.refund_ids),
        }


@dataclass
class Refund:
    """One refund; :meth:`to_api` gives YooKassa's refund object."""

    id: str
    payment_id: str
    amount: Amount
    description: str | None
    created_at: datetime = field(default_factory=now)
    status: str = SUCCEEDED

    def to_api(self) -> JsonDict:
        """The refund object (https://yookassa.ru/developers/api#refund_object)."""
        body: JsonDict = {
            "id": self.id,
            "payment_id": self.payment_id,
            "status": self.status,
            "created_at": timestamp(self.created_at),
            "amount": self.amount.to_api(),
        }
        if self.description is not None:
            body["description"] = self.description
        return body


@dataclass
class IdempotentResult:
    """The answer given to the first request with an ``Idempotence-Key`` (and that request's body)."""

    fingerprint: str
    body: JsonDict


@dataclass
class Faults:
    """Faults on demand; each counter is used up by the notifications or API calls it affects.

    - ``repeat_next`` notifications are delivered ``repeat_times`` times each (a duplicate storm);
    - ``reorder_next`` notifications are held, then released in reverse order once that many are held;
    - ``drop_next`` notifications are lost (logged as ``dropped``, never sent);
    - ``delay_next`` notifications are sent ``delay_seconds`` late, after the ones that follow them;
    - ``api_fail_next`` ``/v3`` calls answer ``api_fail_status`` in YooKassa's error shape, before doing
      anything or, with ``api_fail_after``, after doing it (the answer is lost, the effect is not).
    """

    repeat_times: int = 1
    repeat_next: int = 0
    reorder_next: int = 0
    drop_next: int = 0
    delay_next: int = 0
    delay_seconds: float = 0.0
    api_fail_next: int = 0
    api_fail_status: int = 500
    api_fail_after: bool = False

    def view(self, held: int) -> JsonDict:
        return {
            "repeat_times": self.repeat_times,
            "repeat_next": self.repeat_next,
            "reorder_next": self.reorder_next,
            "held": held,
            "drop_next": self.drop_next,
            "delay_next": self.delay_next,
            "delay_seconds": self.delay_seconds,
            "api_fail_next": self.api_fail_next,
            "api_fail_status": self.api_fail_status,
            "api_fail_after": self.api_fail_after,
        }


@dataclass
class CallRecord:
    """One ``/v3`` call: what the shop sent and what it was answered."""

    seq: int
    at: float
    method: str
    path: str
    idempotence_key: str | None
    body: Any
    status: int
    response: JsonDict

    def view(self) -> JsonDict:
        return {
            "seq": self.seq,
            "at": self.at,
            "method": self.method,
            "path": self.path,
            "idempotence_key": self.idempotence_key,
            "body": self.body,
            "status": self.status,
            "response": self.response,
        }


class Emulator:
    """The emulator's whole state; callers hold :attr:`lock` around every read and change."""

    def __init__(self, config: YooKassaEmulatorConfig | None = None) -> None:
        self.config = config or YooKassaEmulatorConfig()
        self.lock = asyncio.Lock()
        self.payments: dict[str, Payment] = {}
        self.refunds: dict[str, Refund] = {}
        self.idempotence: dict[tuple[str, str], IdempotentResult] = {}
        self.faults = Faults()
        self.notification_url = self.config.notification_url
        self.calls: deque[CallRecord] = deque(maxlen=self.config.call_log_limit)
        self.call_seq = 0
        self.notifier = Notifier(self)

    # ----------------------------------------------------------------- housekeeping

    def reset(self, *, full: bool = False) -> None:
        """Forget payments, refunds, keys, faults and logs; ``full`` also restores the configured URL."""
        self.payments.clear()
        self.refunds.clear()
        self.idempotence.clear()
        self.faults = Faults()
        self.calls.clear()
        self.notifier.reset()
        if full:
            self.notification_url = self.config.notification_url

    def record_call(
        self, method: str, path: str, *, key: str | None, body: Any, status: int, response: JsonDict
    ) -> None:
        self.call_seq += 1
        self.calls.append(CallRecord(self.call_seq, time.time(), method, path, key, body, status, response))

    @staticmethod
    def fingerprint(body: Any) -> str:
        return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def take_api_fault(self) -> tuple[int, bool] | None:
        """Use up one forced API failure: ``(status, after)``, or ``None`` when none is armed."""
        faults = self.faults
        if faults.api_fail_next <= 0:
            return None
        faults.api_fail_next -= 1
        return faults.api_fail_status, faults.api_fail_after

    # ----------------------------------------------------------------- lookups

    def payment(self, payment_id: str) -> Payment:
        payment = self.payments.get(payment_id)
        if payment is None:
            raise not_found(f"Payment {payment_id} not found")
        return payment

    def refund(self, refund_id: str) -> Refund:
        refund = self.refunds.get(refund_id)
        if refund is None:
            raise not_found(f"Refund {refund_id} not found")
        return refund

    def _new_id(self, kind: str) -> str:
        while True:
            candidate = _object_id(kind)
            if candidate not in self.payments and candidate not in self.refunds:
                return candidate

    # ----------------------------------------------------------------- the shop's API

    def create_payment(self, request: PaymentRequest, *, key: str, base_url: str) -> Payment:
        """``POST /v3/payments``: a ``pending`` payment with a redirect confirmation to the checkout page."""
        payment_id = self._new_id("payment")
        commission = (request.amount.value * self.config.commission_percent / 100).quantize(Decimal("0.01"))
        payment = Payment(
            id=payment_id,
            amount=request.amount,
            income=request.amount.value - commission,
            description=request.description,
            metadata=request.metadata,
            capture=request.capture,
            return_url=request.return_url,
            confirmation_url=f"{(self.config.public_url or base_url).rstrip('/')}/checkout/{payment_id}",
            receipt=request.receipt,
            recipient={"account_id": self.config.account_id, "gateway_id": self.config.gateway_id},
            idempotence_key=key,
        )
        self.payments[payment_id] = payment
        return payment

    def capture(self, payment: Payment, amount: Amount | None) -> Payment:
        """``POST /v3/payments/{id}/capture``: ``waiting_for_capture`` → ``succeeded`` (all or part of the amount)."""
        if payment.status != WAITING_FOR_CAPTURE:
            raise invalid_request(
                f"Payment {payment.id} is {payment.status}: only a waiting_for_capture payment can be captured"
            )
        if amount is not None:
            if amount.currency != payment.amount.currency:
                raise invalid_request("amount.currency differs from the payment's currency", "amount.currency")
            if amount.value > payment.amount.value:
                raise invalid_request("amount.value exceeds the payment's amount", "amount.value")
            commission = (amount.value * self.config.commission_percent / 100).quantize(Decimal("0.01"))
            payment.amount, payment.income = amount, amount.value - commission
        payment.status = SUCCEEDED
        payment.captured_at = now()
        payment.expires_at = None
        self.notify_payment(payment)
        return payment

    def merchant_cancel(self, payment: Payment) -> Payment:
        """``POST /v3/payments/{id}/cancel``: only a ``waiting_for_capture`` payment (``canceled_by_merchant``)."""
        if payment.status != WAITING_FOR_CAPTURE:
            raise invalid_request(
                f"Payment {payment.id} is {payment.status}: only a waiting_for_capture payment can be canceled"
            )
        return self.cancel(payment, party="merchant", reason="canceled_by_merchant")

    def create_refund(self, request: RefundRequest) -> Refund:
        """``POST /v3/refunds``: from a ``succeeded`` payment, at most what is left of its amount."""
        payment = self.payments.get(request.payment_id)
        if payment is None:
            raise invalid_request(f"Payment {request.payment_id} not found", "payment_id")
        if payment.status != SUCCEEDED:
            raise invalid_request(
                f"Payment {payment.id} is {payment.status}: only a succeeded payment can be refunded", "payment_id"
            )
        if request.amount.currency != payment.amount.currency:
            raise invalid_request("amount.currency differs from the payment's currency", "amount.currency")
        left = payment.amount.value - payment.refunded
        if request.amount.value > left:
            raise invalid_request(
                f"Refund amount {money(request.amount.value)} exceeds what is left to refund ({money(left)})",
                "amount.value",
            )
        refund = Refund(self._new_id("refund"), payment.id, request.amount, request.description)
        self.refunds[refund.id] = refund
        payment.refunded += request.amount.value
        payment.refund_ids.append(refund.id)
        self.notifier.emit(REFUND_SUCCEEDED, refund.to_api())
        return refund

    # ----------------------------------------------------------------- the payer (checkout page, control API)

    def pay(self, payment: Payment) -> Payment:
        """The payer confirms with the test card: ``succeeded`` or ``waiting_for_capture`` (``capture: false``)."""
        self._require_pending(payment)
        payment.paid_with_card = True
        if payment.capture:
            payment.status = SUCCEEDED
            payment.captured_at = now()
        else:
            payment.status = WAITING_FOR_CAPTURE
            payment.expires_at = now() + timedelta(seconds=self.config.capture_window_seconds)
        self.notify_payment(payment)
        return payment

    def payer_cancel(self, payment: Payment, *, party: str, reason: str) -> Payment:
        """The payer gives up or the bank declines: a ``pending`` payment becomes ``canceled``."""
        self._require_pending(payment)
        return self.cancel(payment, party=party, reason=reason)

    def cancel(self, payment: Payment, *, party: str, reason: str) -> Payment:
        payment.status = CANCELED
        payment.expires_at = None
        payment.cancellation_details = {"party": party, "reason": reason}
        self.notify_payment(payment)
        return payment

    @staticmethod
    def _require_pending(payment: Payment) -> None:
        if payment.status != PENDING:
            raise ApiError(409, "invalid_request", f"Payment {payment.id} is already {payment.status}")

    # ----------------------------------------------------------------- notifications

    def notify_payment(self, payment: Payment, *, event: str | None = None, overrides: JsonDict | None = None) -> None:
        """Send the notification for the payment's current status (or ``event``, with ``overrides`` merged in)."""
        name = event or PAYMENT_EVENTS.get(payment.status)
        if name is None:
            raise ApiError(409, "invalid_request", f"YooKassa sends no notification for a {payment.status} payment")
        self.notifier.emit(name, {**payment.to_api(), **(overrides or {})})
