"""Payments and refunds, and the reconciliation report (billing's operator endpoints): support and finance read a
payment, finance refunds it (with a reason, once per form: the form's Idempotency-Key) and reads the report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from academy_console import forms
from academy_console.backends import Operator
from academy_console.web import FormDep, redirect, render, requires

router = APIRouter()
Reader = Annotated[Operator, requires("finance", "support")]
Finance = Annotated[Operator, requires("finance")]
PaymentId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/payments", response_class=HTMLResponse)
async def payments(request: Request, _: Reader) -> Response:
    return render(request, "money/payments.html")


@router.get("/payments/open")
async def open_payment(_: Reader, payment_id: Annotated[int, Query(ge=1, le=2**63 - 1)]) -> Response:
    return redirect(f"/payments/{payment_id}")


@router.get("/payments/{payment_id}", response_class=HTMLResponse)
async def payment(request: Request, operator: Reader, payment_id: PaymentId) -> Response:
    found: dict[str, Any] = await operator.call("billing", "GET", f"/internal/payments/{payment_id}")
    refunds = await operator.call("billing", "GET", f"/internal/payments/{payment_id}/refunds")
    return render(request, "money/payment.html", payment=found, refunds=refunds, request_key=forms.request_key())


@router.post("/payments/{payment_id}/refund")
async def refund(operator: Finance, form: FormDep, payment_id: PaymentId) -> Response:
    body: dict[str, Any] = {"reason": forms.required(form, "reason", "The refund's reason")}
    if (amount := forms.decimal(form, "amount", "The amount")) is not None:
        body["amount"] = amount
    await operator.call(
        "billing",
        "POST",
        f"/internal/payments/{payment_id}/refunds",
        json=body,
        idempotency_key=forms.idempotency_key(form) or forms.request_key(),
    )
    return redirect(f"/payments/{payment_id}", "refund-requested")


@router.get("/reconciliation", response_class=HTMLResponse)
async def reconciliation(request: Request, operator: Finance) -> Response:
    report = await operator.call("billing", "GET", "/internal/reconciliation")
    return render(request, "money/reconciliation.html", report=report)
