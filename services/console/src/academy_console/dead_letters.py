"""Dead letters (operations): per service, its consumers' purposes with the depth of each dead-letter queue; a
purpose's letters (event, reason, error, attempts, body preview, headers, whether a re-drive would move it);
re-drive them and see what moved — through each service's `/internal/dead-letters` (academy_runtime.dlq_api:
`DeadLetterPurposes`, `DeadLetterList`, `RedriveOut`)."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from academy_runtime.errors import DomainError, ValidationFailedError
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from academy_console import forms
from academy_console.backends import Operator
from academy_console.settings import SERVICES
from academy_console.web import FormDep, redirect, render, requires

router = APIRouter(prefix="/dead-letters")
Operations = Annotated[Operator, requires("operations")]
Service = Annotated[str, Path(pattern=r"^[a-z][a-z-]{1,30}$")]
Purpose = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,100}$")]


def _service(name: str) -> str:
    if name not in SERVICES:
        raise ValidationFailedError(f"no service {name!r}; one of {', '.join(SERVICES)}")
    return name


def _pretty(value: Any) -> str:
    """A message as indented JSON (a body that is JSON text is parsed first), else as it is."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return str(value)
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


@router.get("", response_class=HTMLResponse)
async def overview(request: Request, operator: Operations) -> Response:
    """Every service's purposes and their dead-letter depth (a service that does not answer says so)."""

    async def one(service: str) -> dict[str, Any]:
        try:
            answer = await operator.call(service, "GET", "/internal/dead-letters/purposes")
        except DomainError as exc:
            return {"service": service, "purposes": [], "error": exc.message}
        purposes = answer.get("purposes", answer) if isinstance(answer, dict) else answer
        return {"service": service, "purposes": purposes, "error": None}

    # The six services at once: each asks the broker for its queues' depths.
    services = await asyncio.gather(*(one(service) for service in SERVICES))
    return render(request, "dead_letters/overview.html", services=services)


@router.get("/{service}/{purpose}", response_class=HTMLResponse)
async def messages(
    *,
    request: Request,
    operator: Operations,
    service: Service,
    purpose: Purpose,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    redriven: Annotated[int | None, Query(ge=0, le=10**9)] = None,
    present: Annotated[int | None, Query(ge=0, le=10**9)] = None,
    refused: Annotated[int | None, Query(ge=0, le=10**9)] = None,
) -> Response:
    answer = await operator.call(
        _service(service), "GET", "/internal/dead-letters", params={"purpose": purpose, "limit": limit}
    )
    items = answer.get("messages", []) if isinstance(answer, dict) else answer
    report = None if redriven is None else {"redriven": redriven, "present": present or 0, "refused": refused or 0}
    return render(
        request,
        "dead_letters/messages.html",
        service=service,
        purpose=purpose,
        answer=answer,
        items=items,
        report=report,
        pretty=_pretty,
    )


@router.post("/{service}/{purpose}/redrive")
async def redrive(operator: Operations, form: FormDep, service: Service, purpose: Purpose) -> Response:
    body: dict[str, Any] = {}
    if (limit := forms.integer(form, "limit", "How many", low=1, high=10_000)) is not None:
        body["limit"] = limit
    report = await operator.call(
        _service(service), "POST", f"/internal/dead-letters/{purpose}/redrive", json=body or None
    )
    counts = f"redriven={int(report['redriven'])}&present={int(report['present'])}&refused={len(report['refused'])}"
    return redirect(f"/dead-letters/{service}/{purpose}?{counts}")
