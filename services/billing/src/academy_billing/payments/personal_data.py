"""What billing keeps of a payment provider's word: amounts, dates, states and the provider's ids, not the payer.

A verified notification is kept in `provider_events.payload` (the record that a credit traces to one
provider event). Billing needs of it what makes it a financial record — the provider's payment id,
status, amounts, capture and creation times, the receipt's registration status, the cancellation reason,
the authorisation's RRN (what the acquirer's registers name a card payment by), our own metadata
(`payment_id`, `purpose`) — and nothing about the person who paid: YooKassa's payment object also
describes the card (first six and last four digits, expiry, issuer), a wallet or a phone for some
methods, and a title such as «Bank card *4444». Those are not kept (`yookassa_record`, a whitelist: a
field YooKassa adds later is not kept either). The phone billing sends with a receipt is not in the
payment object and is never stored (`service._receipt_phone`).

Telegram's `successful_payment` is kept as the gateway passed it on, with the payer's Telegram id:
`refundStarPayment` needs it, so it stays while the payment may still be refunded by billing, and goes
when the learner is erased (`without_payer`), unless a refund of theirs is still pending (then the
reconciliation's sweep removes it once the refund is done).
"""

from __future__ import annotations

from typing import Any

_YOOKASSA_FIELDS = (
    "id",
    "status",
    "paid",
    "amount",
    "income_amount",
    "captured_at",
    "created_at",
    "expires_at",
    "test",
    "refunded_amount",
    "refundable",
    "receipt_registration",
    "cancellation_details",
)
_YOOKASSA_NESTED: dict[str, tuple[str, ...]] = {
    "payment_method": ("type", "id"),
    "authorization_details": ("rrn",),
    "metadata": ("payment_id", "purpose"),
}
_STARS_FIELDS = (
    "payload",
    "user_id",
    "currency",
    "total_amount",
    "telegram_payment_charge_id",
    "provider_payment_charge_id",
)
PAYER_FIELD = "telegram_user_id"
"""The Telegram id of a Stars payer, which Telegram's refund needs (`repository.stars_payer`)."""


def yookassa_record(document: dict[str, Any]) -> dict[str, Any]:
    """The part of a YooKassa payment object billing keeps (see the module's docstring)."""
    kept = {name: document[name] for name in _YOOKASSA_FIELDS if name in document}
    for name, fields in _YOOKASSA_NESTED.items():
        nested = document.get(name)
        if isinstance(nested, dict):
            kept[name] = {field: nested[field] for field in fields if field in nested}
    return kept


def stars_record(payment: dict[str, Any]) -> dict[str, Any]:
    """The part of a `successful_payment` billing keeps: the charge, the amount, the invoice, the payer's
    Telegram id (for a refund) and nothing else Telegram may add (an order's name, phone, e-mail...)."""
    return {name: payment[name] for name in (*_STARS_FIELDS, PAYER_FIELD) if name in payment}


def provider_record(provider: str, payload: dict[str, Any]) -> dict[str, Any]:
    """What `provider_events.payload` stores of a verified provider event."""
    return yookassa_record(payload) if provider == "yookassa" else stars_record(payload)


def without_payer(provider: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The record of an erased learner's payment: `provider_record` without the payer's Telegram id (and
    without our copy of the learner id, which the payment row keeps)."""
    kept = provider_record(provider, payload)
    kept.pop(PAYER_FIELD, None)
    kept.pop("user_id", None)
    return kept
