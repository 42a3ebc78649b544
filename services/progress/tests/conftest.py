import asyncio
import inspect
import io
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

import pytest
import uvicorn
from academy_contracts import (
    CloudEvent,
    CourseLesson,
    CoursePublishedV1,
    CourseUpdatedV1,
    EventData,
    Money,
    build_event,
)
from academy_contracts.users import UserRegisteredV3
from academy_progress.app import service as progress_service
from academy_progress.clients import USERS_EXTRA, UsersClient
from academy_progress.models import messaging
from academy_runtime.auth import TokenCache, public_key_set, verify_token
from academy_runtime.bus import event_message
from academy_runtime.consumer import ConsumerRuntime
from academy_runtime.service import ServiceDefinition
from academy_runtime.testing import ProducerBus, TestPlatform
from fastapi import FastAPI, Header, Query, Response
from fastapi.responses import JSONResponse
from PIL import Image
from prometheus_client import REGISTRY
from sqlalchemy import select

pytest_plugins = ["academy_runtime.testing"]

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def service() -> ServiceDefinition:
    return progress_service


@pytest.fixture(scope="session")
def settings(platform: TestPlatform, service: ServiceDefinition, avatar_server: "AvatarServer"):
    """The run's settings, with the users service played by `avatar_server`: every learner has no name and
    no avatar unless a test gives them one (`users_avatars`); `users_unreachable` takes it away."""
    return platform.settings_for(service, users_url=avatar_server.url)


def webp_avatar(colour: tuple[int, int, int], size: int = 64) -> bytes:
    """A square WEBP picture of one colour, as the users service's small avatar is (image/webp)."""
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, "WEBP", lossless=True)
    return buffer.getvalue()


@pytest.fixture
def make_avatar() -> Callable[..., bytes]:
    return webp_avatar


@dataclass
class AvatarServer:
    """A stand-in for the users service on a real port, for what progress asks of it: `GET
    /internal/users/{user_id}` (the learner, with the full name in `names`, else none; 404 for the ids in
    `gone`) and `GET /internal/users/{user_id}/avatar?size=small` (the picture in `avatars`, or 404
    `avatar_not_found`; `content_type` overrides the type of the answer). It checks the caller's token as
    users does (issued by `progress` for audience `users`)."""

    url: str
    avatars: dict[int, bytes] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    gone: set[int] = field(default_factory=set)
    content_type: str = "image/webp"
    avatars_failing: bool = False  # the avatar endpoint answers 503 (the learner endpoint still answers)
    asked: list[tuple[int, str, str]] = field(default_factory=list)  # (user id, size, calling service)
    learners_asked: list[tuple[int, str]] = field(default_factory=list)  # (user id, calling service)

    def reset(self) -> None:
        self.avatars.clear()
        self.names.clear()
        self.gone.clear()
        self.asked.clear()
        self.learners_asked.clear()
        self.content_type = "image/webp"
        self.avatars_failing = False


@pytest.fixture(scope="session")
async def avatar_server(platform: TestPlatform) -> AsyncIterator[AvatarServer]:
    keys = public_key_set(platform.public_keys())
    app = FastAPI()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server_state = AvatarServer(url=f"http://127.0.0.1:{port}")

    @app.get("/internal/users/{user_id}")
    async def learner(user_id: int, authorization: Annotated[str, Header()]) -> Response:
        caller = verify_token(keys, authorization.removeprefix("Bearer "), audience="users")
        server_state.learners_asked.append((user_id, caller.service))
        if caller.service != "progress":
            return JSONResponse({"error": {"code": "forbidden", "message": "not admitted"}}, status_code=403)
        if user_id in server_state.gone:
            return JSONResponse({"error": {"code": "not_found", "message": "no such learner"}}, status_code=404)
        # What users answers, trimmed to what progress reads (and a value it must not keep).
        return JSONResponse({"id": user_id, "full_name": server_state.names.get(user_id), "phone": "+79990000000"})

    @app.get("/internal/users/{user_id}/avatar")
    async def avatar(user_id: int, size: Annotated[str, Query()], authorization: Annotated[str, Header()]) -> Response:
        caller = verify_token(keys, authorization.removeprefix("Bearer "), audience="users")
        server_state.asked.append((user_id, size, caller.service))
        if caller.service != "progress":
            return JSONResponse({"error": {"code": "forbidden", "message": "not admitted"}}, status_code=403)
        if server_state.avatars_failing:
            return JSONResponse({"error": {"code": "unavailable", "message": "try later"}}, status_code=503)
        picture = server_state.avatars.get(user_id)
        if picture is None:
            return JSONResponse({"error": {"code": "avatar_not_found", "message": "no avatar"}}, status_code=404)
        return Response(picture, media_type=server_state.content_type)

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.01)
    yield server_state
    server.should_exit = True
    await task


@pytest.fixture(autouse=True)
async def _users_start_empty(avatar_server: AvatarServer) -> None:
    """Each test starts with learners without a name or an avatar in the users stand-in."""
    avatar_server.reset()


@pytest.fixture
def users_avatars(avatar_server: AvatarServer) -> AvatarServer:
    """The users service progress's client calls (`avatar_server`): a test sets names and avatars there."""
    return avatar_server


@pytest.fixture
async def users_unreachable(resources) -> AsyncIterator[None]:
    """Progress's users client pointed at a port nobody listens on, for one test."""
    replaced = resources.extras.get(USERS_EXTRA)
    client = UsersClient("users", "http://127.0.0.1:9", TokenCache.from_settings(resources.settings), retries=0)
    resources.extras[USERS_EXTRA] = client
    yield
    await client.aclose()
    resources.extras[USERS_EXTRA] = replaced


def course_event(
    course_id: int,
    *,
    lesson_ids: tuple[int, ...] = (),
    price: str = "0.00",
    currency: str = "RUB",
    title: str | None = None,
    is_active: bool = True,
    model: type[EventData] = CoursePublishedV1,
    at: datetime = T0,
) -> Any:
    """A course_published (or, with `model`, course_updated) event of a course with the given lessons."""
    time_field = "published_at" if model is CoursePublishedV1 else "updated_at"
    return model.model_validate(
        {
            "course_id": course_id,
            "title": title or f"Курс {course_id}",
            "category": "manicure",
            "price": Money(amount=Decimal(price), currency=currency),
            "is_top": False,
            "duration_hours": 6,
            "is_active": is_active,
            "lessons": tuple(
                CourseLesson(lesson_id=lesson_id, order=n, title=f"Урок {n}", is_free=n == 1, video_duration=600)
                for n, lesson_id in enumerate(lesson_ids, start=1)
            ),
            time_field: at,
        }
    )


@pytest.fixture
def make_course_event() -> Callable[..., Any]:
    return course_event


@pytest.fixture
def t0() -> datetime:
    return T0


@pytest.fixture
def later() -> Callable[[int], datetime]:
    return lambda minutes: T0 + timedelta(minutes=minutes)


async def eventually(check: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll `check` (sync or async) until it returns something truthy; fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


@pytest.fixture
def wait_for() -> Callable[..., Awaitable[Any]]:
    return eventually


def consumed_count(consumer: str, event_type: str, outcome: str) -> float:
    """How many events the runtime counted for this consumer, type and outcome (handled, duplicate...)."""
    labels = {"service": "progress", "consumer": consumer, "type": event_type, "outcome": outcome}
    return REGISTRY.get_sample_value("academy_events_consumed_total", labels) or 0.0


@pytest.fixture
def consumed() -> Callable[[str, str, str], float]:
    return consumed_count


@pytest.fixture
async def consumers(resources, service) -> AsyncIterator[ConsumerRuntime]:
    """The worker's real consumer runtime: its queues on the run's exchange, inbox, retries."""
    runtime = ConsumerRuntime(resources, messaging, service.consumers)
    await runtime.start()
    yield runtime
    await runtime.stop()


class Bus:
    """Publishes CloudEvents on the run's exchange, as the other services' relays do."""

    def __init__(self, exchange: ProducerBus, resources) -> None:
        self.exchange = exchange
        self.resources = resources

    async def publish(self, data: EventData, *, event_id: str | None = None) -> CloudEvent:
        event = build_event(data, event_id=event_id or str(uuid.uuid4()))
        message = event_message(event.model_dump(mode="json", exclude_none=True))
        await self.exchange.publish(message, routing_key=event.type)
        return event

    async def handled(self, event: CloudEvent, consumer: str) -> bool:
        """Whether `consumer` has committed its handling of `event` (its id is in the inbox)."""
        inbox = messaging.inbox
        async with self.resources.sessionmaker() as session:
            row = await session.execute(
                select(inbox.c.event_id).where(inbox.c.event_id == event.id, inbox.c.consumer == consumer)
            )
            return row.first() is not None


@pytest.fixture
async def bus(resources, consumers, platform) -> AsyncIterator[Bus]:
    producers = ProducerBus(platform)  # each event as its producer's broker user
    try:
        yield Bus(producers, resources)
    finally:
        await producers.close()


@pytest.fixture
def project_course(resources) -> Callable[..., Awaitable[None]]:
    """Put a course in the projection as its catalog event would (through the projection service)."""
    from academy_progress.projections.service import apply_course_archived, apply_course_snapshot
    from academy_runtime.db import transaction

    async def project(data: Any) -> None:
        async with transaction(resources.sessionmaker) as session:
            if isinstance(data, CoursePublishedV1):
                await apply_course_snapshot(session, data, version_at=data.published_at)
            elif isinstance(data, CourseUpdatedV1):
                await apply_course_snapshot(session, data, version_at=data.updated_at)
            else:
                await apply_course_archived(session, data)

    return project


def registration(user_id: int, *, at: datetime = T0) -> UserRegisteredV3:
    """The users service's `user_registered.v3` for a learner (what it publishes on a registration)."""
    return UserRegisteredV3(
        user_id=user_id,
        telegram_id=700_000 + user_id,
        locale="ru",
        time_zone="Europe/Moscow",
        time_zone_source="city",
        consent_version="1",
        revision=1,
        registered_at=at,
    )


@pytest.fixture
def make_registration() -> Callable[..., UserRegisteredV3]:
    return registration


@pytest.fixture
def register_learners(resources) -> Callable[..., Awaitable[None]]:
    """Make learners known to progress as their `users.user_registered` would (through the handler the
    `learner-registry` consumer calls): every learner-keyed write is refused for a learner who is not."""
    from academy_progress.learners.service import record_registered
    from academy_runtime.db import transaction

    async def register(*user_ids: int) -> None:
        async with transaction(resources.sessionmaker) as session:
            for user_id in user_ids:
                await record_registered(session, user_id=user_id, registered_at=T0)

    return register


@pytest.fixture
def enrol(resources) -> Callable[..., Awaitable[None]]:
    """Give a learner access to a course directly (as a purchase or an operator grant would)."""
    from academy_progress.models import UserCourse
    from academy_runtime.db import transaction

    async def add(
        user_id: int,
        course_id: int,
        *,
        at: datetime | None = None,
        completed_at: datetime | None = None,
        source: str = "operator",
    ) -> None:
        async with transaction(resources.sessionmaker) as session:
            row = UserCourse(
                user_id=user_id,
                course_id=course_id,
                source=source,
                is_completed=completed_at is not None,
                completed_at=completed_at,
            )
            if at is not None:
                row.purchased_at = at
            session.add(row)

    return add


@pytest.fixture
def record_progress(resources) -> Callable[..., Awaitable[None]]:
    """Write a learner's progress row in a lesson directly (completed at a chosen time, or only started)."""
    from academy_progress.models import UserProgress
    from academy_runtime.db import transaction

    async def add(user_id: int, course_id: int, lesson_id: int, *, completed_at: datetime | None) -> None:
        async with transaction(resources.sessionmaker) as session:
            session.add(
                UserProgress(
                    user_id=user_id,
                    course_id=course_id,
                    lesson_id=lesson_id,
                    completed=completed_at is not None,
                    completed_at=completed_at,
                    watch_time=120,
                )
            )

    return add


async def outbox_events(resources, event_type: str | None = None) -> list[dict[str, Any]]:
    """The events the service has written to its outbox (oldest first), optionally of one type."""
    async with resources.sessionmaker() as session:
        stmt = select(messaging.outbox).order_by(messaging.outbox.c.id)
        if event_type is not None:
            stmt = stmt.where(messaging.outbox.c.event_type == event_type)
        rows = (await session.execute(stmt)).all()
    return [row.payload for row in rows]


@pytest.fixture
def outbox() -> Callable[..., Awaitable[list[dict[str, Any]]]]:
    return outbox_events
