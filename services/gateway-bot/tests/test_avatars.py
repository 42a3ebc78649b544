"""Avatars through the chat: a photo from the profile screen becomes the avatar at once; a photo at any other
time is offered first (and a doubled «Да» sets it once); image files are taken, other files refused in
words; the profile card is a photo; «Мои фото» shows the history, goes back to an earlier photo and deletes
the current one. The users service keeps and processes the images (S3 through TEST_S3_ENDPOINT)."""

import asyncio
import secrets
import struct
import time
import zlib
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from academy_runtime.errors import DependencyUnavailableError
from academy_runtime.storage import object_storage
from academy_tg_emulator.client import ChatMessage, TestUser
from academy_tg_emulator.media import image_size
from academy_tg_emulator.testing import make_png
from httpx_aiohttp import AiohttpTransport

from .erasure_support import needs_s3
from .learning_support import has_text, register, unique, wait_for_edit

pytestmark = pytest.mark.integration

WAIT = 20.0


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares `width` x `height` and whose pixels are a few bytes: a decompression bomb
    as far as anyone who trusts the header is concerned."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


async def avatars_in_users(gateway, user_id: int) -> list:
    return await gateway.clients.users.avatars(user_id)


async def open_profile(tg, user: TestUser) -> ChatMessage:
    sent = await tg.send_command(user, "profile")
    return await tg.wait_for_reply(sent, has_text("Имя:"), timeout=WAIT)


async def wait_for_photo_change(tg, user: TestUser, card: ChatMessage) -> ChatMessage:
    """From the profile card: «📷 Сменить фото», and the bot waiting for a photo."""
    await tg.press_button_by_text(user, card, "📷 Сменить фото")
    return await tg.wait_for_message(user.id, has_text("Пришлите фото"), after=card.message_id, timeout=WAIT)


async def test_someone_not_registered_is_told_to_register_before_setting_a_photo(gateway, tg):
    stranger = TestUser.new("Stranger", language_code="ru")
    await tg.create_user(stranger)

    reply = await tg.wait_for_reply(await tg.send_photo(stranger, make_png(64, 64)), timeout=WAIT)

    assert "сначала зарегистрируйтесь" in (reply.text or "")
    assert "/start" in (reply.text or "")
    # A file that is no image is not about photos at all.
    other = await tg.wait_for_reply(await tg.send_document(stranger, b"%PDF-1.4", "cv.pdf"), timeout=WAIT)
    assert "Файлы я пока не читаю" in (other.text or "")
    assert "/start" in (other.text or "")


@needs_s3
async def test_a_photo_sent_from_the_profile_becomes_the_avatar_and_the_card_a_photo(gateway, tg):
    user, learner = await register(gateway, tg, full_name="Алиса Фотова")
    card = await open_profile(tg, user)
    assert card.photo is None  # no avatar yet: the card is a text
    asked = await wait_for_photo_change(tg, user, card)
    assert "JPEG, PNG или WebP" in (asked.text or "")

    sent = await tg.send_photo(user, make_png(600, 400))
    done = await tg.wait_for_reply(sent, has_text("✅ Фото профиля обновлено"), timeout=WAIT)
    photo_card = await tg.wait_for_message(user.id, lambda m: bool(m.photo), after=done.message_id, timeout=WAIT)

    history = await avatars_in_users(gateway, learner["id"])
    assert [(a.is_current, a.width, a.height) for a in history] == [(True, 400, 400)]  # the square users made
    # The card is the avatar (users' square, not scaled up) with the card as its caption and its buttons.
    assert "Имя: Алиса Фотова" in (photo_card.caption or "")
    assert "🖼 Мои фото" in [b["text"] for b in photo_card.inline_buttons()]
    shown = await tg.download_document(photo_card.file_id or "")
    assert shown[:4] == b"RIFF"
    assert shown[8:12] == b"WEBP"
    assert image_size(shown) == (400, 400)
    # Shown again, the photo goes by Telegram's file id (no second download from users).
    again = await open_profile(tg, user)
    assert again.photo is not None
    assert photo_card.photo is not None
    assert again.photo[-1]["file_unique_id"] == photo_card.photo[-1]["file_unique_id"]


@needs_s3
async def test_a_photo_at_any_other_time_is_offered_and_a_doubled_yes_sets_it_once(gateway, tg):
    user, learner = await register(gateway, tg)

    sent = await tg.send_photo(user, make_png(300, 300))
    offer = await tg.wait_for_reply(sent, has_text("Сделать это фото аватаром?"), timeout=WAIT)
    assert [b["text"] for b in offer.inline_buttons()] == ["✅ Да", "✖️ Нет"]
    assert await avatars_in_users(gateway, learner["id"]) == []  # nothing before the answer

    yes = offer.button("✅ Да")["callback_data"]
    first = await tg.press_button(user, offer.message_id, yes)
    second = await tg.press_button(user, offer.message_id, yes)
    await wait_for_edit(tg, offer, has_text("✅ Фото профиля обновлено"), timeout=WAIT)
    second_answer = await tg.wait_for_callback_answer(second, timeout=WAIT)
    await tg.wait_for_callback_answer(first, timeout=WAIT)

    history = await avatars_in_users(gateway, learner["id"])
    assert len(history) == 1
    assert history[0].is_current
    assert "уже стоит в профиле" in (second_answer.text or "")

    # No: the photo is not taken.
    sent = await tg.send_photo(user, make_png(200, 200))
    offer = await tg.wait_for_reply(sent, has_text("Сделать это фото аватаром?"), timeout=WAIT)
    yes = offer.button("✅ Да")["callback_data"]
    await tg.press_button_by_text(user, offer, "✖️ Нет")
    await wait_for_edit(tg, offer, has_text("не меняем"), timeout=WAIT)
    assert [a.id for a in await avatars_in_users(gateway, learner["id"])] == [history[0].id]
    # «Да» of the declined offer, delivered late: the offer was answered, nothing is set.
    late = await tg.press_button(user, offer.message_id, yes, check_button=False)
    assert "не меняем" in ((await tg.wait_for_callback_answer(late, timeout=WAIT)).text or "")
    assert [a.id for a in await avatars_in_users(gateway, learner["id"])] == [history[0].id]


@needs_s3
async def test_image_files_are_taken_and_other_files_refused_in_words(gateway, tg):
    user, learner = await register(gateway, tg)
    card = await open_profile(tg, user)
    await wait_for_photo_change(tg, user, card)

    async def reply_to_file(content: bytes, name: str, mime: str) -> str:
        sent = await tg.send_document(user, content, name, mime_type=mime)
        reply = await tg.wait_for_reply(sent, timeout=WAIT)
        return reply.text or ""

    # Not an image by its type: refused without a download, and the chat keeps waiting for a photo.
    pdf = await reply_to_file(b"%PDF-1.4 notes", "notes.pdf", "application/pdf")
    assert "Это не изображение" in pdf
    # Says it is a JPEG, is not an image at all: users refuses it.
    fake = await reply_to_file(b"this is text, not a picture", "photo.jpg", "image/jpeg")
    assert "Это не изображение" in fake
    assert "Формат файла" not in fake  # it is no JPEG: no format is named for what is not an image
    # A GIF sent as a photo (no declared type): named as well, by its bytes.
    gif_bytes = b"GIF89a" + b"\x01\x00\x01\x00" + b"\0" * 32
    gif_photo = await tg.wait_for_reply(await tg.send_photo(user, gif_bytes), timeout=WAIT)
    assert "формат изображения не подходит" in (gif_photo.text or "")
    assert "GIF" in (gif_photo.text or "")
    # A format users does not take: named.
    gif = await reply_to_file(b"GIF89a" + b"\x01\x00\x01\x00" + b"\0" * 32, "anim.gif", "image/gif")
    assert "формат изображения не подходит" in gif
    assert "GIF" in gif
    # A header declaring 400 million pixels: refused before anything is decoded.
    bomb = await reply_to_file(png_header_only(20_000, 20_000), "huge.png", "image/png")
    assert "слишком много пикселей" in bomb
    # Larger than Telegram lets a bot download: refused without trying (the update as Telegram sends it).
    await tg.send_update(
        {
            "message": {
                "message_id": 900_000 + secrets.randbelow(99_999),
                "date": int(time.time()),
                "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
                "from": user.payload() | {"is_bot": False},
                "document": {
                    "file_id": unique("BQACbig"),
                    "file_unique_id": unique("AQADbig"),
                    "file_name": "raw.png",
                    "mime_type": "image/png",
                    "file_size": 25 * 1024 * 1024,
                },
            }
        }
    )
    too_big = await tg.wait_for_message(user.id, has_text("слишком большой"), after=card.message_id, timeout=WAIT)
    assert "до 10 МБ" in (too_big.text or "")
    assert await avatars_in_users(gateway, learner["id"]) == []

    # An uncompressed image file (whatever its name says, a PNG is taken as a PNG) becomes the avatar.
    sent = await tg.send_document(user, make_png(128, 160), "portrait.jpg", mime_type="image/jpeg")
    await tg.wait_for_reply(sent, has_text("✅ Фото профиля обновлено"), timeout=WAIT)
    history = await avatars_in_users(gateway, learner["id"])
    assert [(a.is_current, a.width, a.height) for a in history] == [(True, 128, 128)]


@needs_s3
async def test_my_photos_shows_the_history_goes_back_to_an_earlier_photo_and_deletes_the_current(gateway, tg):
    user, learner = await register(gateway, tg)
    users = gateway.clients.users
    first = await users.upload_avatar(learner["id"], make_png(100, 100), "image/png", idempotency_key=unique("a"))
    second = await users.upload_avatar(learner["id"], make_png(150, 150), "image/png", idempotency_key=unique("a"))
    card = await open_profile(tg, user)
    assert card.photo is not None

    await tg.press_button_by_text(user, card, "🖼 Мои фото")
    screen = await tg.wait_for_message(user.id, has_text("Фото профиля: 2"), after=card.message_id, timeout=WAIT)
    album = [m for m in await tg.messages(user.id, after=card.message_id) if m.photo]
    assert len(album) == 2
    assert album[0].media_group_id is not None
    assert album[0].media_group_id == album[1].media_group_id
    today = datetime.now(UTC).strftime("%d.%m.%Y")
    assert [m.caption for m in album] == [f"№1 · текущее · {today}", f"№2 · {today}"]
    assert image_size(await tg.download_document(album[1].file_id or "")) == (100, 100)  # small: not scaled up
    assert [b["text"] for b in screen.inline_buttons()] == ["↩️ Вернуть №2", "🗑 Удалить текущее фото", "📷 Сменить фото"]

    await tg.press_button_by_text(user, screen, "↩️ Вернуть №2")
    restored = await tg.wait_for_message(
        user.id, has_text("снова в вашем профиле"), after=screen.message_id, timeout=WAIT
    )
    assert restored.photo is not None
    current = [a.id for a in await users.avatars(learner["id"]) if a.is_current]
    assert current == [first.id]

    # The first screen's delete button meant the photo that was current then: a stale screen deletes nothing.
    stale = await tg.press_button_by_text(user, screen, "🗑 Удалить текущее фото")
    assert "уже не текущее" in ((await tg.wait_for_callback_answer(stale, timeout=WAIT)).text or "")
    assert len(await users.avatars(learner["id"])) == 2

    await tg.press_button_by_text(user, restored, "🖼 Мои фото")
    screen = await tg.wait_for_message(user.id, has_text("Фото профиля: 2"), after=restored.message_id, timeout=WAIT)
    assert "↩️ Вернуть №1" in [b["text"] for b in screen.inline_buttons()]  # the newer one, now not current
    await tg.press_button_by_text(user, screen, "🗑 Удалить текущее фото")
    await tg.wait_for_message(user.id, has_text("Текущее фото удалено"), after=screen.message_id, timeout=WAIT)

    assert [(a.id, a.is_current) for a in await users.avatars(learner["id"])] == [(second.id, False)]
    card = await open_profile(tg, user)
    assert card.photo is None  # no current avatar: the card is a text again
    # No current photo: the history neither offers nor mentions deleting one.
    await tg.press_button_by_text(user, card, "🖼 Мои фото")
    screen = await tg.wait_for_message(user.id, has_text("Фото профиля: 1"), after=card.message_id, timeout=WAIT)
    assert "Удалить текущее фото" not in (screen.text or "")
    assert "🗑 Удалить текущее фото" not in [b["text"] for b in screen.inline_buttons()]


def image_file_of(size: int) -> bytes:
    """`size` bytes that start as a PNG (the rest random, so nothing compresses it on the way)."""
    return b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(size - 8)


async def offer_for(tg, user: TestUser, content: bytes, name: str) -> tuple[ChatMessage, ChatMessage]:
    """The image file sent, and the bot's offer to make it the avatar."""
    sent = await tg.send_document(user, content, name, mime_type="image/png")
    return sent, await tg.wait_for_reply(sent, has_text("Сделать это фото аватаром?"), timeout=WAIT)


@needs_s3
async def test_a_file_over_the_users_limit_is_refused_by_its_size_before_any_download(gateway, tg):
    user, learner = await register(gateway, tg)
    content = image_file_of(12 * 1024 * 1024)  # over users' AVATAR_MAX_BYTES, under Telegram's 20 MB
    sent, offer = await offer_for(tg, user, content, "big.png")
    file_id = sent.file_id
    since = max([call.seq for call in await tg.calls()] or [0])

    await tg.press_button_by_text(user, offer, "✅ Да")

    refusal = await tg.wait_for_message(
        user.id, has_text("Файл слишком большой для фото профиля"), after=offer.message_id, timeout=WAIT
    )
    assert "до 10 МБ" in (refusal.text or "")
    downloads = [call for call in await tg.calls("getFile", since=since) if call.params.get("file_id") == file_id]
    assert file_id is not None
    assert downloads == []  # refused by Telegram's file_size: not one byte downloaded
    assert await avatars_in_users(gateway, learner["id"]) == []


class BodyRefusingUsers:
    """In front of the users service: the avatar upload is answered as users behind a real server answers a
    body over AVATAR_MAX_BYTES (413, `Connection: close`, the connection closed while the gateway still
    sends: over TCP with the transport ServiceClient uses, so the client meets the reset as it would); everything
    else goes to users."""

    def __init__(self, users_transport: Any, port: int) -> None:
        self.users = users_transport
        self.tcp = AiohttpTransport()  # what ServiceClient sends with
        self.port = port
        self.uploads = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/avatars"):
            self.uploads += 1
            url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
            forwarded = httpx.Request(
                request.method, url, headers=request.headers, content=request.content, extensions=request.extensions
            )
            return await self.tcp.handle_async_request(forwarded)
        return await self.users.handle_async_request(request)

    async def aclose(self) -> None:
        await self.tcp.aclose()


async def refuse_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read the request's head and a little of its body, answer 413 and close (users' body limit)."""
    head = b""
    while b"\r\n\r\n" not in head:
        head += await reader.read(65536)
    body = b'{"error":{"code":"payload_too_large","message":"the request body is over the limit"}}'
    writer.write(
        b"HTTP/1.1 413 Payload Too Large\r\ncontent-type: application/json\r\nconnection: close\r\n"
        + f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    writer.close()


@needs_s3
async def test_a_body_users_refuses_by_closing_the_connection_is_too_big_not_unavailable(gateway, tg, monkeypatch):
    user, learner = await register(gateway, tg)
    server = await asyncio.start_server(refuse_body, "127.0.0.1", 0)
    users_http = gateway.clients.users._http  # the test puts a refusing server in front of users
    refusing = BodyRefusingUsers(users_http._transport, server.sockets[0].getsockname()[1])
    monkeypatch.setattr(users_http, "_transport", refusing)
    try:
        # Under the gateway's limit, yet refused: a users configured with a lower AVATAR_MAX_BYTES.
        _sent, offer = await offer_for(tg, user, image_file_of(8 * 1024 * 1024), "large.png")
        await tg.press_button_by_text(user, offer, "✅ Да")
        refusal = await tg.wait_for_message(
            user.id, has_text("Файл слишком большой для фото профиля"), after=offer.message_id, timeout=WAIT
        )
    finally:
        server.close()
        await refusing.aclose()
    said = [m.text or "" for m in await tg.messages(user.id, after=offer.message_id)]
    assert not any("временно недоступен" in text for text in said)
    assert refusing.uploads == 1  # a refused body is not sent again
    assert refusal.text is not None
    assert await avatars_in_users(gateway, learner["id"]) == []


@needs_s3
async def test_a_failure_after_the_press_was_answered_is_told_in_the_chat(gateway, tg, monkeypatch):
    user, learner = await register(gateway, tg)
    offer = await tg.wait_for_reply(
        await tg.send_photo(user, make_png(64, 64)), has_text("Сделать это фото аватаром?"), timeout=WAIT
    )

    async def users_down(*_args: object, **_kwargs: object) -> None:
        raise DependencyUnavailableError("users is unreachable")

    monkeypatch.setattr(gateway.clients.users, "upload_avatar", users_down)
    press = await tg.press_button_by_text(user, offer, "✅ Да")  # answered at once, then the upload fails

    told = await tg.wait_for_message(user.id, has_text("временно недоступен"), after=offer.message_id, timeout=WAIT)
    assert told.text is not None
    assert (await tg.wait_for_callback_answer(press, timeout=WAIT)).text in (None, "")
    assert await avatars_in_users(gateway, learner["id"]) == []


@pytest.mark.parametrize(
    "forged", ["ava:restore:-1", "ava:restore:2147483648", "ava:remove:0", "era:confirm:-5:", "crs:card:99999999999"]
)
async def test_a_forged_id_in_a_button_is_answered_as_a_stale_button(gateway, tg, forged):
    user, learner = await register(gateway, tg)
    card = await open_profile(tg, user)

    press = await tg.press_button(user, card.message_id, forged, check_button=False)

    answer = await tg.wait_for_callback_answer(press, timeout=WAIT)
    assert "устарела" in (answer.text or "")
    assert await gateway.clients.users.account(learner["id"])  # nothing was done to the account


@needs_s3
async def test_a_refused_offer_says_so_instead_of_still_asking(gateway, tg):
    user, _learner = await register(gateway, tg)
    gif = b"GIF89a" + b"\x01\x00\x01\x00" + b"\0" * 32
    offer = await tg.wait_for_reply(
        await tg.send_photo(user, gif), has_text("Сделать это фото аватаром?"), timeout=WAIT
    )

    await tg.press_button_by_text(user, offer, "✅ Да")

    refusal = await tg.wait_for_message(user.id, has_text("не подходит"), after=offer.message_id, timeout=WAIT)
    assert "GIF" in (refusal.text or "")
    settled = await wait_for_edit(tg, offer, has_text("не подошло"), timeout=WAIT)
    assert "Сделать это фото аватаром?" not in (settled.text or "")
    assert settled.inline_buttons() == []


@needs_s3
async def test_older_photos_are_a_page_further_numbered_on_and_restorable(gateway, tg):
    user, learner = await register(gateway, tg)
    users = gateway.clients.users
    uploaded = [
        await users.upload_avatar(learner["id"], make_png(64 + i, 64 + i), "image/png", idempotency_key=unique("a"))
        for i in range(12)
    ]
    card = await open_profile(tg, user)

    await tg.press_button_by_text(user, card, "🖼 Мои фото")
    first = await tg.wait_for_message(user.id, has_text("Фото профиля: 12"), after=card.message_id, timeout=WAIT)
    assert "№1–10" in (first.text or "")
    buttons = [b["text"] for b in first.inline_buttons()]
    assert "↩️ Вернуть №10" in buttons
    assert "↩️ Вернуть №11" not in buttons
    assert buttons[-3:] == ["⬅️ Старше", "🗑 Удалить текущее фото", "📷 Сменить фото"]

    await tg.press_button_by_text(user, first, "⬅️ Старше")
    second = await tg.wait_for_message(user.id, has_text("Фото профиля: 12"), after=first.message_id, timeout=WAIT)
    album = [m for m in await tg.messages(user.id, after=first.message_id) if m.photo]
    today = datetime.now(UTC).strftime("%d.%m.%Y")
    assert [m.caption for m in album] == [f"№11 · {today}", f"№12 · {today}"]
    assert "№11–12" in (second.text or "")
    assert "Удалить текущее фото" in (second.text or "")  # the current photo is on the first page, still deletable
    assert [b["text"] for b in second.inline_buttons()] == [
        "↩️ Вернуть №11",
        "↩️ Вернуть №12",
        "Новее ➡️",
        "🗑 Удалить текущее фото",
        "📷 Сменить фото",
    ]

    await tg.press_button_by_text(user, second, "↩️ Вернуть №12")
    await tg.wait_for_message(user.id, has_text("снова в вашем профиле"), after=second.message_id, timeout=WAIT)
    assert [a.id for a in await users.avatars(learner["id"]) if a.is_current] == [uploaded[0].id]

    # Back to the newer page: №1 (the newest) is not current any more and can be restored.
    await tg.press_button_by_text(user, second, "Новее ➡️")
    newer = await tg.wait_for_message(user.id, has_text("№1–10"), after=second.message_id, timeout=WAIT)
    assert "↩️ Вернуть №1" in [b["text"] for b in newer.inline_buttons()]


@needs_s3
async def test_photos_gone_from_storage_are_named_on_the_card_and_in_my_photos(gateway, tg, services):
    user, learner = await register(gateway, tg)
    users = gateway.clients.users
    storage = object_storage(services["users"].resources)
    gone = [
        await users.upload_avatar(learner["id"], make_png(80 + i, 80 + i), "image/png", idempotency_key=unique("a"))
        for i in range(2)
    ]
    for avatar in gone:
        assert await storage.remove_prefix(f"avatars/{learner['id']}/{avatar.id}/") > 0

    card = await open_profile(tg, user)
    assert card.photo is None
    assert "Фото профиля сейчас недоступно" in (card.text or "")
    assert "пришлите новое" in (card.text or "")

    await tg.press_button_by_text(user, card, "🖼 Мои фото")
    screen = await tg.wait_for_message(user.id, has_text("Фото профиля: 2"), after=card.message_id, timeout=WAIT)
    assert "Не удалось показать ни одно фото: №1, №2" in (screen.text or "")
    assert "Выше" not in (screen.text or "")
    assert not [m for m in await tg.messages(user.id, after=card.message_id) if m.photo]
    assert [b["text"] for b in screen.inline_buttons()] == ["🗑 Удалить текущее фото", "📷 Сменить фото"]

    # A new photo is shown; the gone ones are named by their numbers.
    await users.upload_avatar(learner["id"], make_png(120, 120), "image/png", idempotency_key=unique("a"))
    card = await open_profile(tg, user)
    assert card.photo is not None
    assert "недоступно" not in (card.caption or "")
    await tg.press_button_by_text(user, card, "🖼 Мои фото")
    screen = await tg.wait_for_message(user.id, has_text("Фото профиля: 3"), after=card.message_id, timeout=WAIT)
    assert "Выше — №1–3" in (screen.text or "")
    assert "Не удалось показать №2, №3" in (screen.text or "")
    assert [b["text"] for b in screen.inline_buttons()] == ["🗑 Удалить текущее фото", "📷 Сменить фото"]
