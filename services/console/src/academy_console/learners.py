"""Learners (support, finance): find one by user id, Telegram id or phone (the users service's lookups), their
profile, courses and progress (progress), wallet and payments (billing).

Every read of personal data goes through the users service, which writes it to its audit log with the
operator (`operator:<name>`, from the token the console signs) and the reason they give (`X-Audit-Reason`, a
ticket such as SUP-1234): the console asks for the reason with each search and carries it to the profile.
The phone travels in a POSTed form and the users service's request body, never in a URL.
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

from academy_runtime.errors import DomainError, ValidationFailedError
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from academy_console import forms
from academy_console.backends import Operator
from academy_console.web import FormDep, redirect, render, requires

router = APIRouter(prefix="/learners")
Support = Annotated[Operator, requires("support", "finance")]
REASON = r"^[A-Z]{2,10}-[0-9]{1,8}$"
"""The users service's audit reason for an operator's read: a ticket id (academy_users.models.AUDIT_REASON_PATTERN)."""
Reason = Annotated[str, Query(pattern=REASON, max_length=64, description="The ticket of the read (X-Audit-Reason).")]
UserId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _reason(form: dict[str, str]) -> str:
    reason = forms.required(form, "reason", "The reason (a ticket such as SUP-1234)").upper()
    if not re.fullmatch(REASON, reason):
        raise ValidationFailedError("The reason is a ticket such as SUP-1234 (it goes into the audit log)")
    return reason


@router.get("", response_class=HTMLResponse)
async def search_form(request: Request, _: Support) -> Response:
    return render(request, "learners/search.html", found=None)


@router.post("/search", response_class=HTMLResponse)
async def search(request: Request, operator: Support, form: FormDep) -> Response:
    reason = _reason(form)
    kind = form.get("kind", "user_id")
    query = forms.required(form, "query", "What to search for")
    headers = {"X-Audit-Reason": reason}
    if kind == "user_id":
        user_id = forms.integer(form, "query", "The user id", low=1, high=2**63 - 1)
        return redirect(f"/learners/{user_id}?reason={reason}")
    if kind == "telegram_id":
        telegram_id = forms.integer(form, "query", "The Telegram id", low=1, high=2**63 - 1)
        learner = await operator.call("users", "GET", f"/internal/users/by-telegram/{telegram_id}", headers=headers)
        return redirect(f"/learners/{learner['id']}?reason={reason}")
    if kind == "phone":
        found = await operator.call(
            "users", "POST", "/internal/users/lookup-by-phone", json={"phone": query}, headers=headers
        )
        learners = found["learners"]
        if len(learners) == 1:
            return redirect(f"/learners/{learners[0]['id']}?reason={reason}")
        return render(request, "learners/search.html", found=learners, reason=reason)
    raise ValidationFailedError("search by user_id, telegram_id or phone")


async def _optional(operator: Operator, service: str, path: str, **kwargs: Any) -> Any:
    """A section of the profile from another service: its answer, or the readable reason it is missing
    (a role that service does not admit, the service unavailable)."""
    try:
        return await operator.call(service, "GET", path, **kwargs)
    except DomainError as exc:
        return {"error": exc.message}


@router.get("/{user_id}", response_class=HTMLResponse)
async def profile(request: Request, operator: Support, user_id: UserId, reason: Reason) -> Response:
    learner = await operator.call("users", "GET", f"/internal/users/{user_id}", headers={"X-Audit-Reason": reason})
    # The other services' sections at once: the page waits for the slowest, not for their sum.
    courses, wallet, payments = await asyncio.gather(
        _optional(operator, "progress", f"/internal/learners/{user_id}/courses"),
        _optional(operator, "billing", f"/internal/wallets/{user_id}"),
        _optional(operator, "billing", f"/internal/learners/{user_id}/payments"),
    )
    return render(
        request,
        "learners/profile.html",
        learner=learner,
        courses=courses,
        wallet=wallet,
        payments=payments,
        reason=reason,
    )
