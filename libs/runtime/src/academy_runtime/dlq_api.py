"""Dead letters over HTTP, for the operators' console: every service's API lists its consumers' dead letters
and re-drives them (issue 12), as `academy-<service> dlq list|redrive` does on the command line.

    GET  /internal/dead-letters/purposes            this service's consumer purposes, each with its DLQ depth
    GET  /internal/dead-letters?purpose=P&limit=N   up to N dead letters of P, read without consuming them
    POST /internal/dead-letters/{purpose}/redrive   body optional: {"limit": N}; what was moved, what was left

Callers: operators with the role `operations` only. The app factory (`academy_runtime.http.create_app`) mounts
`dead_letters_router` on every service; a service without consumers gets only the purposes route (an empty
list), since the others could never succeed there.

Answers besides a success: 404 for a purpose the service does not consume (naming those it does), 422 for a
limit out of range, 503 when the broker is unreachable or does not answer in time (`BROKER_TIMEOUT_S`) and
when a re-drive could not run as the service's own broker user (`dlq.WrongBusUserError`, code
`wrong_bus_user`: a deployment whose RABBITMQ_URL names another user). The rules of what is re-driven are
`academy_runtime.dlq`'s. A re-drive is logged with the operator, purpose and counts (never a body).
"""

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from typing import Annotated, Any, TypeVar

import aio_pika
from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from academy_runtime import dlq
from academy_runtime.auth import Caller, accepts
from academy_runtime.dependencies import ResourcesDep
from academy_runtime.errors import DependencyUnavailableError, NotFoundError, error_responses
from academy_runtime.fields import json_integer
from academy_runtime.settings import ServiceSettings

log = logging.getLogger(__name__)

T = TypeVar("T")

OPERATOR_ROLES = ("operations",)
"""Who may list and re-drive dead letters (academy_runtime.auth.OPERATOR_ROLES)."""
BROKER_TIMEOUT_S = 15.0
"""Longest wait for the broker in a listing (seconds): past it the answer is 503, never a request that hangs."""
REDRIVE_TIMEOUT_S = 120.0
"""Longest a re-drive may take (seconds; it moves at most the letters present when it started)."""
LIST_LIMIT_MAX = 1000
REDRIVE_LIMIT_MAX = 100_000


class WrongBusUserUnavailableError(DependencyUnavailableError):
    """503: a re-drive must publish as the service's own broker user, and this process connects as another."""

    code = "wrong_bus_user"


class DeadLetterPurpose(BaseModel):
    purpose: str = Field(description="The consumer's purpose, as the service names it (`welcome-points`).")
    queue: str = Field(description="Its dead-letter queue.")
    depth: int | None = Field(
        description="Dead letters ready in the queue (RabbitMQ's message count); null when the queue does not "
        "exist yet (the service's worker or `migrate` declares it)."
    )


class DeadLetterPurposes(BaseModel):
    service: str
    purposes: list[DeadLetterPurpose]


class DeadLetterOut(BaseModel):
    """One dead letter (`academy_runtime.dlq.DeadLetter`)."""

    message_id: str | None = Field(description="The event's id (the AMQP message id).")
    event_type: str | None = Field(description="`users.user_registered.v1`...; null when unreadable.")
    reason: str = Field(description="Why the consumer gave up: `handler_failed`, `invalid_event`...")
    error: str = Field(description="The last error, as the consumer recorded it (no values from the body).")
    attempts: int = Field(description="Deliveries tried before it was dead-lettered.")
    failed_at: str = Field(description="When it was dead-lettered (ISO 8601), as the consumer wrote it.")
    body_preview: str = Field(description="The first 300 bytes of the body, as UTF-8 text.")
    headers: dict[str, str] = Field(description="The first 50 AMQP headers, each as bounded text.")
    publisher: str = Field(description="Who put it in the queue: the AMQP user_id the broker validated.")
    original_publisher: str = Field(description="x-original-user-id: who first published the event, as stated.")
    original_routing_key: str = Field(description="x-original-routing-key: the event's routing key, as stated.")
    redrivable: bool = Field(description="Whether a re-drive would move it back to the main queue.")
    refusal: str = Field(description="Why a re-drive would leave it in the queue; empty when it would move it.")


class DeadLetterList(BaseModel):
    purpose: str
    queue: str
    count: int = Field(description="Letters listed (at most `limit`).")
    not_redrivable: int = Field(description="Of those, how many a re-drive would leave in the queue.")
    messages: list[DeadLetterOut]


class RedriveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: json_integer(ge=1, le=REDRIVE_LIMIT_MAX) | None = Field(  # type: ignore[valid-type]
        default=None, description="Move at most this many; all of them when absent."
    )


class RefusedLetter(BaseModel):
    message_id: str = Field(description="The letter's message id (empty when it has none).")
    reason: str = Field(description="Why it stays in the dead-letter queue.")


class RedriveOut(BaseModel):
    purpose: str
    queue: str
    present: int = Field(description="Letters in the queue when the re-drive started: the most it looks at.")
    redriven: int = Field(description="Letters moved back to the main queue, with a fresh attempt count.")
    refused: list[RefusedLetter] = Field(description="Letters looked at and left in the queue, each with why.")


def _settings_for_redrive(settings: ServiceSettings) -> ServiceSettings:
    """In development, the service's own broker user from `make run`'s password file (as the CLI does)."""
    own_url = dlq.development_bus_url(settings)
    return settings if own_url is None else settings.model_copy(update={"rabbitmq_url": own_url})


async def _on_broker(operation: Awaitable[T], timeout_s: float, doing: str) -> T:
    """`operation`, with the broker's failures as 503 (DependencyUnavailableError) instead of a 500. A queue
    that does not exist (`ChannelNotFoundEntity`) is the caller's to answer, and passes through."""
    try:
        async with asyncio.timeout(timeout_s):
            return await operation
    except aio_pika.exceptions.ChannelNotFoundEntity:
        raise
    except TimeoutError:
        raise DependencyUnavailableError(f"the broker did not answer within {timeout_s:g} s while {doing}") from None
    except (aio_pika.exceptions.AMQPError, OSError) as exc:
        raise DependencyUnavailableError(f"the broker is unreachable while {doing}: {type(exc).__name__}") from exc


def dead_letters_router(purposes: Sequence[str]) -> APIRouter:
    """The dead-letter routes of a service whose consumers have `purposes` (the consumers' `purpose`, in the
    service's order). With no purposes, only `GET /internal/dead-letters/purposes`."""
    known = tuple(purposes)
    router = APIRouter(prefix="/internal/dead-letters", tags=["dead letters"])
    operators = accepts(roles=OPERATOR_ROLES)

    def checked(purpose: str) -> str:
        if purpose not in known:
            raise NotFoundError(
                f"no consumer purpose {purpose!r} here; known: {', '.join(known) or 'none'}",
                details={"known": list(known)},
            )
        return purpose

    @router.get("/purposes", responses=error_responses(503))
    async def dead_letter_purposes(
        _caller: Annotated[Caller, operators], resources: ResourcesDep
    ) -> DeadLetterPurposes:
        """This service's consumer purposes, each with its dead-letter queue and how many letters it holds."""
        settings = resources.settings
        depths = await _on_broker(
            dlq.dead_letter_depths(settings, list(known)), BROKER_TIMEOUT_S, "counting dead letters"
        )
        return DeadLetterPurposes(
            service=settings.service_name,
            purposes=[
                DeadLetterPurpose(purpose=p, queue=f"{settings.queue_name(p)}.dlq", depth=depths[p]) for p in known
            ],
        )

    if not known:
        return router

    # The purposes are the schema's enum (so a client and the API tests know them); any other string is
    # answered 404 naming them, not 422: a purpose is a resource of the service.
    purpose_schema: dict[str, Any] = {"enum": list(known)}

    @router.get("", responses=error_responses(404, 503))
    async def list_dead_letters(
        _caller: Annotated[Caller, operators],
        resources: ResourcesDep,
        purpose: Annotated[
            str, Query(description="The consumer's purpose.", examples=[known[0]], json_schema_extra=purpose_schema)
        ],
        limit: Annotated[int, Query(ge=1, le=LIST_LIMIT_MAX, description="List at most this many.")] = 100,
    ) -> DeadLetterList:
        """Up to `limit` dead letters of one consumer, oldest first, read without consuming them (they stay in
        the queue, in order)."""
        settings = resources.settings
        checked(purpose)
        try:
            letters = await _on_broker(
                dlq.list_dead_letters(settings, purpose, limit), BROKER_TIMEOUT_S, "listing dead letters"
            )
        except aio_pika.exceptions.ChannelNotFoundEntity:
            letters = []  # the queue does not exist yet: no letters
        return DeadLetterList(
            purpose=purpose,
            queue=f"{settings.queue_name(purpose)}.dlq",
            count=len(letters),
            not_redrivable=sum(not letter.redrivable for letter in letters),
            messages=[DeadLetterOut(**letter.as_dict()) for letter in letters],
        )

    @router.post("/{purpose}/redrive", responses=error_responses(404, 503))
    async def redrive_dead_letters(
        caller: Annotated[Caller, operators],
        resources: ResourcesDep,
        purpose: Annotated[
            str, Path(description="The consumer's purpose.", examples=[known[0]], json_schema_extra=purpose_schema)
        ],
        request: Annotated[RedriveRequest | None, Body()] = None,
    ) -> RedriveOut:
        """Move one consumer's dead letters back to its main queue with a fresh attempt count: at most `limit`,
        among the letters present when it starts; letters it must not move (not dead-lettered by this
        service, or of an origin the consumer could not verify) stay, each reported with why."""
        checked(purpose)
        settings = _settings_for_redrive(resources.settings)
        limit = request.limit if request is not None else None
        try:
            report = await _on_broker(
                dlq.redrive_dead_letters(settings, purpose, limit), REDRIVE_TIMEOUT_S, "re-driving dead letters"
            )
        except dlq.WrongBusUserError as exc:
            log.warning(
                "dead letters not re-driven: wrong broker user", extra={"operator": caller.actor, "purpose": purpose}
            )
            raise WrongBusUserUnavailableError(str(exc)) from None
        except aio_pika.exceptions.ChannelNotFoundEntity:
            report = dlq.Redrive(queue=f"{settings.queue_name(purpose)}.dlq", present=0)
        log.info(
            "dead letters re-driven",
            extra={
                "operator": caller.actor,
                "purpose": purpose,
                "queue": report.queue,
                "present": report.present,
                "redriven": report.moved,
                "refused": len(report.left),
            },
        )
        return RedriveOut(
            purpose=purpose,
            queue=report.queue,
            present=report.present,
            redriven=report.moved,
            refused=[RefusedLetter(message_id=message_id, reason=why) for message_id, why in report.left],
        )

    return router
