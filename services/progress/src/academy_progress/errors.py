from __future__ import annotations

from academy_runtime.errors import DomainError


class PaymentRequiredError(DomainError):
    """The learner asked for something that has to be bought first (a paid course)."""

    status_code = 402
    code = "payment_required"
