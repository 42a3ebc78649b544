from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any, Self

import aio_pika
import httpx
from academy_runtime.bus import declare_events_exchange, event_message
from academy_runtime.testing import ProducerBus, operator_token
from academy_tg_emulator.client import ChatMessage, EmulatorClient, TestUser

Predicate = Callable[[ChatMessage], bool]


def points_messages(messages: list[ChatMessage]) -> list[ChatMessage]:
    return [m for m in messages if m.text and ("баллов за регистрацию" in m.text or "points for joining" in m.text)]


async def api_get(e2e: Any, service: str, path: str) -> Any:
    """GET from a service as a support operator (`e2e`) looks a learner up: every read the tests make
    admits the support role. The reason, which the users service's audit log requires of an operator who
    reads personal data, names the test run."""
    token = operator_token(e2e.platform, name="e2e", roles=("support",), audience=service)
    headers = {"authorization": f"Bearer {token}", "x-audit-reason": "TEST-1"}
    async with httpx.AsyncClient(base_url=e2e.stack.api_url(service), timeout=10) as client:
        response = await client.get(path, headers=headers)
        response.raise_for_status()
        return response.json()


async def publish(e2e: Any, body: bytes | dict[str, Any], routing_key: str) -> None:
    """Publish on the run's exchange as the service the routing key names (its broker user), as its relay would."""
    producers = ProducerBus(e2e.platform)
    try:
        message = event_message(body) if isinstance(body, dict) else aio_pika.Message(body=body)
        await producers.publish(message, routing_key)
    finally:
        await producers.close()


class BusTap:
    """A temporary queue on the run's exchange: what events did the platform publish?"""

    def __init__(self, e2e: Any, pattern: str = "#") -> None:
        self.e2e = e2e
        self.pattern = pattern

    async def __aenter__(self) -> Self:
        settings = self.e2e.settings("users")
        # As the broker's administrator: no service's user may declare a server-named queue.
        self.connection = await aio_pika.connect(self.e2e.platform.infra.rabbitmq_url)
        channel = await self.connection.channel()
        exchange = await declare_events_exchange(channel, settings.events_exchange)
        self.queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await self.queue.bind(exchange, routing_key=self.pattern)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.connection.close()

    async def next(self, event_type: str, predicate: Any = None, timeout: float = 20) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            message = await self.queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.05)
                continue
            payload = json.loads(message.body)
            if payload["type"] == event_type and (predicate is None or predicate(payload)):
                return payload
        raise TimeoutError(f"no {event_type} on the bus within {timeout}s")


async def register(
    tg: EmulatorClient,
    user: Any,
    timeout: float = 20,
    *,
    full_name: str | None = None,
    phone: str = "+7 916 000-00-00",
    city: str = "Москва",
) -> ChatMessage:
    """Register through the consent conversation, as a learner does: /start → accept the consent → full
    name → share one's own contact → city. Returns the welcome message."""
    sent = await tg.send_command(user, "start")
    consent = await tg.wait_for_reply(sent, lambda m: bool(m.inline_buttons()), timeout=timeout)
    accept = consent.inline_buttons()[0]  # ✅ first, then ✖️
    await tg.press_button(user, consent.message_id, str(accept["callback_data"]))
    await tg.wait_for_message(user.id, after=consent.message_id, timeout=timeout)  # "what is your name?"
    letters = "".join(ch for ch in user.first_name if ch.isalpha()) or "Тест"
    sent = await tg.send_text(user, full_name or f"{letters} Тестова")
    await tg.wait_for_reply(sent, lambda m: "request_contact" in str(m.reply_markup), timeout=timeout)
    sent = await tg.share_contact(user, phone)
    await tg.wait_for_reply(sent, timeout=timeout)  # "which city?"
    sent = await tg.send_text(user, city)
    return await tg.wait_for_reply(sent, lambda m: "Beauty Academy" in (m.text or ""), timeout=timeout)


async def start(tg: EmulatorClient, user: Any, timeout: float = 20, **answers: Any) -> tuple[ChatMessage, ChatMessage]:
    """Register through the conversation (see `register`); returns (the welcome reply, the points message)."""
    welcome = await register(tg, user, timeout, **answers)
    # A new user's chat: the points message may even overtake the welcome, so look at the whole chat.
    points = await tg.wait_for_message(user.id, lambda m: bool(points_messages([m])), timeout=timeout)
    return welcome, points


async def screen(tg: EmulatorClient, user: TestUser, predicate: Predicate, timeout: float = 20) -> ChatMessage:
    """The newest bot message of the chat, as it is now (screens are edited in place), matching `predicate`."""
    deadline = time.monotonic() + timeout
    while True:
        for message in reversed(await tg.messages(user.id)):
            if message.from_bot and predicate(message):
                return message
        if time.monotonic() > deadline:
            texts = [m.summary() for m in await tg.messages(user.id)][-6:]
            raise TimeoutError(f"no such screen within {timeout}s; the chat ends with: {texts}")
        await asyncio.sleep(0.1)


def text_has(*fragments: str) -> Predicate:
    return lambda m: all(f in (m.content or "") for f in fragments)


def button_like(fragment: str) -> Predicate:
    return lambda m: any(fragment in str(b.get("text", "")) for b in m.inline_buttons())


async def press(tg: EmulatorClient, user: TestUser, message: ChatMessage, fragment: str) -> None:
    """Press the inline button whose label contains `fragment`."""
    for button in message.inline_buttons():
        if fragment in str(button.get("text", "")) and "callback_data" in button:
            await tg.press_button(user, message.message_id, str(button["callback_data"]))
            return
    raise KeyError(f"no button like {fragment!r}: {message.summary()}")
