"""/start → the consent conversation → registered → welcome points → bot message, as a learner sees it
through the emulator."""

import asyncio

import httpx
import pytest
from academy_runtime.dlq import list_dead_letters
from academy_tg_emulator.client import TestUser

from .helpers import BusTap, api_get, points_messages, publish, register, start

pytestmark = pytest.mark.e2e


async def test_start_registers_the_learner_and_the_welcome_points_arrive(tg, e2e):
    anna = TestUser.new("Анна", language_code="ru")

    welcome, points = await start(tg, anna)

    assert "Добро пожаловать в Beauty Academy, Анна" in welcome.text
    assert "+50 баллов за регистрацию" in points.text
    assert "Всего баллов: 50" in points.text
    learner = await api_get(e2e, "users", f"/internal/users/by-telegram/{anna.id}")
    assert learner["consent_personal_data"] is True
    assert learner["consent_version"] == "2026-11-30"
    assert (learner["full_name"], learner["phone"], learner["city"]) == ("Анна Тестова", "+79160000000", "Москва")
    assert (await api_get(e2e, "gamification", f"/internal/learners/{learner['id']}/points"))["total_points"] == 50


async def test_start_again_neither_registers_nor_awards_twice(tg, e2e):
    boris = TestUser.new("Boris", language_code="en")
    await start(tg, boris)

    sent = await tg.send_command(boris, "start")
    again = await tg.wait_for_reply(sent, timeout=20)

    assert "Welcome back, Boris" in again.text
    await asyncio.sleep(2)  # room for a wrong second award to arrive
    assert len(points_messages(await tg.messages(boris.id))) == 1
    learner = await api_get(e2e, "users", f"/internal/users/by-telegram/{boris.id}")
    assert (await api_get(e2e, "gamification", f"/internal/learners/{learner['id']}/points"))["total_points"] == 50


async def test_profile_shows_the_points_read_from_gamification(tg):
    vera = TestUser.new("Вера")
    await start(tg, vera)

    sent = await tg.send_command(vera, "profile")
    card = await tg.wait_for_reply(sent, timeout=20)

    assert "Профиль" in card.text
    assert "Баллы: 50" in card.text


async def test_events_committed_during_a_broker_outage_all_arrive_when_it_is_back(tg, e2e):
    learners = [TestUser.new(f"Outage{i}") for i in range(3)]
    e2e.broker_proxy.cut()
    try:
        for learner in learners:  # the HTTP path still works: users commits, its outbox holds the event
            await register(tg, learner)
        await asyncio.sleep(1)
        for learner in learners:
            assert points_messages(await tg.messages(learner.id)) == []
    finally:
        e2e.broker_proxy.restore()

    for learner in learners:
        message = await tg.wait_for_message(learner.id, lambda m: bool(points_messages([m])), timeout=60)
        assert "+50" in message.text


async def test_the_same_event_delivered_twice_has_one_effect(tg, e2e):
    async with BusTap(e2e, "users.user_registered.v3") as tap:
        gala = TestUser.new("Галина")
        await start(tg, gala)
        event = await tap.next("users.user_registered.v3", lambda e: e["data"]["telegram_id"] == gala.id)

    await publish(e2e, event, event["type"])
    await publish(e2e, event, event["type"])
    marker = TestUser.new("Marker")
    await start(tg, marker)  # handled after both copies were queued
    await asyncio.sleep(1)

    assert len(points_messages(await tg.messages(gala.id))) == 1
    learner = await api_get(e2e, "users", f"/internal/users/by-telegram/{gala.id}")
    assert (await api_get(e2e, "gamification", f"/internal/learners/{learner['id']}/points"))["total_points"] == 50


async def test_a_malformed_message_is_dead_lettered_and_consumers_go_on(tg, e2e):
    await publish(e2e, b'{"this is": "not a CloudEvent"}', "users.user_registered.v3")

    dina = TestUser.new("Dina")
    _, points = await start(tg, dina)
    assert "+50" in points.text

    letters = []
    for _ in range(100):
        letters = await list_dead_letters(e2e.settings("gamification"), "welcome-points")
        if letters:
            break
        await asyncio.sleep(0.1)
    assert letters, "the malformed message is not in gamification.welcome-points.dlq"
    assert letters[-1].reason == "invalid"


async def test_webhook_refuses_a_forged_update_and_a_malformed_one(tg, e2e):
    url = f"{e2e.stack.api_url('gateway-bot')}/telegram/webhook"
    intruder = TestUser.new("Intruder")
    update = {
        "update_id": 987654321,
        "message": {
            "message_id": 1,
            "date": 1700000000,
            "text": "/start",
            "chat": {"id": intruder.id, "type": "private"},
            "from": {"id": intruder.id, "is_bot": False, "first_name": "Intruder"},
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    async with httpx.AsyncClient(timeout=10) as client:
        forged = await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
        missing = await client.post(url, json=update)
        malformed = await client.post(
            url, content=b"{not json", headers={"X-Telegram-Bot-Api-Secret-Token": "e2e-webhook-secret-0123456789"}
        )

    assert forged.status_code == 401
    assert missing.status_code == 401
    assert malformed.status_code == 422
    await asyncio.sleep(1)
    assert await tg.messages(intruder.id) == []  # nothing was processed
    with pytest.raises(httpx.HTTPStatusError):
        await api_get(e2e, "users", f"/internal/users/by-telegram/{intruder.id}")


async def test_webhook_with_the_secret_processes_the_update(tg, e2e):
    url = f"{e2e.stack.api_url('gateway-bot')}/telegram/webhook"
    user = await tg.create_user(first_name="Webhook")
    await tg.send_text(user, "привет")  # the learner opens the chat; a bot may only write to a started chat
    update = {
        "update_id": 123456789,
        "message": {
            "message_id": 1_000_000,  # a message of its own (Telegram never reuses a message id in a chat)
            "date": 1700000000,
            "text": "/start",
            "chat": {"id": user.id, "type": "private", "first_name": "Webhook"},
            "from": {"id": user.id, "is_bot": False, "first_name": "Webhook", "language_code": "ru"},
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    async with httpx.AsyncClient(timeout=20) as client:
        response = await client.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "e2e-webhook-secret-0123456789"}
        )
        replay = await client.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "e2e-webhook-secret-0123456789"}
        )

    assert response.status_code == 200
    assert replay.status_code == 200
    consent = await tg.wait_for_message(user.id, lambda m: "152-ФЗ" in (m.text or ""), timeout=20)
    assert "Согласие на обработку персональных данных" in consent.text
    await asyncio.sleep(1)
    offers = [m for m in await tg.messages(user.id) if "152-ФЗ" in (m.text or "")]
    assert len(offers) == 1  # the retried webhook delivery was not handled twice
