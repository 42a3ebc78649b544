"""The client helpers, several bots in one emulator, the in-process server and the CLI."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from academy_tg_emulator import (
    DEFAULT_BOT_TOKEN,
    EmulatorClient,
    EmulatorConfig,
    EmulatorError,
    TestUser,
    run_in_background,
)
from academy_tg_emulator.__main__ import build_parser, config_from_args
from academy_tg_emulator.server import KEEP_ALIVE_S
from academy_tg_emulator.testing import RawBotApi, make_png

pytestmark = pytest.mark.timeout(60)


async def test_pressing_a_button_that_does_not_exist_is_refused(
    api: RawBotApi, tg: EmulatorClient, user: TestUser
) -> None:
    await tg.send_text(user, "hi")
    markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}, {"text": "Docs", "url": "https://x.org"}]]}
    message = await api.ok("sendMessage", chat_id=user.id, text="Sure?", reply_markup=markup)
    with pytest.raises(EmulatorError) as caught:
        await tg.press_button(user, message["message_id"], "no")
    assert caught.value.status_code == 400
    assert "it has ['yes']" in str(caught.value.detail)
    stored = await tg.message(user.id, message["message_id"])
    with pytest.raises(KeyError, match="no callback_data"):
        await tg.press_button_by_text(user, stored, "Docs")
    press = await tg.press_button(user, message["message_id"], "anything", check_button=False)
    assert press.data == "anything"
    with pytest.raises(EmulatorError, match="has no chat with the bot"):
        await tg.press_button(TestUser.new(), message["message_id"], "yes")


async def test_users_send_photos_and_raw_updates(api: RawBotApi, tg: EmulatorClient, user: TestUser) -> None:
    photo = await tg.send_photo(user, make_png(300, 200), caption="моя работа")
    assert photo.photo is not None
    assert (photo.photo[-1]["width"], photo.photo[-1]["height"]) == (300, 200)
    assert photo.caption == "моя работа"
    file = await api.ok("getFile", file_id=photo.file_id)
    downloaded = await api.http.get(f"/file/bot{DEFAULT_BOT_TOKEN}/{file['file_path']}")
    assert downloaded.content == make_png(300, 200)
    with pytest.raises(EmulatorError, match="PNG, JPEG, GIF or WebP"):
        await tg.send_photo(user, b"not an image")

    created = await tg.create_user(first_name="Olga", username="olga")
    assert created.first_name == "Olga"
    assert created.id > 0
    update_id = await tg.send_update({"message_reaction": {"chat": {"id": user.id, "type": "private"}}})
    assert update_id is None  # not among the kinds Telegram sends by default
    update_id = await tg.send_update({"edited_message": {**photo.raw, "edit_date": 1}})
    assert update_id is not None
    updates = await api.ok("getUpdates")
    assert [next(key for key in update if key != "update_id") for update in updates] == ["message", "edited_message"]


async def test_two_bots_are_isolated(base_url: str, tg: EmulatorClient, user: TestUser, second_bot_token: str) -> None:
    second = tg.for_bot(second_bot_token)
    await second.send_text(user, "hi second")
    async with httpx.AsyncClient(base_url=base_url, trust_env=False) as http:
        me = (await http.get(f"/bot{second_bot_token}/getMe")).json()["result"]
        assert (me["id"], me["username"]) == (777000, "second_test_bot")
        sent = await http.post(f"/bot{second_bot_token}/sendMessage", json={"chat_id": user.id, "text": "from 2"})
        assert sent.json()["ok"]
        first = await http.post(f"/bot{DEFAULT_BOT_TOKEN}/sendMessage", json={"chat_id": user.id, "text": "x"})
        assert first.json()["description"] == "Bad Request: chat not found"
    assert [m.text for m in await second.messages(user.id)] == ["from 2"]
    assert await tg.messages(user.id) == []

    registered = await tg.register_bot("555:THIRD", "third_test_bot", "Third")
    assert registered["username"] == "third_test_bot"
    with pytest.raises(EmulatorError, match="no bot with token"):
        await tg.for_bot("1:NOPE").messages(user.id)


async def test_bot_state_view(api: RawBotApi, tg: EmulatorClient, user: TestUser) -> None:
    await tg.send_text(user, "hi")
    await api.ok("setMyCommands", commands=[{"command": "start", "description": "Start"}])
    state = await tg.bot_state()
    assert state["bot"]["username"] == "beauty_academy_bot"
    assert [update["message"]["text"] for update in state["pending_updates"]] == ["hi"]
    assert state["commands"][0]["commands"] == [{"command": "start", "description": "Start"}]
    assert state["chats"] == [user.id]
    health = await tg.health()
    assert "sendMessage" in health["methods"]


async def test_curl_style_user_routes(api: RawBotApi, tg: EmulatorClient) -> None:
    http = api.http
    written = await http.post("/_emulator/users/1001/messages", json={"text": "/start"})
    assert written.status_code == 200
    assert written.json()["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    message = await api.ok("sendMessage", chat_id=1001, text="menu", reply_markup=markup)
    pressed = await http.post(
        "/_emulator/users/1001/callbacks", json={"message_id": message["message_id"], "data": "go"}
    )
    assert pressed.json()["callback_query_id"]
    shared = await http.post("/_emulator/users/1001/contact", json={"phone_number": "+70000000000"})
    assert shared.json()["message"]["contact"]["user_id"] == 1001
    listing = (await http.get("/_emulator/chats/1001/messages", params={"sender": "all"})).json()["messages"]
    assert [m["from_bot"] for m in listing] == [False, True, False]
    assert (await tg.messages(1001))[0].text == "menu"


def test_test_user_helpers() -> None:
    anna = TestUser.new("Anna", language_code="en")
    assert anna.chat_id == anna.id
    assert 10**9 <= anna.id < 10**10
    assert anna.payload() == {"id": anna.id, "first_name": "Anna", "language_code": "en"}
    assert TestUser.__test__ is False


async def test_run_in_background_serves_a_fresh_emulator() -> None:
    config = EmulatorConfig.from_env({"TG_EMULATOR_BOT_TOKEN": "42:ANOTHER", "TG_EMULATOR_BOT_USERNAME": "other_bot"})
    async with httpx.AsyncClient(trust_env=False) as http:
        with run_in_background(config=config) as url:
            me = (await http.get(f"{url}/bot42:ANOTHER/getMe")).json()
            poll = asyncio.create_task(http.post(f"{url}/bot42:ANOTHER/getUpdates", json={"timeout": 30}))
            await asyncio.sleep(0.1)
            started = time.monotonic()
        # leaving the block released the waiting long poll instead of holding shutdown for 30 s
        assert (await asyncio.wait_for(poll, 5)).json() == {"ok": True, "result": []}
        assert time.monotonic() - started < 5
    assert me["result"]["username"] == "other_bot"


def test_cli_arguments_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TG_EMULATOR_BOT_TOKEN", "1:FROM-ENV")
    monkeypatch.setenv("TG_EMULATOR_RATE_LIMIT", "1")
    args = build_parser().parse_args(["--bot-username", "cli_bot", "--extra-bot", "2:EXTRA=extra_bot"])
    config = config_from_args(args)
    assert [(bot.token, bot.username) for bot in config.bots] == [("1:FROM-ENV", "cli_bot"), ("2:EXTRA", "extra_bot")]
    assert config.rate_limit.enabled


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_serves_the_bot_api() -> None:
    port = _free_port()
    env = {**os.environ, "TG_EMULATOR_BOT_TOKEN": "99:CLI-TOKEN"}
    process = subprocess.Popen(
        [sys.executable, "-m", "academy_tg_emulator", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                me = httpx.get(f"http://127.0.0.1:{port}/bot99:CLI-TOKEN/getMe", trust_env=False).json()
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the CLI did not start"
                time.sleep(0.1)
        assert me["result"]["username"] == "beauty_academy_bot"
        health = httpx.get(f"http://127.0.0.1:{port}/_emulator/health", trust_env=False).json()
        assert health["ok"] is True
    finally:
        process.terminate()
        process.wait(timeout=15)


async def test_the_emulator_keeps_an_idle_connection_longer_than_aiogram_does(session_bot, emulator_server) -> None:
    """The client must be the one that lets an idle connection go: a server that closed it first (uvicorn's
    5 s against aiohttp's 15 s) failed a request that reused it at that moment with `Can not write request
    body` (CI, `test_aiogram_sends_an_album_of_uploads`)."""
    served = emulator_server._server
    assert served is not None
    client = await session_bot.session.create_session()
    assert served.config.timeout_keep_alive == KEEP_ALIVE_S
    assert client.connector is not None
    assert client.connector._keepalive_timeout < KEEP_ALIVE_S
