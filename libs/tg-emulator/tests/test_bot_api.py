"""The Bot API as a bot sees it over HTTP: encodings, exact response shapes, Telegram's refusals."""

from __future__ import annotations

import asyncio
import json
import time

from academy_tg_emulator import DEFAULT_BOT_TOKEN, EmulatorClient, EmulatorConfig, TestUser
from academy_tg_emulator.testing import RawBotApi, make_png

API = f"/bot{DEFAULT_BOT_TOKEN}"


async def test_unknown_token_method_and_path(api: RawBotApi) -> None:
    response = await api.http.post("/bot999:NOPE/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    response = await api.http.post(f"{API}/sendTelepathy")
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
    response = await api.http.get("/not-the-bot-api")
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_get_me_by_get_and_case_insensitive_method(api: RawBotApi) -> None:
    response = await api.http.get(f"{API}/GETME")
    assert response.json() == {
        "ok": True,
        "result": {
            "id": 123456,
            "is_bot": True,
            "first_name": "Beauty Academy",
            "username": "beauty_academy_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        },
    }


async def test_chat_not_found_until_the_user_writes(api: RawBotApi, tg: EmulatorClient, user: TestUser) -> None:
    body = await api.refused("sendMessage", chat_id=user.id, text="hi")
    assert body == {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    assert (await api.refused("sendMessage", text="hi"))["description"] == "Bad Request: chat_id is empty"
    assert (await api.refused("sendMessage", chat_id="@anna", text="hi"))["description"] == (
        "Bad Request: chat not found"
    )
    await tg.send_text(user, "hello")
    message = await api.ok("sendMessage", chat_id=user.id, text="Hi Anna")
    assert message["chat"] == {
        "id": user.id,
        "type": "private",
        "first_name": "Anna",
        "last_name": "Petrova",
        "username": "anna_p",
    }
    assert message["from"]["username"] == "beauty_academy_bot"
    assert message["message_id"] == 2  # the user's message was #1 in this chat
    assert isinstance(message["date"], int)


async def test_text_validation(api: RawBotApi, tg: EmulatorClient, user: TestUser) -> None:
    await tg.send_text(user, "hi")
    for text in ("", "   "):
        body = await api.refused("sendMessage", chat_id=user.id, text=text)
        assert body["description"] == "Bad Request: message text is empty"
    body = await api.refused("sendMessage", chat_id=user.id, text="x" * 4097)
    assert body["description"] == "Bad Request: message is too long"
    body = await api.refused("sendMessage", chat_id=user.id, text="<b>Welcome", parse_mode="HTML")
    assert body["description"] == (
        "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\""
    )
    body = await api.refused("sendMessage", chat_id=user.id, text="Price: 100.", parse_mode="MarkdownV2")
    assert body["description"] == (
        "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'"
    )
    body = await api.refused("sendMessage", chat_id=user.id, text="x", parse_mode="BBCode")
    assert body["description"] == "Bad Request: unsupported parse_mode"
    message = await api.ok("sendMessage", chat_id=user.id, text="<b>Курс</b> &amp; <i>урок</i>", parse_mode="HTML")
    assert message["text"] == "Курс & урок"
    assert message["entities"] == [
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "italic", "offset": 7, "length": 4},
    ]


async def test_reply_markup_kinds_and_validation(api: RawBotApi, tg: EmulatorClient, user: TestUser) -> None:
    await tg.send_text(user, "hi")
    inline = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}, {"text": "Site", "url": "https://x.org"}]]}
    message = await api.ok("sendMessage", chat_id=user.id, text="menu", reply_markup=inline)
    assert message["reply_markup"] == inline
    keyboard = {"keyboard": [[{"text": "Share phone", "request_contact": True}]], "one_time_keyboard": True}
    message = await api.ok("sendMessage", chat_id=user.id, text="phone?", reply_markup=keyboard)
    assert "reply_markup" not in message  # Telegram only echoes inline keyboards
    stored = await tg.message(user.id, message["message_id"])
    assert stored.keyboard_buttons() == [{"text": "Share phone", "request_contact": True}]
    assert (await tg.chat(user.id))["reply_keyboard"] == keyboard
    await api.ok("sendMessage", chat_id=user.id, text="thanks", reply_markup={"remove_keyboard": True})
    assert (await tg.chat(user.id))["reply_keyboard"] is None
    await api.ok("sendMessage", chat_id=user.id, text="your name?", reply_markup={"force_reply": True})

    text_only = {"inline_keyboard": [[{"text": "Nothing"}]]}
    body = await api.refused("sendMessage", chat_id=user.id, text="x", reply_markup=text_only)
    assert body["description"] == (
        "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
    )
    too_long = {"inline_keyboard": [[{"text": "x", "callback_data": "d" * 65}]]}
    body = await api.refused("sendMessage", chat_id=user.id, text="x", reply_markup=too_long)
    assert body["description"] == "Bad Request: BUTTON_DATA_INVALID"
    response = await api.http.post(
        f"{API}/sendMessage", data={"chat_id": user.id, "text": "x", "reply_markup": "{oops"}
    )
    assert response.json()["description"] == "Bad Request: can't parse reply keyboard markup JSON object"


async def test_form_query_and_json_encodings(api: RawBotApi, tg: EmulatorClient, user: TestUser) -> None:
    await tg.send_text(user, "hi")
    markup = json.dumps({"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]})
    form = await api.http.post(
        f"{API}/sendMessage", data={"chat_id": str(user.id), "text": "form", "reply_markup": markup}
    )
    assert form.json()["result"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a"
    query = await api.http.get(f"{API}/sendMessage", params={"chat_id": user.id, "text": "query"})
    assert query.json()["result"]["text"] == "query"
    preview = {"is_disabled": True}
    as_json = await api.ok("sendMessage", chat_id=user.id, text="json", link_preview_options=preview)
    assert as_json["link_preview_options"] == preview


async def test_replies(api: RawBotApi, tg: EmulatorClient, user: TestUser) -> None:
    sent = await tg.send_text(user, "question")
    reply = await api.ok(
        "sendMessage", chat_id=user.id, text="answer", reply_parameters={"message_id": sent.message_id}
    )
    assert reply["reply_to_message"]["text"] == "question"
    body = await api.refused("sendMessage", chat_id=user.id, text="x", reply_parameters={"message_id": 999})
    assert body["description"] == "Bad Request: message to be replied not found"
    loose = {"message_id": 999, "allow_sending_without_reply": True}
    assert "reply_to_message" not in await api.ok("sendMessage", chat_id=user.id, text="x", reply_parameters=loose)


async def test_edit_and_delete(api: RawBotApi, tg: EmulatorClient, user: TestUser) -> None:
    sent = await tg.send_text(user, "hi")
    markup = {"inline_keyboard": [[{"text": "Next", "callback_data": "next"}]]}
    message = await api.ok("sendMessage", chat_id=user.id, text="Step 1", reply_markup=markup)
    mid = message["message_id"]
    body = await api.refused("editMessageText", chat_id=user.id, message_id=mid, text="Step 1", reply_markup=markup)
    assert body["description"] == (
        "Bad Request: message is not modified: specified new message content and reply markup are exactly "
        "the same as a current content and reply markup of the message"
    )
    edited = await api.ok("editMessageText", chat_id=user.id, message_id=mid, text="<b>Step 2</b>", parse_mode="HTML")
    assert edited["text"] == "Step 2"
    assert "reply_markup" not in edited  # an edit without reply_markup drops the keyboard
    assert isinstance(edited["edit_date"], int)
    edited = await api.ok("editMessageReplyMarkup", chat_id=user.id, message_id=mid, reply_markup=markup)
    assert edited["reply_markup"] == markup
    body = await api.refused("editMessageText", chat_id=user.id, message_id=999, text="x")
    assert body["description"] == "Bad Request: message to edit not found"
    body = await api.refused("editMessageText", chat_id=user.id, message_id=sent.message_id, text="x")
    assert body["description"] == "Bad Request: message can't be edited"

    view = await tg.message(user.id, mid)
    assert view.text == "Step 2"
    assert view.edited
    assert [version["text"] for version in view.versions] == ["Step 1", "Step 2"]
    assert view.raw_text == "<b>Step 2</b>"

    assert await api.ok("deleteMessage", chat_id=user.id, message_id=mid) is True
    body = await api.refused("deleteMessage", chat_id=user.id, message_id=mid)
    assert body["description"] == "Bad Request: message to delete not found"
    assert (await tg.message(user.id, mid)).deleted
    assert [m.message_id for m in await tg.messages(user.id, include_deleted=False)] == []


async def test_blocked_user(api: RawBotApi, tg: EmulatorClient, user: TestUser) -> None:
    await tg.send_text(user, "hi")
    await api.ok("getUpdates")
    await tg.block_bot(user)
    body = await api.refused("sendMessage", chat_id=user.id, text="come back")
    assert body == {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
    updates = await api.ok("getUpdates", offset=-1)
    member = updates[0]["my_chat_member"]
    assert (member["old_chat_member"]["status"], member["new_chat_member"]["status"]) == ("member", "kicked")
    await tg.send_command(user, "start")  # writing again restarts the bot
    await api.ok("sendMessage", chat_id=user.id, text="welcome back")


async def test_callback_answers(api: RawBotApi, tg: EmulatorClient, user: TestUser) -> None:
    await tg.send_text(user, "hi")
    markup = {"inline_keyboard": [[{"text": "Like", "callback_data": "like"}]]}
    message = await api.ok("sendMessage", chat_id=user.id, text="post", reply_markup=markup)
    press = await tg.press_button(user, message["message_id"], "like")
    updates = await api.ok("getUpdates", allowed_updates=["callback_query"])
    query = updates[-1]["callback_query"]
    assert query["id"] == press.callback_query_id
    assert query["data"] == "like"
    assert query["message"]["message_id"] == message["message_id"]
    assert query["from"]["id"] == user.id
    assert await tg.callback_answer(press.callback_query_id) is None
    assert await api.ok("answerCallbackQuery", callback_query_id=query["id"], text="Liked!", show_alert=True)
    answer = await tg.callback_answer(press.callback_query_id)
    assert answer is not None
    assert (answer.text, answer.show_alert) == ("Liked!", True)
    body = await api.refused("answerCallbackQuery", callback_query_id=query["id"])
    assert body["description"] == "Bad Request: query is too old and response timeout expired or query ID is invalid"


async def test_long_polling_waits_and_wakes(api: RawBotApi, tg: EmulatorClient, user: TestUser) -> None:
    started = time.monotonic()
    assert await api.ok("getUpdates", timeout=0.4) == []
    assert 0.35 <= time.monotonic() - started < 2

    poll = asyncio.create_task(api.ok("getUpdates", timeout=5))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await tg.send_text(user, "wake up")
    updates = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 1
    assert updates[0]["message"]["text"] == "wake up"

    # unconfirmed updates come back; an offset confirms them
    again = await api.ok("getUpdates")
    assert again == updates
    assert await api.ok("getUpdates", offset=updates[-1]["update_id"] + 1) == []


async def test_update_ids_grow_and_negative_offset(api: RawBotApi, tg: EmulatorClient, user: TestUser) -> None:
    for text in ("one", "two", "three"):
        await tg.send_text(user, text)
    updates = await api.ok("getUpdates", limit=2)
    assert [update["message"]["text"] for update in updates] == ["one", "two"]
    assert updates[1]["update_id"] == updates[0]["update_id"] + 1
    last = await api.ok("getUpdates", offset=-1)
    assert [update["message"]["text"] for update in last] == ["three"]
    await tg.reset()
    await tg.send_text(user, "after reset")
    fresh = await api.ok("getUpdates")
    assert fresh[0]["update_id"] > last[0]["update_id"]


async def test_a_newer_poll_terminates_the_older(api: RawBotApi) -> None:
    older = asyncio.create_task(api.call("getUpdates", timeout=5))
    await asyncio.sleep(0.1)
    newer = asyncio.create_task(api.call("getUpdates", timeout=0.2))
    response = await asyncio.wait_for(older, 2)
    assert response.status_code == 409
    assert response.json()["description"] == (
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
    )
    assert (await newer).json() == {"ok": True, "result": []}


async def test_allowed_updates_filter(api: RawBotApi, tg: EmulatorClient, user: TestUser) -> None:
    await api.ok("getUpdates", allowed_updates=["callback_query"])
    result = await tg.send_text(user, "ignored")
    assert result.message_id == 1
    assert await api.ok("getUpdates") == []
    await api.ok("getUpdates", allowed_updates=[])  # back to the default kinds
    await tg.send_text(user, "seen")
    assert [u["message"]["text"] for u in await api.ok("getUpdates")] == ["seen"]


async def test_webhook_blocks_get_updates(api: RawBotApi) -> None:
    set_reply = await api.call("setWebhook", url="http://127.0.0.1:9/hook", secret_token="abc_DEF-1")
    assert set_reply.json() == {"ok": True, "result": True, "description": "Webhook was set"}
    body = await api.refused("getUpdates")
    assert body == {
        "ok": False,
        "error_code": 409,
        "description": "Conflict: can't use getUpdates method while webhook is active; "
        "use deleteWebhook to delete the webhook first",
    }
    info = await api.ok("getWebhookInfo")
    assert info["url"] == "http://127.0.0.1:9/hook"
    assert info["pending_update_count"] == 0
    body = await api.refused("setWebhook", url="http://127.0.0.1:9/hook", secret_token="no spaces!")
    assert body["description"] == "Bad Request: secret token contains unallowed characters"
    deleted = await api.call("deleteWebhook")
    assert deleted.json() == {"ok": True, "result": True, "description": "Webhook was deleted"}
    again = await api.call("deleteWebhook")
    assert again.json()["description"] == "Webhook is already deleted"
    assert await api.ok("getWebhookInfo") == {"url": "", "has_custom_certificate": False, "pending_update_count": 0}


async def test_uploads_file_ids_and_downloads(api: RawBotApi, tg: EmulatorClient, user: TestUser) -> None:
    await tg.send_text(user, "hi")
    pdf = b"%PDF-1.4 certificate"
    response = await api.http.post(
        f"{API}/sendDocument",
        data={"chat_id": str(user.id), "caption": "<b>Certificate</b>", "parse_mode": "HTML"},
        files={"document": ("certificate.pdf", pdf, "application/pdf")},
    )
    message = response.json()["result"]
    document = message["document"]
    assert document["file_name"] == "certificate.pdf"
    assert document["mime_type"] == "application/pdf"
    assert document["file_size"] == len(pdf)
    assert message["caption"] == "Certificate"
    assert message["caption_entities"] == [{"type": "bold", "offset": 0, "length": 11}]
    assert await tg.download_document(document["file_id"]) == pdf

    again = await api.ok("sendDocument", chat_id=user.id, document=document["file_id"])
    assert again["document"]["file_unique_id"] == document["file_unique_id"]
    file = await api.ok("getFile", file_id=document["file_id"])
    assert file["file_path"].endswith(".pdf")
    downloaded = await api.http.get(f"/file/bot{DEFAULT_BOT_TOKEN}/{file['file_path']}")
    assert downloaded.content == pdf
    assert (await api.http.get(f"/file/bot{DEFAULT_BOT_TOKEN}/documents/missing.pdf")).status_code == 404

    image = make_png(640, 480)
    photo = await api.http.post(
        f"{API}/sendPhoto",
        data={"chat_id": str(user.id), "photo": "attach://pic"},
        files={"pic": ("work.png", image, "image/png")},
    )
    sizes = photo.json()["result"]["photo"]
    assert (sizes[-1]["width"], sizes[-1]["height"]) == (640, 480)
    body = await api.refused("sendDocument", chat_id=user.id, document="not-a-file-id")
    assert body["description"] == "Bad Request: wrong file identifier/HTTP URL specified"
    body = await api.refused("sendDocument", chat_id=user.id)
    assert body["description"] == "Bad Request: there is no document in the request"
    body = await api.refused("getFile", file_id="nope")
    assert body["description"] == "Bad Request: invalid file_id"

    # a bot may send a file by URL; the emulator fetches it (here: from itself)
    url = f"{tg.base_url}/_emulator/files/{document['file_id']}"
    by_url = await api.ok("sendDocument", chat_id=user.id, document=url)
    assert await tg.download_document(by_url["document"]["file_id"]) == pdf
    video = await api.ok("sendVideo", chat_id=user.id, video=url, width=1280, height=720, duration=42)
    assert (video["video"]["width"], video["video"]["duration"]) == (1280, 42)


async def test_commands_menu_chat_and_actions(api: RawBotApi, tg: EmulatorClient, user: TestUser) -> None:
    commands = [{"command": "start", "description": "Начать"}, {"command": "courses", "description": "Курсы"}]
    assert await api.ok("setMyCommands", commands=commands) is True
    assert await api.ok("setMyCommands", commands=commands[:1], language_code="en") is True
    assert await api.ok("getMyCommands") == commands
    assert await api.ok("getMyCommands", language_code="en") == commands[:1]
    bad = [{"command": "Bad Command", "description": "x"}]
    assert (await api.refused("setMyCommands", commands=bad))["description"] == "Bad Request: BOT_COMMAND_INVALID"
    assert await api.ok("deleteMyCommands") is True
    assert await api.ok("getMyCommands") == []

    await tg.send_text(user, "hi")
    web_app = {"type": "web_app", "text": "Open", "web_app": {"url": "https://academy.example/app"}}
    assert await api.ok("setChatMenuButton", chat_id=user.id, menu_button=web_app) is True
    assert await api.ok("getChatMenuButton", chat_id=user.id) == web_app
    assert await api.ok("getChatMenuButton") == {"type": "commands"}
    assert await api.ok("sendChatAction", chat_id=user.id, action="typing") is True
    body = await api.refused("sendChatAction", chat_id=user.id, action="dancing")
    assert body["description"] == "Bad Request: wrong parameter action in request"
    chat = await tg.chat(user.id)
    assert chat["menu_button"] == web_app
    assert [action["action"] for action in chat["actions"]] == ["typing"]
    full = await api.ok("getChat", chat_id=user.id)
    assert (full["id"], full["type"], full["first_name"]) == (user.id, "private", "Anna")
    assert await api.ok("logOut") is True
    assert await api.ok("close") is True


async def test_rate_limits_and_forced_failures(api: RawBotApi, tg: EmulatorClient, user: TestUser) -> None:
    other = TestUser.new("Olga")
    await tg.send_text(user, "hi")
    await tg.send_text(other, "hi")
    await tg.set_rate_limit(per_chat_per_second=2, global_per_second=3)
    await api.ok("sendMessage", chat_id=user.id, text="1")
    await api.ok("sendMessage", chat_id=user.id, text="2")
    body = await api.refused("sendMessage", chat_id=user.id, text="3")
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    await api.ok("sendMessage", chat_id=other.id, text="other chat is fine")
    assert (await api.refused("sendMessage", chat_id=other.id, text="global"))["error_code"] == 429
    await tg.set_rate_limit(enabled=False)

    await tg.fail_next(2, retry_after=3, methods=["sendMessage"])
    assert await api.ok("getMe")  # other methods are not affected
    for _ in range(2):
        body = await api.refused("sendMessage", chat_id=user.id, text="x")
        assert (body["error_code"], body["parameters"]) == (429, {"retry_after": 3})
    await api.ok("sendMessage", chat_id=user.id, text="through")
    await tg.fail_next(error_code=502, retry_after=None)
    body = await api.refused("getMe")
    assert body == {"ok": False, "error_code": 502, "description": "Bad Gateway"}


async def test_call_log(api: RawBotApi, tg: EmulatorClient, user: TestUser) -> None:
    await tg.send_text(user, "hi")
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    await api.http.post(
        f"{API}/sendMessage", data={"chat_id": user.id, "text": "x", "reply_markup": json.dumps(markup)}
    )
    await api.refused("sendMessage", chat_id=user.id, text="")
    calls = await tg.calls("sendMessage")
    assert [c.ok for c in calls] == [True, False]
    assert calls[0].params["reply_markup"] == markup  # JSON fields decoded for reading
    assert calls[0].result["text"] == "x"
    assert calls[1].description == "Bad Request: message text is empty"
    later = await tg.calls(since=calls[0].seq)
    assert [c.seq for c in later] == [calls[1].seq]


async def test_reset_keeps_bot_configuration_and_waiting_polls(
    api: RawBotApi, tg: EmulatorClient, user: TestUser
) -> None:
    commands = [{"command": "start", "description": "Start"}]
    await api.ok("setMyCommands", commands=commands)
    await tg.send_text(user, "before reset")
    [update] = await api.ok("getUpdates")
    poll = asyncio.create_task(api.call("getUpdates", offset=update["update_id"] + 1, timeout=3))
    await asyncio.sleep(0.1)
    await tg.reset()
    assert await tg.messages(user.id, sender="all") == []
    await tg.send_text(user, "after reset")
    response = await asyncio.wait_for(poll, 5)
    assert [update["message"]["text"] for update in response.json()["result"]] == ["after reset"]
    assert await api.ok("getMyCommands") == commands
    await tg.reset(full=True)
    assert await api.ok("getMyCommands") == []


async def test_star_transactions_list_payments_and_refunds_in_order_even_when_the_update_was_lost(tg, api, user):
    await tg.send_text(user, "/start")
    invoice = await api.ok(
        "sendInvoice",
        chat_id=user.id,
        title="Course",
        description="A course",
        payload="p-1",
        currency="XTR",
        prices=[{"label": "Course", "amount": 250}],
    )
    delivered = await tg.send_successful_payment(user, invoice_message_id=invoice["message_id"])
    lost = await tg.send_successful_payment(user, invoice_message_id=invoice["message_id"], deliver_update=False)
    first_charge = delivered.successful_payment["telegram_payment_charge_id"]
    await api.ok("refundStarPayment", user_id=user.id, telegram_payment_charge_id=first_charge)

    updates = await api.ok("getUpdates")
    result = await api.ok("getStarTransactions", offset=0, limit=100)

    payments = [u["message"]["successful_payment"] for u in updates if "successful_payment" in u.get("message", {})]
    assert [p["telegram_payment_charge_id"] for p in payments] == [first_charge]
    lost_charge = lost.successful_payment["telegram_payment_charge_id"]
    incoming = [t for t in result["transactions"] if "source" in t]
    outgoing = [t for t in result["transactions"] if "receiver" in t]
    assert [t["id"] for t in incoming] == [first_charge, lost_charge]
    assert [t["id"] for t in outgoing] == [first_charge]
    assert incoming[1]["source"]["invoice_payload"] == "p-1"
    assert incoming[1]["source"]["user"]["id"] == user.id
    assert (await api.ok("getStarTransactions", offset=1, limit=1))["transactions"] == [result["transactions"][1]]
    assert (await api.refused("getStarTransactions", limit=101))["description"].endswith("LIMIT_INVALID")


async def test_two_emulators_number_their_updates_apart_like_telegram_after_a_quiet_week():
    # A restarted emulator that counted from 1 again reused ids the bot had already de-duplicated.
    from academy_tg_emulator.state import Emulator

    firsts = set()
    for _ in range(5):
        emulator = Emulator(EmulatorConfig())
        firsts.add(next(emulator._update_ids))
    fixed = Emulator(EmulatorConfig(first_update_id=7))

    assert len(firsts) == 5
    assert next(fixed._update_ids) == 7
