"""Albums (`sendMediaGroup`) and Telegram's 20 MB download limit (`getFile`)."""

from __future__ import annotations

import json

from academy_tg_emulator import DEFAULT_BOT_TOKEN, EmulatorClient, EmulatorServer, TestUser
from academy_tg_emulator.testing import RawBotApi, make_png
from aiogram import Bot
from aiogram.types import BufferedInputFile, InputMediaPhoto

API = f"/bot{DEFAULT_BOT_TOKEN}"


async def test_an_album_of_uploaded_photos_shares_one_media_group_id(
    api: RawBotApi, tg: EmulatorClient, user: TestUser
) -> None:
    await tg.send_text(user, "hi")
    media = [
        {"type": "photo", "media": "attach://first", "caption": "<b>1</b> · current", "parse_mode": "HTML"},
        {"type": "photo", "media": "attach://second", "caption": "2"},
    ]
    response = await api.http.post(
        f"{API}/sendMediaGroup",
        data={"chat_id": str(user.id), "media": json.dumps(media)},
        files={"first": ("a.png", make_png(64, 48), "image/png"), "second": ("b.png", make_png(32, 32), "image/png")},
    )
    body = response.json()
    assert body["ok"] is True, body
    first, second = body["result"]
    assert first["media_group_id"] == second["media_group_id"]
    assert isinstance(first["media_group_id"], str)
    assert (first["photo"][-1]["width"], first["photo"][-1]["height"]) == (64, 48)
    assert first["caption"] == "1 · current"
    assert first["caption_entities"] == [{"type": "bold", "offset": 0, "length": 1}]
    assert second["caption"] == "2"
    assert second["message_id"] == first["message_id"] + 1

    stored = await tg.messages(user.id)
    assert [m.media_group_id for m in stored] == [first["media_group_id"], first["media_group_id"]]
    assert [m.method for m in stored] == ["sendMediaGroup", "sendMediaGroup"]
    assert await tg.download_document(stored[1].file_id or "") == make_png(32, 32)

    # Sent again by file_id: a new album.
    again = await api.ok(
        "sendMediaGroup",
        chat_id=user.id,
        media=[
            {"type": "photo", "media": first["photo"][-1]["file_id"]},
            {"type": "photo", "media": stored[1].file_id},
        ],
    )
    assert again[0]["media_group_id"] != first["media_group_id"]
    assert again[0]["photo"][-1]["file_unique_id"] == first["photo"][-1]["file_unique_id"]


async def test_a_single_item_is_one_message_outside_any_album(
    api: RawBotApi, tg: EmulatorClient, user: TestUser
) -> None:
    await tg.send_text(user, "hi")
    response = await api.http.post(
        f"{API}/sendMediaGroup",
        data={"chat_id": str(user.id), "media": json.dumps([{"type": "photo", "media": "attach://only"}])},
        files={"only": ("a.png", make_png(8, 8), "image/png")},
    )
    (message,) = response.json()["result"]
    assert "media_group_id" not in message
    assert message["photo"][-1]["width"] == 8


async def test_albums_telegram_refuses_send_and_store_nothing(
    api: RawBotApi, tg: EmulatorClient, user: TestUser
) -> None:
    await tg.send_text(user, "hi")
    png = make_png(8, 8)
    uploaded = await api.http.post(
        f"{API}/sendPhoto", data={"chat_id": str(user.id), "photo": "attach://p"}, files={"p": ("p.png", png)}
    )
    file_id = uploaded.json()["result"]["photo"][-1]["file_id"]
    document = await api.http.post(
        f"{API}/sendDocument",
        data={"chat_id": str(user.id)},
        files={"document": ("notes.pdf", b"%PDF-1.4", "application/pdf")},
    )
    document_id = document.json()["result"]["document"]["file_id"]
    before = len(await tg.messages(user.id))

    cases = [
        ([], "Bad Request: there are no messages to send"),
        ([{"type": "photo", "media": file_id}] * 11, "Bad Request: too many messages to send as an album"),
        (
            [{"type": "photo", "media": file_id}, {"type": "document", "media": document_id}],
            "Bad Request: document can't be mixed with other media types",
        ),
        ([{"type": "photo", "media": "attach://missing"}], "Bad Request: can't parse InputMedia: media not found"),
        ([{"type": "photo"}], "Bad Request: can't parse InputMedia: media not found"),
        ([{"type": "sticker", "media": file_id}], "Bad Request: can't parse InputMedia: unsupported media type"),
        (
            [{"type": "photo", "media": file_id}, {"type": "photo", "media": file_id, "caption": "x" * 1025}],
            "Bad Request: message caption is too long",
        ),
    ]
    for media, description in cases:
        body = await api.refused("sendMediaGroup", chat_id=user.id, media=media)
        assert body["description"] == description, media
    body = await api.refused("sendMediaGroup", chat_id=user.id, media="not json")
    assert body["description"] == "Bad Request: can't parse media JSON object"
    body = await api.refused("sendMediaGroup", chat_id=user.id, media={"type": "photo"})
    assert body["description"] == "Bad Request: expected an Array of InputMedia"
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    body = await api.refused(
        "sendMediaGroup", chat_id=user.id, media=[{"type": "photo", "media": file_id}] * 2, reply_markup=markup
    )
    assert body["description"] == "Bad Request: parameter reply_markup is not supported by sendMediaGroup"
    not_an_image = await api.http.post(
        f"{API}/sendMediaGroup",
        data={
            "chat_id": str(user.id),
            "media": json.dumps([{"type": "photo", "media": file_id}, {"type": "photo", "media": "attach://x"}]),
        },
        files={"x": ("x.png", b"not an image")},
    )
    assert not_an_image.json()["description"] == "Bad Request: IMAGE_PROCESS_FAILED"
    assert len(await tg.messages(user.id)) == before

    documents = await api.ok(
        "sendMediaGroup",
        chat_id=user.id,
        media=[{"type": "document", "media": document_id}, {"type": "document", "media": document_id}],
    )
    assert [m["document"]["file_name"] for m in documents] == ["notes.pdf", "notes.pdf"]


async def test_aiogram_sends_an_album_of_uploads(bot: Bot, tg: EmulatorClient, user: TestUser) -> None:
    await tg.send_text(user, "hi")
    sent = await bot.send_media_group(
        user.id,
        [
            InputMediaPhoto(media=BufferedInputFile(make_png(20, 10), "a.png"), caption="first"),
            InputMediaPhoto(media=BufferedInputFile(make_png(10, 20), "b.png"), caption="second"),
        ],
    )
    assert [m.caption for m in sent] == ["first", "second"]
    assert sent[0].media_group_id is not None
    assert sent[0].media_group_id == sent[1].media_group_id
    assert sent[1].photo is not None
    assert (sent[1].photo[-1].width, sent[1].photo[-1].height) == (10, 20)


async def test_a_bot_cannot_download_a_file_over_20_mb(
    api: RawBotApi, tg: EmulatorClient, user: TestUser, emulator_server: EmulatorServer
) -> None:
    await tg.send_text(user, "hi")
    emulator = emulator_server.emulator
    limit = 20 * 1024 * 1024
    big = emulator.store_file(
        "document", b"\0" * (limit + 1), file_name="big.bin", mime_type="application/octet-stream", extension="bin"
    )
    fits = emulator.store_file(
        "document", b"\0" * limit, file_name="fits.bin", mime_type="application/octet-stream", extension="bin"
    )
    assert (await api.refused("getFile", file_id=big.file_id))["description"] == "Bad Request: file is too big"
    assert (await api.ok("getFile", file_id=fits.file_id))["file_size"] == limit
