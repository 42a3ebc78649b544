"""One Telegram update is one trace (issue 12): the gateway opens a span per update, and everything the update
causes (the service calls, the services' requests, the events they publish, the consumers downstream and the
notification the gateway sends because of them) shares its trace id. Spans are read from an in-memory exporter
on the process's tracer provider; the services run in this process (`InProcessStack`), so theirs are there too.
"""

import asyncio
import secrets
import time
from collections.abc import Callable, Iterator

import pytest
from academy_gateway_bot.webhook.endpoints import SECRET_HEADER
from academy_runtime.telemetry import configure_tracing
from academy_runtime.testing import api_client
from academy_tg_emulator.client import TestUser
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from .test_registration import WAIT, has

pytestmark = pytest.mark.integration

SpanFilter = Callable[[ReadableSpan], bool]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    configure_tracing("gateway-bot").add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # the provider is the process's: the processor stays, and records nothing more


async def finished(spans: InMemorySpanExporter, wanted: SpanFilter, what: str) -> list[ReadableSpan]:
    """The finished spans `wanted` picks, once there is one (the handling ends after the reply is sent)."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        found = [span for span in spans.get_finished_spans() if wanted(span)]
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            names = sorted({span.name for span in spans.get_finished_spans()})
            raise AssertionError(f"no finished span: {what}; spans: {names}")
        await asyncio.sleep(0.05)


def update_spans(spans: InMemorySpanExporter) -> list[ReadableSpan]:
    return [span for span in spans.get_finished_spans() if span.name.startswith("telegram.update ")]


def in_trace(spans: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [span for span in spans.get_finished_spans() if span.context.trace_id == trace_id]


def service_of_span(span: ReadableSpan) -> str:
    return str(span.resource.attributes.get("service.name", ""))


def is_consumer_of(purpose_suffix: str, event: str) -> SpanFilter:
    """A consumer span of the queue ending in `purpose_suffix`, for any version of `event` (`users.user_registered`)."""

    def wanted(span: ReadableSpan) -> bool:
        attributes = span.attributes or {}
        return (
            span.kind == SpanKind.CONSUMER
            and str(attributes.get("cloudevents.event_type", "")).startswith(f"{event}.v")
            and str(attributes.get("messaging.destination.name", "")).endswith(purpose_suffix)
        )

    return wanted


def descends_from(span: ReadableSpan, ancestor: ReadableSpan, by_id: dict[int, ReadableSpan]) -> bool:
    """Whether `ancestor` is on `span`'s chain of parents (through spans the exporter holds)."""
    parent = span.parent
    while parent is not None:
        if parent.span_id == ancestor.context.span_id:
            return True
        above = by_id.get(parent.span_id)
        parent = above.parent if above is not None else None
    return False


async def test_a_registration_step_is_one_trace_across_the_services_the_bus_and_the_notification(gateway, tg, spans):
    """The last step of registration (the city) registers the learner in users (its outbox publishes
    users.user_registered.v1), gamification awards the welcome points on that event (points_awarded), and the
    gateway's notifications consumer tells the learner: one trace from the update to the notification."""
    anna = TestUser.new("Anya", language_code="ru")
    sent = await tg.send_command(anna, "start")
    consent = await tg.wait_for_reply(sent, timeout=WAIT)
    await tg.press_button(anna, consent.message_id, consent.inline_buttons()[0]["callback_data"])
    await tg.wait_for_message(anna.id, has("Как вас зовут"), after=consent.message_id, timeout=WAIT)
    sent = await tg.send_text(anna, "Анна Смирнова")
    await tg.wait_for_reply(sent, timeout=WAIT)
    sent = await tg.share_contact(anna, "+7 916 123-45-67")
    await tg.wait_for_reply(sent, timeout=WAIT)
    # The steps before have been handled: their spans are done. Only the city's update from here on.
    await finished(spans, lambda span: len(update_spans(spans)) >= 4, "the first four updates")
    spans.clear()

    sent = await tg.send_text(anna, "Москва")
    await tg.wait_for_reply(sent, lambda m: "Beauty Academy" in (m.text or ""), timeout=WAIT)
    await tg.wait_for_reply(sent, lambda m: "+50" in (m.text or ""), timeout=WAIT)
    notified = await finished(
        spans, is_consumer_of("gateway-bot.notifications", "gamification.points_awarded"), "the notification"
    )

    [update] = update_spans(spans)
    assert update.parent is None  # long polling: the update starts its trace
    assert update.kind == SpanKind.CONSUMER
    assert update.name == "telegram.update message"
    attributes = dict(update.attributes or {})
    assert attributes["telegram.update.type"] == "message"
    assert isinstance(attributes["telegram.update.id"], int)
    assert attributes["messaging.message.id"] == str(attributes["telegram.update.id"])
    assert str(attributes["telegram.handler"]).startswith("academy_gateway_bot.handlers.registration.")
    # No personal data: neither the city typed, nor the learner's name or Telegram id.
    rendered = repr(sorted(attributes.items()))
    assert "Москва" not in rendered
    assert str(anna.id) not in rendered

    trace_id = update.context.trace_id
    traced = in_trace(spans, trace_id)
    by_id = {span.context.span_id: span for span in traced}
    # Every call the update made to a service is the update's child, and the service's request is the call's.
    calls = [span for span in spans.get_finished_spans() if span.kind == SpanKind.CLIENT]
    assert calls, "the city step calls the users service"
    assert all(call.context.trace_id == trace_id for call in calls), [c.name for c in calls]
    assert all(descends_from(call, update, by_id) for call in calls)
    registration = [
        span for span in traced if span.kind == SpanKind.SERVER and span.name.startswith("POST /internal/users")
    ]
    assert registration, sorted(span.name for span in traced)
    # The event users published, consumed by gamification, whose event the gateway's notifications consumed.
    [welcome_points] = [
        span
        for span in spans.get_finished_spans()
        if is_consumer_of("gamification.welcome-points", "users.user_registered")(span)
    ]
    assert welcome_points.context.trace_id == trace_id
    assert descends_from(welcome_points, registration[0], by_id)
    assert [span.context.trace_id for span in notified] == [trace_id]
    assert descends_from(notified[0], welcome_points, by_id)


async def test_each_update_has_a_trace_of_its_own(gateway, tg, spans):
    anna, boris = TestUser.new("Anya"), TestUser.new("Boris")
    for user in (anna, boris):
        sent = await tg.send_command(user, "start")
        await tg.wait_for_reply(sent, timeout=WAIT)
    found = await finished(spans, lambda span: len(update_spans(spans)) >= 2, "two updates")
    assert found
    first, second = update_spans(spans)
    assert first.context.trace_id != second.context.trace_id
    assert first.parent is None
    assert second.parent is None
    # Each asked users who the learner is: each call in its own update's trace, none in a trace of its own.
    calls = [span for span in spans.get_finished_spans() if span.kind == SpanKind.CLIENT]
    assert {call.context.trace_id for call in calls} == {first.context.trace_id, second.context.trace_id}
    for update in (first, second):
        assert dict(update.attributes or {})["telegram.command"] == "start"
        assert dict(update.attributes or {})["telegram.handler"] == "academy_gateway_bot.handlers.start.start"
        traced = in_trace(spans, update.context.trace_id)
        by_id = {span.context.span_id: span for span in traced}
        assert all(descends_from(span, update, by_id) for span in traced if span is not update)


async def test_in_webhook_mode_the_update_is_a_child_of_the_webhook_request(
    gateway, tg, spans, service, resources, platform
):
    """The webhook's POST has one server span (the runtime's; FastAPI's own tracing is off), and the update's
    span is its child: one trace from Telegram's request to the bot's reply."""
    anna = await tg.create_user(TestUser.new("Anya", language_code="ru"))
    sent = await tg.send_command(anna, "start")  # the emulator lets a bot write only to a user who wrote first
    await tg.wait_for_reply(sent, timeout=WAIT)
    await finished(spans, lambda span: len(update_spans(spans)) >= 1, "the emulator's /start")
    spans.clear()

    update = {
        "update_id": 900_000_000 + secrets.randbelow(10**8),
        "message": {
            "message_id": 1_000_000 + secrets.randbelow(10**6),
            "date": int(time.time()),
            "chat": {"id": anna.id, "type": "private", "first_name": "Anya"},
            "from": {"id": anna.id, "is_bot": False, "first_name": "Anya", "language_code": "ru"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    secret = resources.settings.telegram_webhook_secret.get_secret_value()
    async with api_client(service, resources, token="unused") as client:
        response = await client.post("/telegram/webhook", json=update, headers={SECRET_HEADER: secret})
    assert response.status_code == 200, response.text

    webhook_requests = [
        span for span in spans.get_finished_spans() if span.kind == SpanKind.SERVER and "/telegram/webhook" in span.name
    ]
    assert [span.name for span in webhook_requests] == ["POST /telegram/webhook"]  # one, no duplicate
    [request] = webhook_requests
    [handled] = [span for span in update_spans(spans) if span.attributes["telegram.update.id"] == update["update_id"]]
    assert handled.parent is not None
    assert handled.parent.span_id == request.context.span_id
    assert handled.context.trace_id == request.context.trace_id
    assert handled.attributes["telegram.command"] == "start"
