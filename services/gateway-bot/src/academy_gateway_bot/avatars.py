"""Avatars in the chat: a photo the learner sends becomes their avatar in the users service, and the bot
shows avatars (the profile card, the history) from there.

Setting one: the largest size of the photo (or the image file, sent uncompressed) is downloaded from
Telegram with the bot (`bot.download`) and uploaded to users (`POST /internal/users/{id}/avatars`), which
checks and processes it. The media type sent is the one the bytes show (JPEG, PNG, WebP signatures):
Telegram re-encodes a photo as JPEG, a file keeps what the learner's device made, whatever its name says;
bytes of no accepted format go with the type the file declared, and users says what they are. Each refusal
becomes an `AvatarRefusedError` whose `reason` the chat words (`avatar-refused-<reason>`).

Showing one: users serves WebP squares (`large` 512 px, `small` 128 px). The first time an image is sent,
Telegram gives it a `file_id`; it is remembered in Redis (`redis_keys.avatar_file`) and the image is sent
by id afterwards, without asking users for the bytes again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from academy_runtime.client import ServiceCallError
from academy_runtime.resources import RedisClient
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, Document, InlineKeyboardMarkup, InputMediaPhoto, Message

from academy_gateway_bot import redis_keys
from academy_gateway_bot.clients import Avatar, AvatarSize, ServiceClients

log = logging.getLogger(__name__)

TELEGRAM_DOWNLOAD_LIMIT_BYTES = 20 * 1024 * 1024
"""A bot downloads files of at most 20 MB from Telegram's cloud Bot API (https://core.telegram.org/bots/api#getfile)."""
ALBUM_LIMIT = 10
"""A media group holds at most 10 items (https://core.telegram.org/bots/api#sendmediagroup)."""

RefusalReason = Literal["too_big", "not_an_image", "unsupported_type", "type_mismatch", "too_many_pixels"]

# What users answers (its error `code`) → why the chat says the photo was refused.
_REASONS_BY_CODE: dict[str, RefusalReason] = {
    "payload_too_large": "too_big",
    "not_an_image": "not_an_image",
    "unsupported_image_type": "unsupported_type",
    "image_type_mismatch": "type_mismatch",
    "image_too_many_pixels": "too_many_pixels",
}
_PAYLOAD_TOO_LARGE = 413
# Types a file may declare that can still turn out to be an image (a file without an extension).
_MAYBE_IMAGE_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
_WEBP_HEADER_LENGTH = 12
# Formats users refuses, named in the refusal (ISO/IEC 23008-12 brands for HEIF).
_OTHER_FORMATS = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"})


class AvatarRefusedError(Exception):
    """The photo cannot become an avatar; `reason` says why in words the learner can act on; `detected`
    names the file's real format when users recognised one it does not accept (GIF, HEIC…)."""

    def __init__(self, reason: RefusalReason, detected: str | None = None) -> None:
        super().__init__(reason)
        self.reason: RefusalReason = reason
        self.detected = detected


@dataclass(frozen=True)
class IncomingImage:
    """A photo or an image file a learner sent: what is needed to download it later (kept in the FSM data
    while the learner confirms). `declared_type`: the file's MIME type as their client set it (None for a
    photo, which Telegram re-encodes as JPEG)."""

    file_id: str
    file_unique_id: str
    file_size: int | None
    declared_type: str | None

    @classmethod
    def from_message(cls, message: Message) -> IncomingImage | None:
        """The largest size of a photo, or a file that may be an image; None for anything else."""
        if message.photo:
            largest = max(message.photo, key=lambda size: size.width * size.height)
            return cls(largest.file_id, largest.file_unique_id, largest.file_size, None)
        if message.document is not None and may_be_image(message.document):
            document = message.document
            return cls(document.file_id, document.file_unique_id, document.file_size, document.mime_type)
        return None

    def as_data(self) -> dict[str, Any]:
        """The image as JSON-ready data for the FSM (Redis)."""
        return asdict(self)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> IncomingImage:
        """The image `as_data` stored."""
        size, declared = data.get("file_size"), data.get("declared_type")
        return cls(
            file_id=str(data["file_id"]),
            file_unique_id=str(data["file_unique_id"]),
            file_size=int(size) if size is not None else None,
            declared_type=str(declared) if declared is not None else None,
        )


def may_be_image(document: Document) -> bool:
    """Whether a file could be an image by what its sender's client says (`image/*`, or no type at all):
    worth downloading. A PDF or a video is refused without it."""
    declared = (document.mime_type or "").split(";")[0].strip().lower()
    return declared.startswith("image/") or declared in _MAYBE_IMAGE_TYPES


def sniff_image_type(data: bytes) -> str | None:
    """The media type the bytes' signature shows, for the formats users accepts (JPEG, PNG, WebP)."""
    for signature, media_type in _SIGNATURES:
        if data.startswith(signature):
            return media_type
    if len(data) >= _WEBP_HEADER_LENGTH and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


async def set_avatar(
    bot: Bot, clients: ServiceClients, user_id: int, image: IncomingImage, *, idempotency_key: str, max_bytes: int
) -> Avatar:
    """Download `image` from Telegram and make it the learner's avatar. Raises `AvatarRefusedError` (too
    big for Telegram's download or for users, not an image, a format users does not take, lying about its
    type, too many pixels); `NotFoundError` when users has no such learner (erased).

    `max_bytes` is users' AVATAR_MAX_BYTES (the gateway's setting of the same name): a file Telegram says is
    larger is refused unread, one that downloads larger is refused unsent (users would close the connection on
    it mid-body). Telegram's `file_size` is optional, hence both."""
    if image.file_size is not None and image.file_size > min(max_bytes, TELEGRAM_DOWNLOAD_LIMIT_BYTES):
        raise AvatarRefusedError("too_big")
    try:
        downloaded = await bot.download(image.file_id)
    except TelegramBadRequest as exc:
        if "too big" in exc.message.lower():
            raise AvatarRefusedError("too_big") from exc
        raise
    data = downloaded.read() if downloaded is not None else b""
    if len(data) > max_bytes:
        raise AvatarRefusedError("too_big")
    content_type = sniff_image_type(data) or (image.declared_type or "application/octet-stream")
    try:
        return await clients.users.upload_avatar(user_id, data, content_type, idempotency_key=idempotency_key)
    except ServiceCallError as exc:
        reason = _REASONS_BY_CODE.get(exc.code)
        if reason is None and exc.status_code == _PAYLOAD_TOO_LARGE:
            reason = "too_big"
        if reason is None:
            raise
        raise AvatarRefusedError(reason, _format_named(reason, exc.details, data, image)) from exc


def _format_named(
    reason: RefusalReason, details: dict[str, Any] | None, data: bytes, image: IncomingImage
) -> str | None:
    """The format a refusal names: for a format users does not take, what users detected, else what the
    bytes' signature shows (a GIF sent as a photo declares no type), else what the file declared; for a type
    lie, what users detected. Never for a file that is not an image at all (a text named photo.jpg is no
    JPEG)."""
    detected = (details or {}).get("detected")
    if reason == "unsupported_type":
        detected = detected or sniff_format_name(data) or _declared_format(image.declared_type)
    elif reason != "type_mismatch":
        detected = None
    return str(detected) if detected else None


def sniff_format_name(data: bytes) -> str | None:
    """The name of an image format users does not take, by the bytes' signature (GIF, BMP, TIFF, HEIC), to
    name it in the refusal; None for anything else."""
    for signature, name in _OTHER_FORMATS:
        if data.startswith(signature):
            return name
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIC"
    return None


def _declared_format(declared_type: str | None) -> str | None:
    """«GIF» for `image/gif`: what a file says it is, to name it when users refused the type itself."""
    if not declared_type or not declared_type.startswith("image/"):
        return None
    return declared_type.removeprefix("image/").split(";")[0].strip().upper() or None


async def current_avatar(clients: ServiceClients, user_id: int) -> Avatar | None:
    """The learner's current avatar, None when they have none."""
    return next((avatar for avatar in await clients.users.avatars(user_id) if avatar.is_current), None)


@dataclass(frozen=True)
class AvatarImages:
    """Sends avatar images from users to a chat, by Telegram `file_id` once it has one."""

    bot: Bot
    redis: RedisClient
    prefix: str
    clients: ServiceClients

    async def send_photo(
        self,
        chat_id: int,
        user_id: int,
        avatar_id: int,
        size: AvatarSize,
        *,
        caption: str | None = None,
        reply_markup: InlineKeyboardMarkup | None = None,
    ) -> Message | None:
        """The avatar as a photo (with `caption`, at most 1024 characters: Telegram's caption limit), or
        None when users no longer has it."""
        key = redis_keys.avatar_file(self.prefix, user_id, avatar_id, size)
        cached = await self.redis.get(key)
        if cached:
            file_id = cached.decode() if isinstance(cached, bytes) else str(cached)
            try:
                return await self.bot.send_photo(chat_id, file_id, caption=caption, reply_markup=reply_markup)
            except TelegramBadRequest:  # the file id no longer works for this bot: upload again
                await self.redis.delete(key)
        image = await self._image(user_id, avatar_id, size)
        if image is None:
            return None
        sent = await self.bot.send_photo(chat_id, image, caption=caption, reply_markup=reply_markup)
        await self._remember(key, sent)
        return sent

    async def send_album(
        self, chat_id: int, user_id: int, avatars: Sequence[Avatar], captions: Sequence[str], size: AvatarSize
    ) -> list[Avatar]:
        """Up to `ALBUM_LIMIT` avatars as one media group (one photo alone as a photo), each with its
        caption; an avatar users no longer has (its image gone from storage) is left out. Returns the
        avatars shown, so the chat can say which could not be."""
        items: list[tuple[Avatar, str, str | BufferedInputFile]] = []
        for avatar, caption in zip(avatars[:ALBUM_LIMIT], captions, strict=False):
            cached = await self.redis.get(redis_keys.avatar_file(self.prefix, user_id, avatar.id, size))
            media: str | BufferedInputFile | None
            if cached:
                media = cached.decode() if isinstance(cached, bytes) else str(cached)
            else:
                media = await self._image(user_id, avatar.id, size)
            if media is not None:
                items.append((avatar, caption, media))
        if not items:
            return []
        if len(items) == 1:
            avatar, caption, _media = items[0]
            single = await self.send_photo(chat_id, user_id, avatar.id, size, caption=caption)
            return [avatar] if single is not None else []
        try:
            sent = await self.bot.send_media_group(
                chat_id, [InputMediaPhoto(media=media, caption=caption) for _avatar, caption, media in items]
            )
        except TelegramBadRequest:
            if not any(isinstance(media, str) for _avatar, _caption, media in items):
                raise
            # A remembered file id no longer works: forget them all and upload every image once.
            await self.redis.delete(
                *(redis_keys.avatar_file(self.prefix, user_id, avatar.id, size) for avatar, _c, _m in items)
            )
            return await self.send_album(chat_id, user_id, [a for a, _c, _m in items], [c for _a, c, _m in items], size)
        for (avatar, _caption, _media), message in zip(items, sent, strict=False):
            await self._remember(redis_keys.avatar_file(self.prefix, user_id, avatar.id, size), message)
        return [avatar for avatar, _caption, _media in items]

    async def forget(self, user_id: int, avatar_id: int) -> None:
        """Forget the file ids of a deleted avatar's images."""
        await self.redis.delete(
            *(redis_keys.avatar_file(self.prefix, user_id, avatar_id, size) for size in ("large", "small"))
        )

    async def _image(self, user_id: int, avatar_id: int, size: AvatarSize) -> BufferedInputFile | None:
        data = await self.clients.users.avatar_image(user_id, avatar_id, size)
        return BufferedInputFile(data, filename=f"avatar-{avatar_id}.webp") if data is not None else None

    async def _remember(self, key: str, message: Message) -> None:
        if message.photo:
            await self.redis.set(key, message.photo[-1].file_id, ex=redis_keys.AVATAR_FILE_TTL_S)
