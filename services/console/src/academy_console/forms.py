"""Reading HTML form fields into the services' request bodies: empty means "not given", bad numbers are a 422."""

from __future__ import annotations

import secrets
from decimal import Decimal, InvalidOperation

from academy_runtime.errors import ValidationFailedError


def text(form: dict[str, str], name: str) -> str | None:
    """The field stripped, or None when empty or absent."""
    value = form.get(name, "").strip()
    return value or None


def required(form: dict[str, str], name: str, label: str) -> str:
    """The field stripped; ValidationFailedError (422) naming `label` when it is empty."""
    value = text(form, name)
    if value is None:
        raise ValidationFailedError(f"{label} is required")
    return value


def integer(form: dict[str, str], name: str, label: str, *, low: int = 0, high: int = 2**31 - 1) -> int | None:
    """The field as an integer in [low, high], None when empty; ValidationFailedError otherwise."""
    value = text(form, name)
    if value is None:
        return None
    if not value.lstrip("-").isdigit() or len(value) > 20:  # noqa: PLR2004
        raise ValidationFailedError(f"{label} must be a whole number")
    number = int(value)
    if not low <= number <= high:
        raise ValidationFailedError(f"{label} must be between {low} and {high}")
    return number


def decimal(form: dict[str, str], name: str, label: str) -> str | None:
    """The field as a decimal string (a comma taken for the point), None when empty; ValidationFailedError when
    it is not a finite number. Range and places are the service's to check."""
    value = text(form, name)
    if value is None:
        return None
    try:
        number = Decimal(value.replace(",", ".").replace(" ", ""))
    except InvalidOperation:
        raise ValidationFailedError(f"{label} must be a number such as 4900 or 4900.50") from None
    if not number.is_finite():
        raise ValidationFailedError(f"{label} must be a number such as 4900 or 4900.50")
    return str(number)


def checkbox(form: dict[str, str], name: str) -> bool:
    return form.get(name) in {"on", "true", "1"}


def request_key() -> str:
    """A fresh Idempotency-Key for one rendered form: sending it twice (a double click, a reload) acts once."""
    return secrets.token_urlsafe(24)


def idempotency_key(form: dict[str, str]) -> str | None:
    """The form's key (see `request_key`), None when absent or malformed."""
    value = form.get("request_key", "")
    return value if 16 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum() else None  # noqa: PLR2004
