"""The Bot API methods: what a bot can ask the emulated Telegram to do.

:meth:`BotApi.call` is the single entry point (HTTP route and webhook replies both go through it):
it resolves the token and the method, applies forced failures, runs the handler, records the call
and either returns a :class:`Reply` or raises an :class:`~academy_tg_emulator.errors.ApiError`.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from academy_tg_emulator.errors import (
    POLLING_CONFLICT,
    WEBHOOK_CONFLICT,
    ApiError,
    bad_request,
    chat_id_empty,
    chat_not_found,
    conflict,
    entity_too_large,
    message_not_modified,
    method_not_found,
    query_expired,
    text_empty,
)
from academy_tg_emulator.formatting import (
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    format_text,
    normalize_parse_mode,
    utf16_len,
)
from academy_tg_emulator.markup import validate_markup
from academy_tg_emulator.media import extension_for, guess_mime_type, image_size
from academy_tg_emulator.params import Params
from academy_tg_emulator.state import (
    BotState,
    ChatState,
    Emulator,
    FileRecord,
    JsonDict,
    StoredMessage,
    WebhookState,
)
from academy_tg_emulator.webhook import WebhookDeliverer

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# The cloud Bot API server lets a bot download files up to 20 MB (`getFile`): https://core.telegram.org/bots/api#getfile
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_ALBUM_ITEMS = 10  # sendMediaGroup: 2-10 items (a single item is sent as one message, outside any album)
_ALBUM_KINDS = frozenset({"photo", "video", "document"})
MAX_GET_UPDATES_LIMIT = 100
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_COMMANDS = 100
MAX_COMMAND_DESCRIPTION = 256
MAX_DELETE_MESSAGES = 100
MAX_INVOICE_TITLE = 32
MAX_INVOICE_DESCRIPTION = 255
MAX_INVOICE_PAYLOAD_BYTES = 128
MAX_STAR_TRANSACTIONS = 100  # getStarTransactions: limit 1-100
DEFAULT_WEBHOOK_CONNECTIONS = 40
MAX_WEBHOOK_CONNECTIONS = 100
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_MENU_BUTTON_TYPES = frozenset({"commands", "web_app", "default"})


@dataclass
class Reply:
    """A successful result, with the optional ``description`` Telegram adds to some answers."""

    result: Any
    description: str | None = None

    def payload(self) -> JsonDict:
        body: JsonDict = {"ok": True, "result": self.result}
        if self.description:
            body["description"] = self.description
        return body


@dataclass
class _Input:
    """A file to send: an existing record (sent by ``file_id``) or new bytes."""

    record: FileRecord | None = None
    data: bytes = b""
    file_name: str | None = None
    content_type: str | None = None


Handler = Callable[[BotState, Params], Awaitable[Any]]


def _chat_id(params: Params) -> int:
    raw = params.get_str("chat_id")
    if raw is None:
        raise chat_id_empty()
    try:
        return int(raw)
    except ValueError:
        raise chat_not_found() from None


def _message_id(params: Params, name: str = "message_id") -> int:
    value = params.get_int(name, invalid=lambda: bad_request("message identifier is not specified"))
    if not value:
        raise bad_request("message identifier is not specified")
    return value


def _markup(params: Params) -> JsonDict | None:
    raw = params.get_json("reply_markup", error="can't parse reply keyboard markup JSON object")
    return None if raw is None else validate_markup(raw)


def _inline_markup(params: Params) -> JsonDict | None:
    markup = _markup(params)
    if markup is not None and "inline_keyboard" not in markup:
        raise bad_request("inline keyboard expected")
    return markup


def _allowed_updates(params: Params) -> list[str] | None:
    allowed = params.get_json("allowed_updates", error="can't parse allowed_updates JSON array")
    if allowed is None:
        return None
    if not isinstance(allowed, list) or not all(isinstance(kind, str) for kind in allowed):
        raise bad_request("can't parse allowed_updates JSON array")
    return [str(kind) for kind in allowed]


def _confirm_updates(bot: BotState, offset: int | None) -> None:
    """Forget updates below ``offset``; a negative offset keeps only the last ``-offset`` ones."""
    if not offset:
        return
    if offset > 0:
        bot.pending = [update for update in bot.pending if update["update_id"] >= offset]
    else:
        bot.pending = bot.pending[offset:]


def _scope_key(params: Params) -> tuple[str, str]:
    scope = params.get_json("scope", error="can't parse BotCommandScope JSON object")
    if scope is None:
        scope = {"type": "default"}
    if not isinstance(scope, dict) or scope.get("type") not in _COMMAND_SCOPES:
        raise bad_request("can't parse BotCommandScope JSON object")
    language = params.get_str("language_code") or ""
    return json.dumps(scope, sort_keys=True), language


class BotApi:
    """Implements the Bot API methods over an :class:`Emulator`."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.webhooks = WebhookDeliverer(emulator, self.call)
        self._http: httpx.AsyncClient | None = None
        handlers: dict[str, Handler] = {
            "getMe": self.get_me,
            "logOut": self.log_out,
            "close": self.log_out,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "deleteMessages": self.delete_messages,
            "answerCallbackQuery": self.answer_callback_query,
            "sendChatAction": self.send_chat_action,
            "sendDocument": self.send_document,
            "sendPhoto": self.send_photo,
            "sendVideo": self.send_video,
            "sendMediaGroup": self.send_media_group,
            "getFile": self.get_file,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "setChatMenuButton": self.set_chat_menu_button,
            "getChatMenuButton": self.get_chat_menu_button,
            "setMyName": self._text_setter("name"),
            "getMyName": self._text_getter("name"),
            "setMyDescription": self._text_setter("description"),
            "getMyDescription": self._text_getter("description"),
            "setMyShortDescription": self._text_setter("short_description"),
            "getMyShortDescription": self._text_getter("short_description"),
            "sendInvoice": self.send_invoice,
            "answerPreCheckoutQuery": self.answer_pre_checkout_query,
            "refundStarPayment": self.refund_star_payment,
            "getStarTransactions": self.get_star_transactions,
            "getChat": self.get_chat,
        }
        self.handlers: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler) for name, handler in handlers.items()
        }

    @property
    def method_names(self) -> list[str]:
        return sorted(name for name, _ in self.handlers.values())

    # -- entry point ----------------------------------------------------------------------

    async def call(self, token: str, method: str, params: Params, *, via: str = "http") -> Reply:
        """Run one Bot API call and record it in the call log."""
        emulator = self.emulator
        entry: JsonDict = {"at": time.time(), "method": method, "via": via, "bot_id": None}
        try:
            entry["params"] = params.for_log()
            async with emulator.lock:
                bot = emulator.bot(token)
            entry["bot_id"] = bot.id
            entry["method"], handler = self._handler(method)
            async with emulator.lock:
                emulator.check_forced_failure(bot, method.lower())
            outcome = await handler(bot, params)
        except ApiError as exc:
            entry.update(ok=False, error_code=exc.error_code, description=exc.description)
            if exc.parameters:
                entry["parameters"] = exc.parameters
            async with emulator.lock:
                emulator.log_call(entry)
            raise
        except Exception as exc:
            logger.exception("the emulator failed on %s", method)
            error = ApiError(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error")
            entry.update(ok=False, error_code=error.error_code, description=error.description, emulator_error=repr(exc))
            async with emulator.lock:
                emulator.log_call(entry)
            raise error from exc
        reply = outcome if isinstance(outcome, Reply) else Reply(outcome)
        entry.update(ok=True, result=reply.result)
        async with emulator.lock:
            emulator.log_call(entry)
        return reply

    def _handler(self, method: str) -> tuple[str, Handler]:
        """The canonical method name and its handler; method names are case-insensitive."""
        found = self.handlers.get(method.lower())
        if found is None:
            raise method_not_found()
        return found

    async def aclose(self) -> None:
        await self.webhooks.aclose()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # -- bot and updates ------------------------------------------------------------------

    async def get_me(self, bot: BotState, params: Params) -> JsonDict:
        del params
        return bot.get_me()

    async def log_out(self, bot: BotState, params: Params) -> bool:
        del bot, params
        return True

    async def get_updates(self, bot: BotState, params: Params) -> list[JsonDict]:
        emulator = self.emulator
        offset = params.get_int("offset")
        limit = params.get_int("limit") or MAX_GET_UPDATES_LIMIT
        limit = min(max(limit, 1), MAX_GET_UPDATES_LIMIT)
        timeout = min(max(params.get_float("timeout") or 0.0, 0.0), emulator.config.max_long_poll_timeout)
        allowed = _allowed_updates(params)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with emulator.lock:
            if bot.webhook is None:
                if allowed is not None:
                    bot.allowed_updates = allowed or None
                _confirm_updates(bot, offset)
            # a newer poll ends this one's wait with 409, as two polling bot instances do on Telegram
            bot.poll_generation += 1
            generation = bot.poll_generation
            emulator.lock.notify_all()
            while True:
                if emulator.bots.get(bot.token) is not bot:
                    return []  # a full reset replaced this bot's state while the poll waited
                if bot.poll_generation != generation:
                    raise conflict(POLLING_CONFLICT)
                if bot.webhook is not None:
                    raise conflict(WEBHOOK_CONFLICT)
                remaining = deadline - loop.time()
                if bot.pending or emulator.closing or remaining <= 0:
                    return copy.deepcopy(bot.pending[:limit])
                try:
                    async with asyncio.timeout(remaining):
                        await emulator.lock.wait()
                except TimeoutError:
                    continue

    async def set_webhook(self, bot: BotState, params: Params) -> Reply:
        url = params.get_str("url") or ""
        if not url:
            return await self.delete_webhook(bot, params)
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"}:
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if not parts.hostname:
            raise bad_request("bad webhook: Failed to resolve host: Name or service not known")
        secret = params.get_str("secret_token")
        if secret is not None and not _SECRET_TOKEN.match(secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = _allowed_updates(params)
        connections = params.get_int("max_connections") or DEFAULT_WEBHOOK_CONNECTIONS
        max_connections = min(max(connections, 1), MAX_WEBHOOK_CONNECTIONS)
        async with self.emulator.lock:
            current = bot.webhook
            unchanged = current is not None and current.url == url and current.secret_token == secret
            if params.get_bool("drop_pending_updates"):
                bot.pending.clear()
            if allowed is not None:
                bot.allowed_updates = allowed or None
            if current is None or not unchanged:
                bot.webhook = WebhookState(
                    url=url,
                    secret_token=secret,
                    max_connections=max_connections,
                    ip_address=params.get_str("ip_address"),
                    has_custom_certificate=params.get_file("certificate") is not None,
                )
            else:
                current.max_connections = max_connections
            bot.webhook_changed.set()
            bot.webhook_wakeup.set()
            self.emulator.lock.notify_all()
            self.webhooks.ensure_running(bot)
        return Reply(result=True, description="Webhook is already set" if unchanged else "Webhook was set")

    async def delete_webhook(self, bot: BotState, params: Params) -> Reply:
        async with self.emulator.lock:
            if params.get_bool("drop_pending_updates"):
                bot.pending.clear()
            existed = bot.webhook is not None
            bot.webhook = None
            bot.webhook_changed.set()
            bot.webhook_wakeup.set()
        return Reply(result=True, description="Webhook was deleted" if existed else "Webhook is already deleted")

    async def get_webhook_info(self, bot: BotState, params: Params) -> JsonDict:
        del params
        async with self.emulator.lock:
            return bot.webhook_info()

    # -- sending --------------------------------------------------------------------------

    def _reply_target(self, chat: ChatState, params: Params) -> JsonDict | None:
        reply = params.get_json("reply_parameters", error="can't parse reply parameters JSON object")
        if reply is not None:
            if not isinstance(reply, dict):
                raise bad_request("can't parse reply parameters JSON object")
            try:
                message_id = int(reply.get("message_id") or 0)
            except (TypeError, ValueError):
                raise bad_request("can't parse reply parameters JSON object") from None
            allow_without = bool(reply.get("allow_sending_without_reply"))
        else:
            message_id = params.get_int("reply_to_message_id") or 0
            allow_without = params.get_bool("allow_sending_without_reply")
        if not message_id:
            return None
        target = chat.messages.get(message_id)
        if target is None or target.deleted:
            if allow_without:
                return None
            raise bad_request("message to be replied not found")
        quoted = {key: value for key, value in target.data.items() if key != "reply_to_message"}
        return copy.deepcopy(quoted)

    def _open_send(self, bot: BotState, chat_id: int) -> ChatState:
        chat = self.emulator.chat_for_bot(bot, chat_id)
        self.emulator.check_rate_limit(bot, chat_id)
        return chat

    def _publish(
        self,
        bot: BotState,
        chat: ChatState,
        params: Params,
        content: JsonDict,
        *,
        method: str,
        markup: JsonDict | None,
        raw_text: str | None = None,
        parse_mode: str | None = None,
        extra: JsonDict | None = None,
    ) -> JsonDict:
        reply_to = self._reply_target(chat, params)
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        if params.get_bool("protect_content"):
            content["has_protected_content"] = True
        stored = self.emulator.add_message(
            chat,
            sender=bot.user(),
            content=content,
            from_bot=True,
            method=method,
            markup=markup,
            raw_text=raw_text,
            parse_mode=parse_mode,
            extra=extra,
        )
        self.emulator.record_send(bot, chat.chat_id)
        return copy.deepcopy(stored.data)

    @staticmethod
    def _text_content(params: Params, raw: str) -> JsonDict:
        entities_raw = params.get_json("entities", error="can't parse entities JSON object")
        text, entities = format_text(raw, params.get_str("parse_mode"), entities_raw)
        if not text:
            raise text_empty()
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        content: JsonDict = {"text": text}
        if entities:
            content["entities"] = entities
        preview = params.get_json("link_preview_options", error="can't parse link preview options JSON object")
        if isinstance(preview, dict) and preview:
            content["link_preview_options"] = preview
        elif params.get_bool("disable_web_page_preview"):
            content["link_preview_options"] = {"is_disabled": True}
        return content

    async def send_message(self, bot: BotState, params: Params) -> JsonDict:
        chat_id = _chat_id(params)
        raw = params.get_text("text")
        if raw is None or not raw.strip():
            raise text_empty()
        parse_mode = normalize_parse_mode(params.get_str("parse_mode"))
        markup = _markup(params)
        async with self.emulator.lock:
            chat = self._open_send(bot, chat_id)
            content = self._text_content(params, raw)
            return self._publish(
                bot, chat, params, content, method="sendMessage", markup=markup, raw_text=raw, parse_mode=parse_mode
            )

    @staticmethod
    def _caption(params: Params) -> JsonDict:
        raw = params.get_text("caption")
        if not raw:
            return {}
        entities_raw = params.get_json("caption_entities", error="can't parse caption entities JSON object")
        caption, entities = format_text(raw, params.get_str("parse_mode"), entities_raw, field="caption_entities")
        if utf16_len(caption) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        content: JsonDict = {}
        if caption:
            content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
        if params.get_bool("show_caption_above_media"):
            content["show_caption_above_media"] = True
        return content

    async def _fetch(self, url: str) -> tuple[bytes, str | None]:
        if self._http is None:
            self._http = httpx.AsyncClient(trust_env=False, follow_redirects=True)
        try:
            response = await self._http.get(url, timeout=self.emulator.config.url_fetch_timeout)
        except httpx.HTTPError:
            raise bad_request("failed to get HTTP URL content") from None
        if not response.is_success:
            raise bad_request("failed to get HTTP URL content")
        return response.content, response.headers.get("content-type")

    async def _media_input(self, params: Params, field: str) -> _Input:
        upload = params.get_file(field)
        value = params.get_str(field)
        if upload is None and value is not None and value.startswith("attach://"):
            upload = params.get_file(value.removeprefix("attach://"))
            if upload is None:
                raise bad_request(f"there is no {field} in the request")
        if upload is not None:
            if not upload.data:
                raise bad_request("file must be non-empty")
            if len(upload.data) > MAX_UPLOAD_BYTES:
                raise entity_too_large()
            return _Input(data=upload.data, file_name=upload.filename, content_type=upload.content_type)
        if value is None:
            raise bad_request(f"there is no {field} in the request")
        if value.startswith(("http://", "https://")):
            data, content_type = await self._fetch(value)
            name = unquote(urlsplit(value).path.rsplit("/", 1)[-1]) or None
            return _Input(data=data, file_name=name, content_type=content_type)
        async with self.emulator.lock:
            record = self.emulator.files.get(value)
        if record is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return _Input(record=record)

    def _new_file(self, kind: str, source: _Input, params: Params, *, from_url: bool) -> FileRecord:
        mime_type = guess_mime_type(source.file_name, source.content_type)
        width = height = duration = 0
        if kind == "photo":
            size = image_size(source.data)
            if size is None:
                raise bad_request("wrong type of the web page content" if from_url else "IMAGE_PROCESS_FAILED")
            width, height = size
            mime_type = "image/jpeg"
        elif kind == "video":
            width = params.get_int("width") or 0
            height = params.get_int("height") or 0
            duration = params.get_int("duration") or 0
        file_name = source.file_name if kind != "photo" else None
        return self.emulator.store_file(
            kind,
            source.data,
            file_name=file_name,
            mime_type=mime_type,
            extension="jpg" if kind == "photo" else extension_for(mime_type, source.file_name),
            width=width,
            height=height,
            duration=duration,
        )

    async def _send_media(self, bot: BotState, params: Params, kind: str, method: str) -> JsonDict:
        chat_id = _chat_id(params)
        source = await self._media_input(params, kind)
        markup = _markup(params)
        from_url = (params.get_str(kind) or "").startswith(("http://", "https://"))
        async with self.emulator.lock:
            chat = self._open_send(bot, chat_id)
            content = self._caption(params)
            record = source.record or self._new_file(kind, source, params, from_url=from_url)
            if kind == "photo":
                content["photo"] = [record.photo_size()]
            elif kind == "video":
                content["video"] = record.video()
            else:
                content["document"] = record.document()
            if kind in {"photo", "video"} and params.get_bool("has_spoiler"):
                content["has_media_spoiler"] = True
            return self._publish(
                bot,
                chat,
                params,
                content,
                method=method,
                markup=markup,
                raw_text=params.get_text("caption"),
                parse_mode=normalize_parse_mode(params.get_str("parse_mode")),
            )

    async def send_document(self, bot: BotState, params: Params) -> JsonDict:
        return await self._send_media(bot, params, "document", "sendDocument")

    async def send_photo(self, bot: BotState, params: Params) -> JsonDict:
        return await self._send_media(bot, params, "photo", "sendPhoto")

    async def send_video(self, bot: BotState, params: Params) -> JsonDict:
        return await self._send_media(bot, params, "video", "sendVideo")

    async def send_media_group(self, bot: BotState, params: Params) -> list[JsonDict]:
        """An album: 2-10 photos and videos, or documents, each with its own caption; every message of it
        carries the same `media_group_id`. As Telegram, a single item is sent as one message outside any
        album, the method takes no `reply_markup`, and a refused album sends and stores nothing."""
        chat_id = _chat_id(params)
        items = self._album_items(params)
        inputs: list[tuple[str, Params, _Input, bool]] = []
        for item in items:
            kind = str(item["type"])
            # An item's own fields, with the request's uploads (an item names its file `attach://<part>`).
            sub = Params(item, {name: upload for name, upload in params.files.items() if name != "media"})
            reference = sub.get_str("media") or ""
            if reference.startswith("attach://") and sub.get_file(reference.removeprefix("attach://")) is None:
                raise bad_request("can't parse InputMedia: media not found")
            from_url = reference.startswith(("http://", "https://"))
            inputs.append((kind, sub, await self._media_input(sub, "media"), from_url))
        async with self.emulator.lock:
            chat = self._open_send(bot, chat_id)
            contents: list[tuple[JsonDict, Params]] = []
            for kind, sub, source, from_url in inputs:
                content = self._caption(sub)
                if source.record is None and kind == "photo" and image_size(source.data) is None:
                    raise bad_request("wrong type of the web page content" if from_url else "IMAGE_PROCESS_FAILED")
                contents.append((content, sub))
            group_id = str(self.emulator.next_media_group_id()) if len(inputs) > 1 else None
            sent: list[JsonDict] = []
            for (kind, sub, source, from_url), (content, _sub) in zip(inputs, contents, strict=True):
                record = source.record or self._new_file(kind, source, sub, from_url=from_url)
                if kind == "photo":
                    content["photo"] = [record.photo_size()]
                elif kind == "video":
                    content["video"] = record.video()
                else:
                    content["document"] = record.document()
                if group_id is not None:
                    content["media_group_id"] = group_id
                if kind in {"photo", "video"} and sub.get_bool("has_spoiler"):
                    content["has_media_spoiler"] = True
                sent.append(
                    self._publish(
                        bot,
                        chat,
                        params,
                        content,
                        method="sendMediaGroup",
                        markup=None,
                        raw_text=sub.get_text("caption"),
                        parse_mode=normalize_parse_mode(sub.get_str("parse_mode")),
                    )
                )
            return sent

    @staticmethod
    def _album_items(params: Params) -> list[JsonDict]:
        """The album's items, checked as Telegram checks them before reading any file."""
        if params.has("reply_markup"):
            raise bad_request("parameter reply_markup is not supported by sendMediaGroup")
        media = params.get_json("media", error="can't parse media JSON object")
        if media is None or media == []:
            raise bad_request("there are no messages to send")
        if not isinstance(media, list):
            raise bad_request("expected an Array of InputMedia")
        if len(media) > MAX_ALBUM_ITEMS:
            raise bad_request("too many messages to send as an album")
        for item in media:
            if not isinstance(item, dict) or not item.get("media"):
                raise bad_request("can't parse InputMedia: media not found")
            if item.get("type") not in _ALBUM_KINDS:
                raise bad_request("can't parse InputMedia: unsupported media type")
        kinds = {item["type"] for item in media}
        if "document" in kinds and len(kinds) > 1:
            raise bad_request("document can't be mixed with other media types")
        return list(media)

    async def get_file(self, bot: BotState, params: Params) -> JsonDict:
        del bot
        file_id = params.get_str("file_id")
        async with self.emulator.lock:
            record = self.emulator.files.get(file_id or "")
        if record is None:
            raise bad_request("invalid file_id")
        if record.size > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return record.file()

    async def send_chat_action(self, bot: BotState, params: Params) -> bool:
        chat_id = _chat_id(params)
        action = params.get_str("action")
        if action not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        async with self.emulator.lock:
            chat = self.emulator.chat_for_bot(bot, chat_id)
            chat.actions.append({"action": action, "at": time.time()})
        return True

    # -- editing and deleting -------------------------------------------------------------

    def _editable(self, bot: BotState, chat_id: int, message_id: int) -> StoredMessage:
        chat = self.emulator.chat_for_bot(bot, chat_id)
        stored = chat.messages.get(message_id)
        if stored is None or stored.deleted:
            raise bad_request("message to edit not found")
        if not stored.from_bot:
            raise bad_request("message can't be edited")
        return stored

    @staticmethod
    def _apply_edit(stored: StoredMessage, changes: JsonDict, drop: tuple[str, ...], markup: JsonDict | None) -> None:
        current = stored.data
        updated = {key: value for key, value in current.items() if key not in {*drop, "reply_markup", "edit_date"}}
        updated.update(changes)
        if markup is not None:
            updated["reply_markup"] = markup
        updated["edit_date"] = int(time.time())
        stored.versions.append(current)
        stored.data = updated
        keeps_reply_keyboard = stored.markup is not None and "inline_keyboard" not in stored.markup
        stored.markup = markup if markup is not None or not keeps_reply_keyboard else stored.markup

    @staticmethod
    def _no_inline_messages(params: Params) -> None:
        if params.has("inline_message_id"):
            raise bad_request("inline messages are not emulated: pass chat_id and message_id")

    async def edit_message_text(self, bot: BotState, params: Params) -> JsonDict:
        self._no_inline_messages(params)
        chat_id = _chat_id(params)
        message_id = _message_id(params)
        raw = params.get_text("text")
        if raw is None or not raw.strip():
            raise text_empty()
        markup = _inline_markup(params)
        async with self.emulator.lock:
            stored = self._editable(bot, chat_id, message_id)
            if "text" not in stored.data:
                raise bad_request("there is no text in the message to edit")
            content = self._text_content(params, raw)
            current = stored.data
            same_text = content["text"] == current.get("text") and content.get("entities") == current.get("entities")
            if same_text and markup == current.get("reply_markup"):
                raise message_not_modified()
            self._apply_edit(stored, content, ("text", "entities", "link_preview_options"), markup)
            stored.raw_text = raw
            stored.parse_mode = normalize_parse_mode(params.get_str("parse_mode"))
            return copy.deepcopy(stored.data)

    async def edit_message_caption(self, bot: BotState, params: Params) -> JsonDict:
        self._no_inline_messages(params)
        chat_id = _chat_id(params)
        message_id = _message_id(params)
        markup = _inline_markup(params)
        async with self.emulator.lock:
            stored = self._editable(bot, chat_id, message_id)
            if not any(key in stored.data for key in ("document", "photo", "video")):
                raise bad_request("there is no caption in the message to edit")
            content = self._caption(params)
            current = stored.data
            same = all(current.get(key) == content.get(key) for key in ("caption", "caption_entities"))
            if same and markup == current.get("reply_markup"):
                raise message_not_modified()
            self._apply_edit(stored, content, ("caption", "caption_entities", "show_caption_above_media"), markup)
            stored.raw_text = params.get_text("caption")
            stored.parse_mode = normalize_parse_mode(params.get_str("parse_mode"))
            return copy.deepcopy(stored.data)

    async def edit_message_reply_markup(self, bot: BotState, params: Params) -> JsonDict:
        self._no_inline_messages(params)
        chat_id = _chat_id(params)
        message_id = _message_id(params)
        markup = _inline_markup(params)
        async with self.emulator.lock:
            stored = self._editable(bot, chat_id, message_id)
            if markup == stored.data.get("reply_markup"):
                raise message_not_modified()
            self._apply_edit(stored, {}, (), markup)
            return copy.deepcopy(stored.data)

    async def delete_message(self, bot: BotState, params: Params) -> bool:
        chat_id = _chat_id(params)
        message_id = _message_id(params)
        async with self.emulator.lock:
            chat = self.emulator.chat_for_bot(bot, chat_id, sending=False)
            stored = chat.messages.get(message_id)
            if stored is None or stored.deleted:
                raise bad_request("message to delete not found")
            stored.deleted = True
        return True

    async def delete_messages(self, bot: BotState, params: Params) -> bool:
        chat_id = _chat_id(params)
        ids = params.get_json("message_ids", error="can't parse message identifiers JSON array")
        valid = isinstance(ids, list) and 1 <= len(ids) <= MAX_DELETE_MESSAGES
        if not valid or not all(isinstance(message_id, int) for message_id in ids):
            raise bad_request("message identifiers are not specified")
        async with self.emulator.lock:
            chat = self.emulator.chat_for_bot(bot, chat_id, sending=False)
            for message_id in ids:
                stored = chat.messages.get(message_id)
                if stored is not None:
                    stored.deleted = True
        return True

    # -- callback queries -----------------------------------------------------------------

    async def answer_callback_query(self, bot: BotState, params: Params) -> bool:
        query_id = params.get_str("callback_query_id")
        if query_id is None:
            raise bad_request('parameter "callback_query_id" is required')
        text = params.get_text("text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        answer: JsonDict = {
            "text": text,
            "show_alert": params.get_bool("show_alert"),
            "url": params.get_str("url"),
            "cache_time": params.get_int("cache_time") or 0,
        }
        async with self.emulator.lock:
            record = bot.callbacks.get(query_id)
            if record is None or record.answered:
                raise query_expired()
            record.answered = True
            record.answer = answer
            record.answered_at = time.time()
        return True

    # -- commands, menu button, bot texts -------------------------------------------------

    async def set_my_commands(self, bot: BotState, params: Params) -> bool:
        commands = params.get_json("commands", error="can't parse BotCommand array JSON object")
        if not isinstance(commands, list) or len(commands) > MAX_COMMANDS:
            raise bad_request("can't parse BotCommand array JSON object")
        checked: list[JsonDict] = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("can't parse BotCommand array JSON object")
            command = str(item.get("command", "")).removeprefix("/")
            description = str(item.get("description", ""))
            if not _COMMAND_NAME.match(command) or not 1 <= len(description) <= MAX_COMMAND_DESCRIPTION:
                raise bad_request("BOT_COMMAND_INVALID")
            checked.append({"command": command, "description": description})
        key = _scope_key(params)
        async with self.emulator.lock:
            bot.commands[key] = checked
        return True

    async def get_my_commands(self, bot: BotState, params: Params) -> list[JsonDict]:
        key = _scope_key(params)
        async with self.emulator.lock:
            return copy.deepcopy(bot.commands.get(key, []))

    async def delete_my_commands(self, bot: BotState, params: Params) -> bool:
        key = _scope_key(params)
        async with self.emulator.lock:
            bot.commands.pop(key, None)
        return True

    async def set_chat_menu_button(self, bot: BotState, params: Params) -> bool:
        button = params.get_json("menu_button", error="can't parse menu button JSON object")
        if button is not None and (not isinstance(button, dict) or button.get("type") not in _MENU_BUTTON_TYPES):
            raise bad_request("can't parse menu button JSON object")
        if isinstance(button, dict) and button.get("type") == "web_app":
            web_app = button.get("web_app")
            if not isinstance(button.get("text"), str) or not isinstance(web_app, dict) or "url" not in web_app:
                raise bad_request("can't parse menu button JSON object")
        chat_id = params.get_int("chat_id", invalid=chat_not_found)
        async with self.emulator.lock:
            if chat_id is None:
                bot.menu_button = button
            else:
                self.emulator.chat_for_bot(bot, chat_id, sending=False).menu_button = button
        return True

    async def get_chat_menu_button(self, bot: BotState, params: Params) -> JsonDict:
        chat_id = params.get_int("chat_id", invalid=chat_not_found)
        async with self.emulator.lock:
            button = bot.menu_button
            if chat_id is not None:
                button = self.emulator.chat_for_bot(bot, chat_id, sending=False).menu_button or button
        return copy.deepcopy(button) if button else {"type": "commands"}

    def _text_setter(self, name: str) -> Handler:
        async def handler(bot: BotState, params: Params) -> bool:
            value = params.get_text(name) or ""
            async with self.emulator.lock:
                bot.texts[name, params.get_str("language_code") or ""] = value
            return True

        return handler

    def _text_getter(self, name: str) -> Handler:
        async def handler(bot: BotState, params: Params) -> JsonDict:
            async with self.emulator.lock:
                value = bot.texts.get((name, params.get_str("language_code") or ""))
                if value is None:
                    value = bot.texts.get((name, ""), bot.spec.first_name if name == "name" else "")
            return {name: value}

        return handler

    # -- chats ----------------------------------------------------------------------------

    async def get_chat(self, bot: BotState, params: Params) -> JsonDict:
        chat_id = _chat_id(params)
        async with self.emulator.lock:
            self.emulator.chat_for_bot(bot, chat_id, sending=False)
            chat = self.emulator.chat_object(chat_id)
        return {
            **chat,
            "accent_color_id": chat_id % 7,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    # -- payments -------------------------------------------------------------------------

    async def send_invoice(self, bot: BotState, params: Params) -> JsonDict:
        chat_id = _chat_id(params)
        required = {name: params.get_text(name) for name in ("title", "description", "payload", "currency")}
        for name, value in required.items():
            if not value:
                raise bad_request(f"{name} is empty" if name != "payload" else "INVOICE_PAYLOAD_INVALID")
        title, description, payload, currency = (str(value) for value in required.values())
        if len(title) > MAX_INVOICE_TITLE or len(description) > MAX_INVOICE_DESCRIPTION:
            raise bad_request("invoice title or description is too long")
        if len(payload.encode("utf-8")) > MAX_INVOICE_PAYLOAD_BYTES:
            raise bad_request("INVOICE_PAYLOAD_INVALID")
        if not _CURRENCY.match(currency):
            raise bad_request("CURRENCY_INVALID")
        prices = params.get_json("prices", error="can't parse prices JSON object")
        if not isinstance(prices, list) or not prices:
            raise bad_request("can't parse prices JSON object")
        try:
            amounts = [int(price["amount"]) for price in prices]
        except (KeyError, TypeError, ValueError):
            raise bad_request("can't parse prices JSON object") from None
        if currency == "XTR" and len(prices) != 1:
            raise bad_request("STARS_INVOICE_INVALID")
        total = sum(amounts)
        if total <= 0:
            raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
        markup = _inline_markup(params)
        invoice = {
            "title": title,
            "description": description,
            "start_parameter": params.get_str("start_parameter") or "",
            "currency": currency,
            "total_amount": total,
        }
        extra = {"invoice_payload": payload, "prices": prices, "params": params.for_log()}
        async with self.emulator.lock:
            chat = self._open_send(bot, chat_id)
            return self._publish(
                bot, chat, params, {"invoice": invoice}, method="sendInvoice", markup=markup, extra=extra
            )

    async def answer_pre_checkout_query(self, bot: BotState, params: Params) -> bool:
        query_id = params.get_str("pre_checkout_query_id")
        if query_id is None:
            raise bad_request('parameter "pre_checkout_query_id" is required')
        if "ok" not in params.values:
            raise bad_request('parameter "ok" is required')
        ok = params.get_bool("ok")
        error_message = params.get_text("error_message")
        if not ok and not error_message:
            raise bad_request("error_message is empty")
        async with self.emulator.lock:
            record = bot.pre_checkouts.get(query_id)
            if record is None or record.answered:
                raise query_expired()
            record.answered = True
            record.ok = ok
            record.error_message = None if ok else error_message
        return True

    async def get_star_transactions(self, bot: BotState, params: Params) -> JsonDict:
        """The bot's Star transactions in chronological order (`offset` skipped, `limit` 1-100, default 100)."""
        offset = params.get_int("offset", invalid=lambda: bad_request("invalid offset")) or 0
        limit = params.get_int("limit", invalid=lambda: bad_request("invalid limit"))
        limit = MAX_STAR_TRANSACTIONS if limit is None else limit
        if offset < 0 or not 1 <= limit <= MAX_STAR_TRANSACTIONS:
            raise bad_request("LIMIT_INVALID" if offset >= 0 else "OFFSET_INVALID")
        async with self.emulator.lock:
            items = [
                item
                for payment in bot.payments.values()
                if payment.currency == "XTR"
                for item in payment.star_transactions()
            ]
        items.sort(key=lambda item: item["date"])
        return {"transactions": items[offset : offset + limit]}

    async def refund_star_payment(self, bot: BotState, params: Params) -> bool:
        user_id = params.get_int("user_id", invalid=lambda: bad_request("invalid user_id specified"))
        if not user_id:
            raise bad_request("invalid user_id specified")
        charge_id = params.get_str("telegram_payment_charge_id")
        if charge_id is None:
            raise bad_request("telegram_payment_charge_id is empty")
        async with self.emulator.lock:
            payment = bot.payments.get(charge_id)
            if payment is None or payment.user_id != user_id:
                raise bad_request("CHARGE_NOT_FOUND")
            if payment.refunded:
                raise bad_request("CHARGE_ALREADY_REFUNDED")
            payment.refunded = True
            payment.refunded_at = time.time()
        return True
