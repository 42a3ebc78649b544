"""The operators' broadcast API (issue 12): `/internal/broadcasts`, for operators with the role `broadcaster`
(the console calls it with their token). See `broadcasts.service` for the states."""

from __future__ import annotations

from typing import Annotated

from academy_runtime.auth import Caller, accepts
from academy_runtime.db import SessionDep
from academy_runtime.dependencies import ResourcesDep
from academy_runtime.errors import error_responses
from academy_runtime.idempotency import idempotency_key_header
from academy_runtime.ids import IntegerId
from fastapi import APIRouter, Depends, Path, Query, Request

from academy_gateway_bot.broadcasts import service
from academy_gateway_bot.broadcasts.schemas import (
    BroadcastOut,
    BroadcastPage,
    BroadcastStatus,
    CreateBroadcast,
    PreviewBroadcast,
    PreviewOut,
    SendBroadcast,
)
from academy_gateway_bot.models import messaging
from academy_gateway_bot.runtime import bot_runtime
from academy_gateway_bot.settings import GatewaySettings

router = APIRouter(prefix="/internal/broadcasts", tags=["broadcasts"])

Broadcaster = Annotated[Caller, accepts(roles=("broadcaster",))]
"""Operators with the role `broadcaster`; no service calls these routes."""
BroadcastId = Annotated[IntegerId, Path(examples=[1])]
_TRANSITION = error_responses(404, 409, s409="`invalid_transition`: the status does not allow it (`details.status`).")


@router.post("", status_code=201, response_model=BroadcastOut, responses=error_responses(409, 422))
async def create_broadcast(
    command: CreateBroadcast,
    request: Request,
    session: SessionDep,
    caller: Broadcaster,
    idempotency_key: Annotated[str | None, Depends(idempotency_key_header)],
) -> BroadcastOut:
    """A draft: the text in Telegram HTML (4096 characters, 1024 under a photo), optional English text,
    photo and URL button, and the segment. Nothing is sent until `send`. With an `Idempotency-Key` (the console
    sends one per form) a repeated request answers the first one's draft instead of making another: a form
    submitted twice would otherwise make two drafts, and sending both would message every learner twice."""
    return await messaging.idempotency.run(
        session,
        request,
        key=idempotency_key,
        payload=command.model_dump(mode="json"),
        response_model=BroadcastOut,
        action=lambda: service.create(session, command, operator=caller.operator or caller.actor),
    )


@router.get("", response_model=BroadcastPage)
async def list_broadcasts(
    session: SessionDep,
    _: Broadcaster,
    status: Annotated[BroadcastStatus | None, Query()] = None,
    before_id: Annotated[IntegerId | None, Query(description="Keyset pagination: the last id seen.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> BroadcastPage:
    """Broadcasts newest first, with their figures."""
    return await service.page(session, status=status, before_id=before_id, limit=limit)


@router.get("/{broadcast_id}", response_model=BroadcastOut, responses=error_responses(404))
async def get_broadcast(broadcast_id: BroadcastId, session: SessionDep, _: Broadcaster) -> BroadcastOut:
    """The broadcast, its status and figures (recipients, pending, sending, sent, blocked, failed, skipped,
    unknown) as they are now."""
    return await service.get(session, broadcast_id)


@router.post("/{broadcast_id}/preview", response_model=PreviewOut, responses=error_responses(404, 422))
async def preview_broadcast(
    broadcast_id: BroadcastId,
    command: PreviewBroadcast,
    session: SessionDep,
    resources: ResourcesDep,
    caller: Broadcaster,
) -> PreviewOut:
    """Send it to one chat only (`chat_id`, else the operator's configured chat) as learners will see it."""
    settings = resources.settings_as(GatewaySettings)
    return await service.preview(
        session,
        bot_runtime(resources).sender,
        broadcast_id,
        command,
        operator=caller.operator,
        preview_chats=settings.broadcast_preview_chats,
    )


@router.post("/{broadcast_id}/send", response_model=BroadcastOut, responses=_TRANSITION)
async def send_broadcast(
    broadcast_id: BroadcastId, session: SessionDep, _: Broadcaster, command: SendBroadcast | None = None
) -> BroadcastOut:
    """Send a draft now, or at `scheduled_at`."""
    return await service.send(session, broadcast_id, scheduled_at=command.scheduled_at if command else None)


@router.post("/{broadcast_id}/pause", response_model=BroadcastOut, responses=_TRANSITION)
async def pause_broadcast(broadcast_id: BroadcastId, session: SessionDep, _: Broadcaster) -> BroadcastOut:
    """Stop sending (scheduled or sending); the recipients not reached wait."""
    return await service.pause(session, broadcast_id)


@router.post("/{broadcast_id}/resume", response_model=BroadcastOut, responses=_TRANSITION)
async def resume_broadcast(broadcast_id: BroadcastId, session: SessionDep, _: Broadcaster) -> BroadcastOut:
    """Go on where it stopped."""
    return await service.resume(session, broadcast_id)


@router.post("/{broadcast_id}/cancel", response_model=BroadcastOut, responses=_TRANSITION)
async def cancel_broadcast(broadcast_id: BroadcastId, session: SessionDep, _: Broadcaster) -> BroadcastOut:
    """End it: nobody else gets it."""
    return await service.cancel(session, broadcast_id)
