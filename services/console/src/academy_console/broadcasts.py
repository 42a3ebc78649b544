"""Broadcasts (broadcaster): the list with figures, a new one (segment, Russian and English text in Telegram HTML,
optional photo and URL button), preview to oneself, send now or at a time, pause, resume, cancel — through the
gateway-bot's `/internal/broadcasts` (academy_gateway_bot.broadcasts.schemas: CreateBroadcast, BroadcastOut with
its Figures, BroadcastPage, PreviewBroadcast, SendBroadcast)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from academy_runtime.errors import ValidationFailedError
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from academy_console import forms
from academy_console.backends import Operator
from academy_console.web import FormDep, redirect, render, requires

router = APIRouter(prefix="/broadcasts")
Broadcaster = Annotated[Operator, requires("broadcaster")]
BroadcastId = Annotated[int, Path(ge=1, le=2**63 - 1)]

SEGMENTS = (
    ("everyone", "Everyone", ""),
    ("city", "A city", "the city's name, e.g. Москва"),
    ("category", "Learners of a category", "a category slug, e.g. manicure"),
    ("inactive", "Inactive for N days", "days, e.g. 14"),
    ("course", "Learners of a course", "a course id"),
)
ACTIONS = ("preview", "send", "pause", "resume", "cancel")


@router.get("", response_class=HTMLResponse)
async def list_broadcasts(
    request: Request,
    operator: Broadcaster,
    before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    """Newest first, 20 a page (the gateway's keyset pages: `before_id`)."""
    params = {"limit": 20} | ({"before_id": before_id} if before_id else {})
    answer = await operator.call("gateway-bot", "GET", "/internal/broadcasts", params=params)
    return render(
        request, "broadcasts/list.html", broadcasts=answer["items"], next_before_id=answer.get("next_before_id")
    )


@router.get("/new", response_class=HTMLResponse)
async def new_broadcast(request: Request, _: Broadcaster) -> Response:
    return render(request, "broadcasts/new.html", segments=SEGMENTS, request_key=forms.request_key())


def _segment(form: dict[str, str]) -> dict[str, Any]:
    kind = form.get("segment_kind", "")
    if kind not in {k for k, _, _ in SEGMENTS}:
        raise ValidationFailedError("choose a segment")
    if kind == "everyone":
        return {"kind": kind}
    value: Any = forms.required(form, "segment_value", "The segment's value")
    if kind in {"inactive", "course"}:
        value = forms.integer(form, "segment_value", "The segment's value", low=1)
    return {"kind": kind, "value": value}


@router.post("")
async def create_broadcast(operator: Broadcaster, form: FormDep) -> Response:
    body: dict[str, Any] = {
        "text_ru": forms.required(form, "text_ru", "The Russian text"),
        "segment": _segment(form),
    }
    if text_en := forms.text(form, "text_en"):
        body["text_en"] = text_en
    if photo := forms.text(form, "photo"):
        body["photo"] = photo
    if button_url := forms.text(form, "button_url"):
        body["button"] = {
            "url": button_url,
            "text_ru": forms.required(form, "button_text_ru", "The button's Russian label"),
            **({"text_en": label} if (label := forms.text(form, "button_text_en")) else {}),
        }
    created = await operator.call(
        "gateway-bot", "POST", "/internal/broadcasts", json=body, idempotency_key=forms.idempotency_key(form)
    )
    return redirect(f"/broadcasts/{created['id']}", "broadcast-created")


@router.get("/{broadcast_id}", response_class=HTMLResponse)
async def show_broadcast(request: Request, operator: Broadcaster, broadcast_id: BroadcastId) -> Response:
    broadcast = await operator.call("gateway-bot", "GET", f"/internal/broadcasts/{broadcast_id}")
    return render(request, "broadcasts/detail.html", broadcast=broadcast)


def _utc(moment: str) -> str:
    """An HTML `datetime-local` value (`2026-12-01T09:30`), read as UTC, in ISO 8601 with its offset."""
    try:
        parsed = datetime.fromisoformat(moment)
    except ValueError:
        raise ValidationFailedError("Send at: a date and time such as 2026-12-01T09:30") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()


@router.post("/{broadcast_id}/{action}")
async def act(operator: Broadcaster, form: FormDep, broadcast_id: BroadcastId, action: str) -> Response:
    if action not in ACTIONS:
        raise ValidationFailedError(f"action is one of {', '.join(ACTIONS)}")
    body: dict[str, Any] | None = None
    if action == "preview":
        # Without a chat id the gateway previews in the chat configured for the operator (BROADCAST_PREVIEW_CHATS).
        chat_id = forms.integer(form, "chat_id", "Your Telegram id", low=1, high=2**63 - 1)
        body = {"chat_id": chat_id} if chat_id else {}  # the endpoint takes a body, even an empty one
    elif action == "send" and (moment := forms.text(form, "scheduled_at")):
        body = {"scheduled_at": _utc(moment)}
    await operator.call("gateway-bot", "POST", f"/internal/broadcasts/{broadcast_id}/{action}", json=body)
    return redirect(f"/broadcasts/{broadcast_id}", f"broadcast-{action}")
