"""Request validation for ``POST /v3/payments``, ``/capture`` and ``/refunds``, with YooKassa's limits.

Sources of the rules (https://yookassa.ru/developers/api):
- ``amount``: ``{"value": "500.00", "currency": "RUB"}``; value a decimal string (a JSON number is
  accepted too) with at most 2 fractional digits, more than zero; currency an ISO-4217 code.
- ``confirmation``: the emulator serves ``redirect`` only (``return_url`` required, ≤ 2048 characters).
- ``capture``: boolean, default ``false`` (two-stage payment), as in YooKassa.
- ``description``: ≤ 128 characters (refund: ≤ 250).
- ``metadata``: ≤ 16 keys, key ≤ 32 characters, value a string ≤ 512 characters.
- ``receipt`` (54-ФЗ): ``customer`` with ``email`` or ``phone`` (ITU-T E.164, e.g. ``79000000000``);
  ``items`` 1..100, each ``description`` ≤ 128, ``quantity`` > 0 (≤ 3 fractional digits), ``amount`` per
  unit, ``vat_code`` 1..12, optional ``payment_mode`` / ``payment_subject`` from YooKassa's lists; the
  items must add up to the payment's amount in its currency.
- ``Idempotence-Key``: required on every POST, at most 64 characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from academy_yookassa_emulator.errors import ApiError, invalid_request

JsonDict = dict[str, Any]

CURRENCIES = frozenset({"RUB", "USD", "EUR", "BYN", "CNY", "KZT", "UAH", "UZS", "TRY", "INR", "MDL", "AZN", "AMD"})
MAX_IDEMPOTENCE_KEY = 64
MAX_DESCRIPTION = 128
MAX_REFUND_DESCRIPTION = 250
MAX_METADATA_KEYS = 16
MAX_METADATA_KEY = 32
MAX_METADATA_VALUE = 512
MAX_URL = 2048
MAX_ITEMS = 100
VAT_CODES = range(1, 13)
PAYMENT_MODES = frozenset(
    {
        "full_prepayment",
        "partial_prepayment",
        "advance",
        "full_payment",
        "partial_payment",
        "credit",
        "credit_payment",
    }
)
PAYMENT_SUBJECTS = frozenset(
    {
        "commodity",
        "excise",
        "job",
        "service",
        "gambling_bet",
        "gambling_prize",
        "lottery",
        "lottery_prize",
        "intellectual_activity",
        "payment",
        "agent_commission",
        "property_right",
        "non_operating_gain",
        "insurance_premium",
        "sales_tax",
        "resort_fee",
        "composite",
        "another",
        "fine",
        "tax",
        "lien",
        "cost",
        "pension_insurance_without_payouts",
        "pension_insurance_with_payouts",
        "health_insurance_without_payouts",
        "health_insurance_with_payouts",
        "health_insurance",
        "casino",
        "agent_withdrawals",
        "non_marked_excise",
        "marked_excise",
        "marked",
        "non_marked",
    }
)
_AMOUNT = re.compile(r"^\d{1,12}(\.\d{1,2})?$")
_QUANTITY = re.compile(r"^\d{1,9}(\.\d{1,3})?$")
_PHONE = re.compile(r"^\+?\d{7,15}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CENTS = Decimal("0.01")


def money(value: Decimal) -> str:
    """YooKassa's amount string: two fractional digits, e.g. ``"500.00"``."""
    return f"{value.quantize(_CENTS):.2f}"


@dataclass(frozen=True)
class Amount:
    """``{"value": "500.00", "currency": "RUB"}`` as a Decimal and a currency code."""

    value: Decimal
    currency: str

    def to_api(self) -> JsonDict:
        return {"value": money(self.value), "currency": self.currency}


@dataclass
class PaymentRequest:
    """A validated ``POST /v3/payments`` body."""

    amount: Amount
    return_url: str
    capture: bool
    description: str | None
    metadata: dict[str, str]
    receipt: JsonDict | None
    raw: JsonDict = field(default_factory=dict)


@dataclass
class RefundRequest:
    """A validated ``POST /v3/refunds`` body."""

    payment_id: str
    amount: Amount
    description: str | None


def idempotence_key(value: str | None) -> str:
    """The ``Idempotence-Key`` header: required, 1..64 characters."""
    if not value:
        raise invalid_request("Idempotence-Key header is missing", "Idempotence-Key")
    if len(value) > MAX_IDEMPOTENCE_KEY:
        raise invalid_request(
            f"Idempotence-Key is too long: at most {MAX_IDEMPOTENCE_KEY} characters", "Idempotence-Key"
        )
    return value


def _object(value: Any, parameter: str) -> JsonDict:
    if not isinstance(value, dict):
        raise invalid_request(f"{parameter} must be an object", parameter)
    return value


def _string(value: Any, parameter: str, *, max_length: int, required: bool = True) -> str | None:
    if value is None:
        if required:
            raise invalid_request(f"{parameter} is missing", parameter)
        return None
    if not isinstance(value, str):
        raise invalid_request(f"{parameter} must be a string", parameter)
    if required and not value.strip():
        raise invalid_request(f"{parameter} is empty", parameter)
    if len(value) > max_length:
        raise invalid_request(f"{parameter} is too long: at most {max_length} characters", parameter)
    return value


def _decimal(value: Any, parameter: str, pattern: re.Pattern[str]) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid_request(f"{parameter} must be a decimal string", parameter)
    text = str(value)
    if not pattern.match(text):
        raise invalid_request(f"{parameter} has an invalid value: {text!r}", parameter)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise invalid_request(f"{parameter} has an invalid value: {text!r}", parameter) from None
    if number <= 0:
        raise invalid_request(f"{parameter} must be greater than zero", parameter)
    return number


def parse_amount(value: Any, parameter: str = "amount") -> Amount:
    """``{"value", "currency"}``: value > 0 with ≤ 2 fractional digits, a currency YooKassa accepts."""
    if value is None:
        raise invalid_request(f"{parameter} is missing", parameter)
    data = _object(value, parameter)
    number = _decimal(data.get("value"), f"{parameter}.value", _AMOUNT)
    currency = data.get("currency")
    if currency is None:
        raise invalid_request(f"{parameter}.currency is missing", f"{parameter}.currency")
    if not isinstance(currency, str) or currency not in CURRENCIES:
        raise invalid_request(f"{parameter}.currency is not supported: {currency!r}", f"{parameter}.currency")
    return Amount(number, currency)


def parse_metadata(value: Any) -> dict[str, str]:
    """At most 16 keys (≤ 32 characters each), string values of at most 512 characters."""
    if value is None:
        return {}
    data = _object(value, "metadata")
    if len(data) > MAX_METADATA_KEYS:
        raise invalid_request(f"metadata has more than {MAX_METADATA_KEYS} keys", "metadata")
    result: dict[str, str] = {}
    for key, item in data.items():
        if len(key) > MAX_METADATA_KEY:
            raise invalid_request(f"metadata key {key!r} is longer than {MAX_METADATA_KEY} characters", "metadata")
        if not isinstance(item, str):
            raise invalid_request(f"metadata.{key} must be a string", f"metadata.{key}")
        if len(item) > MAX_METADATA_VALUE:
            raise invalid_request(f"metadata.{key} is longer than {MAX_METADATA_VALUE} characters", f"metadata.{key}")
        result[key] = item
    return result


def _url(value: Any, parameter: str) -> str:
    url = _string(value, parameter, max_length=MAX_URL)
    assert url is not None
    if not url.startswith(("http://", "https://")):
        raise invalid_request(f"{parameter} must be an http(s) URL", parameter)
    return url


def _customer(receipt: JsonDict) -> JsonDict:
    customer = _object(receipt.get("customer") or {}, "receipt.customer")
    phone, email = customer.get("phone"), customer.get("email")
    if phone is None and email is None:
        raise invalid_request(
            "Receipt is missing or illegal: customer contact (receipt.customer.phone or email) is required",
            "receipt.customer",
        )
    if phone is not None and (not isinstance(phone, str) or not _PHONE.match(phone)):
        raise invalid_request("receipt.customer.phone must be in ITU-T E.164 format", "receipt.customer.phone")
    if email is not None and (not isinstance(email, str) or not _EMAIL.match(email)):
        raise invalid_request("receipt.customer.email is not an email address", "receipt.customer.email")
    for name in ("full_name", "inn"):
        _string(customer.get(name), f"receipt.customer.{name}", max_length=256, required=False)
    return customer


def _item(index: int, value: Any, currency: str) -> tuple[JsonDict, Decimal]:
    where = f"receipt.items[{index}]"
    item = _object(value, where)
    _string(item.get("description"), f"{where}.description", max_length=MAX_DESCRIPTION)
    quantity = _decimal(item.get("quantity"), f"{where}.quantity", _QUANTITY)
    price = parse_amount(item.get("amount"), f"{where}.amount")
    if price.currency != currency:
        raise invalid_request(f"{where}.amount.currency differs from the payment's currency", f"{where}.amount")
    vat_code = item.get("vat_code")
    if isinstance(vat_code, bool) or not isinstance(vat_code, int) or vat_code not in VAT_CODES:
        raise invalid_request(f"{where}.vat_code must be an integer 1..12", f"{where}.vat_code")
    mode, subject = item.get("payment_mode"), item.get("payment_subject")
    if mode is not None and mode not in PAYMENT_MODES:
        raise invalid_request(f"{where}.payment_mode has an invalid value: {mode!r}", f"{where}.payment_mode")
    if subject is not None and subject not in PAYMENT_SUBJECTS:
        raise invalid_request(f"{where}.payment_subject has an invalid value: {subject!r}", f"{where}.payment_subject")
    return item, quantity * price.value


def parse_receipt(value: Any, amount: Amount) -> JsonDict | None:
    """A 54-ФЗ receipt: a customer contact and items that add up to ``amount``."""
    if value is None:
        return None
    receipt = _object(value, "receipt")
    _customer(receipt)
    items = receipt.get("items")
    if not isinstance(items, list) or not items:
        raise invalid_request("receipt.items is missing or empty", "receipt.items")
    if len(items) > MAX_ITEMS:
        raise invalid_request(f"receipt.items has more than {MAX_ITEMS} items", "receipt.items")
    total = Decimal(0)
    for index, item in enumerate(items):
        _, cost = _item(index, item, amount.currency)
        total += cost
    if total.quantize(_CENTS) != amount.value.quantize(_CENTS):
        raise invalid_request(
            f"Receipt items add up to {money(total)}, the payment amount is {money(amount.value)}", "receipt.items"
        )
    tax_system = receipt.get("tax_system_code")
    if tax_system is not None and (isinstance(tax_system, bool) or tax_system not in range(1, 7)):
        raise invalid_request("receipt.tax_system_code must be an integer 1..6", "receipt.tax_system_code")
    return receipt


def parse_payment(body: Any) -> PaymentRequest:
    """Validate a ``POST /v3/payments`` body (fields the emulator does not model are ignored)."""
    data = _object(body, "body")
    amount = parse_amount(data.get("amount"))
    confirmation = data.get("confirmation")
    if confirmation is None:
        raise invalid_request("confirmation is missing: the emulator serves redirect payments", "confirmation")
    confirmation = _object(confirmation, "confirmation")
    if confirmation.get("type") != "redirect":
        raise invalid_request(
            f"confirmation.type {confirmation.get('type')!r} is not supported: use redirect", "confirmation.type"
        )
    return_url = _url(confirmation.get("return_url"), "confirmation.return_url")
    capture = data.get("capture", False)
    if not isinstance(capture, bool):
        raise invalid_request("capture must be a boolean", "capture")
    description = _string(data.get("description"), "description", max_length=MAX_DESCRIPTION, required=False)
    metadata = parse_metadata(data.get("metadata"))
    receipt = parse_receipt(data.get("receipt"), amount)
    return PaymentRequest(amount, return_url, capture, description, metadata, receipt, data)


def parse_refund(body: Any) -> RefundRequest:
    """Validate a ``POST /v3/refunds`` body: ``payment_id``, ``amount``, optional ``description``."""
    data = _object(body, "body")
    payment_id = _string(data.get("payment_id"), "payment_id", max_length=64)
    assert payment_id is not None
    amount = parse_amount(data.get("amount"))
    description = _string(data.get("description"), "description", max_length=MAX_REFUND_DESCRIPTION, required=False)
    return RefundRequest(payment_id, amount, description)


def parse_capture(body: Any) -> Amount | None:
    """``POST /v3/payments/{id}/capture`` body: optional ``amount`` (a partial capture)."""
    if body is None:
        return None
    data = _object(body, "body")
    return None if data.get("amount") is None else parse_amount(data["amount"])


__all__ = [
    "Amount",
    "ApiError",
    "PaymentRequest",
    "RefundRequest",
    "idempotence_key",
    "money",
    "parse_amount",
    "parse_capture",
    "parse_metadata",
    "parse_payment",
    "parse_receipt",
    "parse_refund",
]
