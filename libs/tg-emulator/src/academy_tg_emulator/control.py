"""The control API under ``/_emulator``: play the users, inspect what the bots did, steer the emulator.

Every route that concerns one bot takes an optional ``?token=`` query parameter; without it the
default bot (the first one configured) is meant. Errors are FastAPI's ``{"detail": "..."}`` with a
4xx status, so a test sees a clear reason when it asks for something that cannot happen.
"""

from __future__ import annotations

import base64
import binascii
import copy
import secrets
import time
from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Query, Response
from pydantic import BaseModel, Field

from academy_tg_emulator.config import BotSpec, RateLimitConfig
from academy_tg_emulator.errors import ApiError
from academy_tg_emulator.formatting import detect_entities, utf16_len
from academy_tg_emulator.markup import inline_buttons
from academy_tg_emulator.media import extension_for, guess_mime_type, image_size
from academy_tg_emulator.methods import BotApi
from academy_tg_emulator.state import (
    BotState,
    CallbackRecord,
    ChatState,
    Emulator,
    FailRule,
    JsonDict,
    PaymentRecord,
    PreCheckoutRecord,
    StoredMessage,
    UserRecord,
)

TokenQuery = Annotated[str | None, Query(description="Bot token; the default bot when omitted")]


class UserIn(BaseModel):
    """A Telegram user. Unknown ids are created; known ones are updated with the fields given."""

    id: int | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_premium: bool | None = None


class OpenChatsIn(BaseModel):
    """Users (created when unknown) whose chats with the bot open at once."""

    user_ids: list[int] = Field(max_length=100_000)
    language_code: str | None = None


class TextIn(BaseModel):
    user: UserIn
    text: str = Field(min_length=1)
    reply_to_message_id: int | None = None
    #: Entities to send instead of the ones detected automatically (commands, mentions, links).
    entities: list[JsonDict] | None = None


class CommandIn(BaseModel):
    user: UserIn
    command: str = Field(min_length=1)
    args: str | None = None


class CallbackIn(BaseModel):
    user: UserIn
    message_id: int
    data: str
    #: Refuse data that no button of the message carries (a real client can only press real buttons).
    check_button: bool = True


class ContactIn(BaseModel):
    user: UserIn
    phone_number: str = Field(min_length=1)
    first_name: str | None = None
    last_name: str | None = None
    #: Share the sender's own contact (``contact.user_id`` set), as a ``request_contact`` button does.
    own: bool = True
    vcard: str | None = None


class FileIn(BaseModel):
    user: UserIn
    content_base64: str
    file_name: str | None = None
    mime_type: str | None = None
    caption: str | None = None


class PreCheckoutIn(BaseModel):
    user: UserIn
    invoice_message_id: int | None = None
    currency: str | None = None
    total_amount: int | None = None
    invoice_payload: str | None = None


class PaymentIn(BaseModel):
    user: UserIn
    pre_checkout_query_id: str | None = None
    invoice_message_id: int | None = None
    currency: str | None = None
    total_amount: int | None = None
    invoice_payload: str | None = None
    telegram_payment_charge_id: str | None = None
    provider_payment_charge_id: str | None = None
    # False: Telegram took the Stars but the bot never gets the `successful_payment` update (a lost
    # update, a crash before the offset was confirmed); the payment still shows in getStarTransactions.
    deliver_update: bool = True


class UserTextIn(BaseModel):
    """``POST /users/{id}/messages``: the user of the path writes ``text`` (curl-friendly shortcut)."""

    text: str = Field(min_length=1)
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    reply_to_message_id: int | None = None


class UserCallbackIn(BaseModel):
    message_id: int
    data: str
    check_button: bool = True


class UserContactIn(BaseModel):
    phone_number: str = Field(min_length=1)
    own: bool = True


class FailNextIn(BaseModel):
    """Make the next ``count`` calls (of ``methods``, else any but ``getUpdates``) fail."""

    count: int = Field(default=1, ge=1)
    error_code: int = Field(default=429, ge=400, le=599)
    retry_after: int | None = Field(default=5, ge=1)
    description: str | None = None
    methods: list[str] | None = None


def _http_error(status: int, detail: str) -> HTTPException:
    return HTTPException(status_code=status, detail=detail)


class Control:
    """The state changes and views behind the control routes (callers hold the lock)."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def bot(self, token: str | None) -> BotState:
        try:
            return self.emulator.bot(token or self.emulator.default_token())
        except ApiError:
            raise _http_error(404, f"no bot with token {token!r} is registered") from None

    def user(self, spec: UserIn) -> UserRecord:
        return self.emulator.upsert_user(
            spec.id,
            first_name=spec.first_name,
            last_name=spec.last_name,
            username=spec.username,
            language_code=spec.language_code,
            is_premium=spec.is_premium,
        )

    def member_update(self, bot: BotState, user: UserRecord, old: str, new: str) -> JsonDict | None:
        def member(status: str) -> JsonDict:
            entry: JsonDict = {"user": bot.user(), "status": status}
            if status == "kicked":
                entry["until_date"] = 0
            return entry

        payload = {
            "chat": user.private_chat(),
            "from": user.to_api(),
            "date": int(time.time()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        return self.emulator.push_update(bot, "my_chat_member", payload)

    def user_chat(self, bot: BotState, user: UserRecord) -> ChatState:
        """The chat the user writes in; writing to a blocked bot restarts it first, as the app does."""
        chat = self.emulator.open_chat(bot, user)
        if chat.blocked:
            chat.blocked = False
            self.member_update(bot, user, "kicked", "member")
        return chat

    def user_message(
        self, bot: BotState, user: UserRecord, content: JsonDict, reply_to: int | None = None, *, deliver: bool = True
    ) -> JsonDict:
        chat = self.user_chat(bot, user)
        if reply_to is not None:
            target = chat.messages.get(reply_to)
            if target is None or target.deleted:
                raise _http_error(404, f"message {reply_to} is not in chat {chat.chat_id}")
            content["reply_to_message"] = {k: v for k, v in target.data.items() if k != "reply_to_message"}
        self._hide_one_time_keyboard(chat, content)
        stored = self.emulator.add_message(chat, sender=user.to_api(), content=content, from_bot=False)
        update = self.emulator.push_update(bot, "message", copy.deepcopy(stored.data)) if deliver else None
        return {"message": stored.view(), "update": update, "update_id": update and update["update_id"]}

    @staticmethod
    def _hide_one_time_keyboard(chat: ChatState, content: JsonDict) -> None:
        keyboard = chat.reply_keyboard
        if keyboard is None or not keyboard.get("one_time_keyboard"):
            return
        texts = {button.get("text") for row in keyboard.get("keyboard", []) for button in row}
        if content.get("text") in texts or "contact" in content:
            chat.reply_keyboard = None

    def bot_message(self, bot: BotState, chat_id: int, message_id: int) -> StoredMessage:
        chat = bot.chats.get(chat_id)
        stored = chat.messages.get(message_id) if chat else None
        if stored is None:
            raise _http_error(404, f"message {message_id} is not in chat {chat_id}")
        return stored

    def press(self, bot: BotState, body: CallbackIn) -> JsonDict:
        user = self.user(body.user)
        chat = bot.chats.get(user.id)
        if chat is None:
            raise _http_error(404, f"user {user.id} has no chat with the bot")
        if chat.blocked:
            raise _http_error(409, f"user {user.id} has blocked the bot")
        stored = self.bot_message(bot, user.id, body.message_id)
        if stored.deleted or not stored.from_bot:
            raise _http_error(409, f"message {body.message_id} is deleted or not the bot's")
        buttons = inline_buttons(stored.data.get("reply_markup"))
        if body.check_button and body.data not in {button.get("callback_data") for button in buttons}:
            available = [button.get("callback_data") for button in buttons if "callback_data" in button]
            raise _http_error(
                400,
                f"message {body.message_id} has no button with callback_data {body.data!r}; it has {available}",
            )
        query_id = self.emulator.new_id()
        bot.callbacks[query_id] = CallbackRecord(
            id=query_id, chat_id=chat.chat_id, message_id=stored.message_id, user_id=user.id, data=body.data
        )
        payload = {
            "id": query_id,
            "from": user.to_api(),
            "message": copy.deepcopy(stored.data),
            "chat_instance": str((bot.id << 20) ^ chat.chat_id),
            "data": body.data,
        }
        update = self.emulator.push_update(bot, "callback_query", payload)
        return {"callback_query_id": query_id, "update": update, "update_id": update and update["update_id"]}

    def uploaded(self, body: FileIn, kind: str) -> tuple[bytes, str]:
        try:
            data = base64.b64decode(body.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise _http_error(400, "content_base64 is not valid base64") from None
        if not data:
            raise _http_error(400, "the file is empty")
        if kind == "photo" and image_size(data) is None:
            raise _http_error(400, "a photo must be a PNG, JPEG, GIF or WebP image")
        return data, guess_mime_type(body.file_name, body.mime_type)

    def invoice_facts(self, bot: BotState, user: UserRecord, message_id: int | None) -> JsonDict:
        if message_id is None:
            return {}
        stored = self.bot_message(bot, user.id, message_id)
        invoice = stored.data.get("invoice")
        if invoice is None:
            raise _http_error(409, f"message {message_id} is not an invoice")
        return {
            "currency": invoice["currency"],
            "total_amount": invoice["total_amount"],
            "invoice_payload": stored.extra.get("invoice_payload", ""),
        }

    def pre_checkout(self, bot: BotState, body: PreCheckoutIn) -> JsonDict:
        user = self.user(body.user)
        if user.id not in bot.chats:
            raise _http_error(404, f"user {user.id} has no chat with the bot")
        facts = self.invoice_facts(bot, user, body.invoice_message_id)
        for key in ("currency", "total_amount", "invoice_payload"):
            value = getattr(body, key)
            if value is not None:
                facts[key] = value
        if {"currency", "total_amount", "invoice_payload"} - facts.keys():
            raise _http_error(400, "give invoice_message_id or currency, total_amount and invoice_payload")
        query_id = self.emulator.new_id()
        bot.pre_checkouts[query_id] = PreCheckoutRecord(
            id=query_id,
            user_id=user.id,
            chat_id=user.id,
            currency=facts["currency"],
            total_amount=facts["total_amount"],
            invoice_payload=facts["invoice_payload"],
            invoice_message_id=body.invoice_message_id,
        )
        payload = {"id": query_id, "from": user.to_api(), **facts}
        update = self.emulator.push_update(bot, "pre_checkout_query", payload)
        return {"pre_checkout_query_id": query_id, "update": update, "update_id": update and update["update_id"]}

    def payment(self, bot: BotState, body: PaymentIn) -> JsonDict:
        user = self.user(body.user)
        facts: JsonDict = {}
        if body.pre_checkout_query_id is not None:
            query = bot.pre_checkouts.get(body.pre_checkout_query_id)
            if query is None or query.user_id != user.id:
                raise _http_error(404, f"no pre-checkout query {body.pre_checkout_query_id} from user {user.id}")
            if query.ok is not True:
                raise _http_error(409, f"the bot did not approve pre-checkout query {query.id}")
            facts = {
                "currency": query.currency,
                "total_amount": query.total_amount,
                "invoice_payload": query.invoice_payload,
            }
            invoice_message_id = query.invoice_message_id
        else:
            facts = self.invoice_facts(bot, user, body.invoice_message_id)
            invoice_message_id = body.invoice_message_id
        for key in ("currency", "total_amount", "invoice_payload"):
            value = getattr(body, key)
            if value is not None:
                facts[key] = value
        if {"currency", "total_amount", "invoice_payload"} - facts.keys():
            raise _http_error(400, "give pre_checkout_query_id, invoice_message_id or the payment's fields")
        stars = facts["currency"] == "XTR"
        charge_id = body.telegram_payment_charge_id or (
            f"stx{secrets.token_urlsafe(48)}" if stars else f"{secrets.randbits(40)}_{secrets.randbits(20)}"
        )
        provider_charge = body.provider_payment_charge_id or ("" if stars else f"ch_{secrets.token_hex(12)}")
        payment = {**facts, "telegram_payment_charge_id": charge_id, "provider_payment_charge_id": provider_charge}
        result = self.user_message(bot, user, {"successful_payment": payment}, deliver=body.deliver_update)
        bot.payments[charge_id] = PaymentRecord(
            telegram_payment_charge_id=charge_id,
            provider_payment_charge_id=provider_charge,
            user_id=user.id,
            chat_id=user.id,
            currency=facts["currency"],
            total_amount=facts["total_amount"],
            invoice_payload=facts["invoice_payload"],
            message_id=result["message"]["message_id"],
            user=user.to_api(),
        )
        result["invoice_message_id"] = invoice_message_id
        return result

    def text(self, bot: BotState, body: TextIn) -> JsonDict:
        user = self.user(body.user)
        entities = body.entities if body.entities is not None else detect_entities(body.text)
        content: JsonDict = {"text": body.text}
        if entities:
            content["entities"] = entities
        return self.user_message(bot, user, content, body.reply_to_message_id)

    def command(self, bot: BotState, body: CommandIn) -> JsonDict:
        command = body.command if body.command.startswith("/") else f"/{body.command}"
        text = f"{command} {body.args}" if body.args else command
        entity = {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
        return self.user_message(bot, self.user(body.user), {"text": text, "entities": [entity]})

    def contact(self, bot: BotState, body: ContactIn) -> JsonDict:
        user = self.user(body.user)
        contact: JsonDict = {"phone_number": body.phone_number, "first_name": body.first_name or user.first_name}
        last_name = body.last_name if body.last_name is not None else (user.last_name if body.own else None)
        if last_name:
            contact["last_name"] = last_name
        if body.own:
            contact["user_id"] = user.id
        if body.vcard:
            contact["vcard"] = body.vcard
        return self.user_message(bot, user, {"contact": contact})

    def file(self, bot: BotState, body: FileIn, kind: str) -> JsonDict:
        data, mime_type = self.uploaded(body, kind)
        user = self.user(body.user)
        if kind == "photo":
            width, height = image_size(data) or (0, 0)
            record = self.emulator.store_file(
                "photo", data, file_name=None, mime_type="image/jpeg", extension="jpg", width=width, height=height
            )
            content: JsonDict = {"photo": [record.photo_size()]}
        else:
            extension = extension_for(mime_type, body.file_name)
            record = self.emulator.store_file(
                "document", data, file_name=body.file_name, mime_type=mime_type, extension=extension
            )
            content = {"document": record.document()}
        if body.caption:
            content["caption"] = body.caption
        return self.user_message(bot, user, content)

    def chat_view(self, chat: ChatState) -> JsonDict:
        return {
            "chat": self.emulator.chat_object(chat.chat_id),
            "blocked": chat.blocked,
            "reply_keyboard": chat.reply_keyboard,
            "menu_button": chat.menu_button,
            "actions": chat.actions,
            "message_count": len(chat.messages),
        }

    @staticmethod
    def message_views(
        chat: ChatState | None, *, sender: str, include_deleted: bool, after: int | None
    ) -> list[JsonDict]:
        stored = list(chat.messages.values()) if chat else []
        return copy.deepcopy(
            [
                message.view()
                for message in stored
                if (sender == "all" or message.from_bot == (sender == "bot"))
                and (include_deleted or not message.deleted)
                and (after is None or message.message_id > after)
            ]
        )

    def calls(self, bot: BotState, *, method: str | None, since: int, exclude: str | None) -> list[JsonDict]:
        excluded = {name.strip().lower() for name in (exclude or "").split(",") if name.strip()}
        wanted = method.lower() if method else None
        return copy.deepcopy(
            [
                entry
                for entry in self.emulator.calls
                if entry["seq"] > since
                and entry["bot_id"] in (bot.id, None)
                and wanted in (None, entry["method"].lower())
                and entry["method"].lower() not in excluded
            ]
        )

    def bot_view(self, bot: BotState) -> JsonDict:
        return {
            "bot": bot.get_me(),
            "token": bot.token,
            "webhook": bot.webhook_info(),
            "webhook_secret_token": bot.webhook.secret_token if bot.webhook else None,
            "allowed_updates": bot.allowed_updates,
            "pending_updates": copy.deepcopy(bot.pending),
            "commands": [
                {"scope": scope, "language_code": language, "commands": commands}
                for (scope, language), commands in bot.commands.items()
            ],
            "menu_button": bot.menu_button or {"type": "commands"},
            "texts": [
                {"name": name, "language_code": lang, "value": value} for (name, lang), value in bot.texts.items()
            ],
            "chats": sorted(bot.chats),
            "fail_next": [
                {"remaining": rule.remaining, "error_code": rule.error_code, "description": rule.description}
                for rule in bot.fail_rules
            ],
        }


def build_control_router(emulator: Emulator, api: BotApi) -> APIRouter:
    """The ``/_emulator`` routes over ``emulator``."""
    router = APIRouter(prefix="/_emulator", tags=["emulator control"])
    control = Control(emulator)
    _emulator_routes(router, emulator, api)
    _bot_routes(router, emulator, control)
    _user_routes(router, emulator, control)
    _user_shortcut_routes(router, emulator, control)
    _update_routes(router, emulator, control)
    _chat_routes(router, emulator, control)
    _inspection_routes(router, emulator, control)
    _steering_routes(router, emulator, control)
    _statistics_routes(router, emulator, control)
    return router


def _emulator_routes(router: APIRouter, emulator: Emulator, api: BotApi) -> None:
    lock = emulator.lock

    @router.get("/health")
    async def health() -> JsonDict:
        return {"ok": True, "bots": [bot.spec.username for bot in emulator.bots.values()], "methods": api.method_names}

    @router.post("/reset")
    async def reset(full: bool = False) -> JsonDict:
        async with lock:
            tasks = emulator.reset(full=full)
        await api.webhooks.cancel(tasks)
        return {"ok": True}


def _bot_routes(router: APIRouter, emulator: Emulator, control: Control) -> None:
    lock = emulator.lock

    @router.get("/bots")
    async def list_bots() -> list[JsonDict]:
        async with lock:
            return [{"token": bot.token, **bot.get_me()} for bot in emulator.bots.values()]

    @router.post("/bots")
    async def register_bot(spec: BotSpec) -> JsonDict:
        async with lock:
            bot = emulator.register_bot(spec)
            return {"token": bot.token, **bot.get_me()}

    @router.get("/bot")
    async def bot_state(token: TokenQuery = None) -> JsonDict:
        async with lock:
            return control.bot_view(control.bot(token))


def _user_routes(router: APIRouter, emulator: Emulator, control: Control) -> None:
    lock = emulator.lock

    @router.post("/users")
    async def create_user(user: UserIn) -> JsonDict:
        async with lock:
            return control.user(user).to_api()

    @router.get("/users")
    async def list_users() -> list[JsonDict]:
        async with lock:
            return [user.to_api() for user in emulator.users.values()]

    @router.get("/users/{user_id}")
    async def get_user(user_id: int) -> JsonDict:
        async with lock:
            user = emulator.users.get(user_id)
            if user is None:
                raise _http_error(404, f"no user {user_id}")
            return user.to_api()

    @router.post("/chats/open")
    async def open_chats(body: OpenChatsIn, token: TokenQuery = None) -> JsonDict:
        """Users who have started the bot (their private chats exist, no update is queued): many at once, as a
        broadcast's load test needs (a chat is otherwise opened by the user's first message)."""
        async with lock:
            bot = control.bot(token)
            for user_id in body.user_ids:
                user = control.user(UserIn(id=user_id, language_code=body.language_code))
                emulator.open_chat(bot, user)
        return {"ok": True, "opened": len(body.user_ids)}

    @router.post("/users/{user_id}/block")
    async def block(user_id: int, token: TokenQuery = None) -> JsonDict:
        async with lock:
            bot = control.bot(token)
            user = control.user(UserIn(id=user_id))
            chat = emulator.open_chat(bot, user)
            update = None if chat.blocked else control.member_update(bot, user, "member", "kicked")
            chat.blocked = True
            return {"blocked": True, "update": update}

    @router.post("/users/{user_id}/unblock")
    async def unblock(user_id: int, token: TokenQuery = None) -> JsonDict:
        async with lock:
            bot = control.bot(token)
            user = control.user(UserIn(id=user_id))
            chat = emulator.open_chat(bot, user)
            update = control.member_update(bot, user, "kicked", "member") if chat.blocked else None
            chat.blocked = False
            return {"blocked": False, "update": update}


def _user_shortcut_routes(router: APIRouter, emulator: Emulator, control: Control) -> None:
    """The user in the path acts; unknown users are created (handy with curl)."""
    lock = emulator.lock

    @router.post("/users/{user_id}/messages")
    async def user_writes(user_id: int, body: UserTextIn, token: TokenQuery = None) -> JsonDict:
        user = UserIn(
            id=user_id,
            first_name=body.first_name,
            last_name=body.last_name,
            username=body.username,
            language_code=body.language_code,
        )
        text = TextIn(user=user, text=body.text, reply_to_message_id=body.reply_to_message_id)
        async with lock:
            return control.text(control.bot(token), text)

    @router.post("/users/{user_id}/callbacks")
    async def user_presses(user_id: int, body: UserCallbackIn, token: TokenQuery = None) -> JsonDict:
        press = CallbackIn(
            user=UserIn(id=user_id), message_id=body.message_id, data=body.data, check_button=body.check_button
        )
        async with lock:
            return control.press(control.bot(token), press)

    @router.post("/users/{user_id}/contact")
    async def user_shares_contact(user_id: int, body: UserContactIn, token: TokenQuery = None) -> JsonDict:
        contact = ContactIn(user=UserIn(id=user_id), phone_number=body.phone_number, own=body.own)
        async with lock:
            return control.contact(control.bot(token), contact)


def _update_routes(router: APIRouter, emulator: Emulator, control: Control) -> None:
    lock = emulator.lock

    @router.post("/updates/message")
    async def send_text(body: TextIn, token: TokenQuery = None) -> JsonDict:
        async with lock:
            return control.text(control.bot(token), body)

    @router.post("/updates/command")
    async def send_command(body: CommandIn, token: TokenQuery = None) -> JsonDict:
        async with lock:
            return control.command(control.bot(token), body)

    @router.post("/updates/callback")
    async def press_button(body: CallbackIn, token: TokenQuery = None) -> JsonDict:
        async with lock:
            return control.press(control.bot(token), body)

    @router.post("/updates/contact")
    async def share_contact(body: ContactIn, token: TokenQuery = None) -> JsonDict:
        async with lock:
            return control.contact(control.bot(token), body)

    @router.post("/updates/document")
    async def send_document(body: FileIn, token: TokenQuery = None) -> JsonDict:
        async with lock:
            return control.file(control.bot(token), body, "document")

    @router.post("/updates/photo")
    async def send_photo(body: FileIn, token: TokenQuery = None) -> JsonDict:
        async with lock:
            return control.file(control.bot(token), body, "photo")

    @router.post("/updates/pre-checkout-query")
    async def pre_checkout(body: PreCheckoutIn, token: TokenQuery = None) -> JsonDict:
        async with lock:
            return control.pre_checkout(control.bot(token), body)

    @router.post("/updates/successful-payment")
    async def successful_payment(body: PaymentIn, token: TokenQuery = None) -> JsonDict:
        async with lock:
            return control.payment(control.bot(token), body)


def _chat_routes(router: APIRouter, emulator: Emulator, control: Control) -> None:
    lock = emulator.lock

    @router.get("/chats")
    async def list_chats(token: TokenQuery = None) -> list[JsonDict]:
        async with lock:
            bot = control.bot(token)
            return [control.chat_view(chat) for chat in bot.chats.values()]

    @router.get("/chats/{chat_id}")
    async def chat_state(chat_id: int, token: TokenQuery = None) -> JsonDict:
        async with lock:
            chat = control.bot(token).chats.get(chat_id)
            if chat is None:
                raise _http_error(404, f"chat {chat_id} has not talked to the bot")
            return control.chat_view(chat)

    @router.get("/chats/{chat_id}/messages")
    async def chat_messages(
        chat_id: int,
        token: TokenQuery = None,
        sender: Annotated[str, Query(pattern="^(bot|user|all)$")] = "bot",
        include_deleted: bool = True,
        after: int | None = None,
    ) -> JsonDict:
        async with lock:
            chat = control.bot(token).chats.get(chat_id)
            views = control.message_views(chat, sender=sender, include_deleted=include_deleted, after=after)
            return {"chat_id": chat_id, "messages": views}

    @router.get("/chats/{chat_id}/messages/{message_id}")
    async def chat_message(chat_id: int, message_id: int, token: TokenQuery = None) -> JsonDict:
        async with lock:
            return copy.deepcopy(control.bot_message(control.bot(token), chat_id, message_id).view())


def _inspection_routes(router: APIRouter, emulator: Emulator, control: Control) -> None:
    lock = emulator.lock

    @router.get("/callbacks/{callback_query_id}")
    async def callback(callback_query_id: str, token: TokenQuery = None) -> JsonDict:
        async with lock:
            record = control.bot(token).callbacks.get(callback_query_id)
            if record is None:
                raise _http_error(404, f"no callback query {callback_query_id}")
            return record.view()

    @router.get("/pre-checkout-queries/{query_id}")
    async def pre_checkout_query(query_id: str, token: TokenQuery = None) -> JsonDict:
        async with lock:
            record = control.bot(token).pre_checkouts.get(query_id)
            if record is None:
                raise _http_error(404, f"no pre-checkout query {query_id}")
            return record.view()

    @router.get("/payments")
    async def payments(token: TokenQuery = None) -> list[JsonDict]:
        async with lock:
            return [payment.view() for payment in control.bot(token).payments.values()]

    @router.get("/calls")
    async def calls(
        token: TokenQuery = None,
        method: str | None = None,
        since: int = 0,
        exclude: str | None = None,
    ) -> list[JsonDict]:
        async with lock:
            return control.calls(control.bot(token), method=method, since=since, exclude=exclude)

    @router.get("/files/{file_id}")
    async def file_content(file_id: str) -> Response:
        async with lock:
            record = emulator.files.get(file_id)
        if record is None:
            raise _http_error(404, f"no file {file_id}")
        headers = {"X-File-Path": record.file_path}
        if record.file_name:
            headers["X-File-Name"] = record.file_name
        return Response(content=record.data, media_type=record.mime_type, headers=headers)


def _steering_routes(router: APIRouter, emulator: Emulator, control: Control) -> None:
    lock = emulator.lock

    @router.get("/rate-limit")
    async def get_rate_limit() -> RateLimitConfig:
        return emulator.rate_limit

    @router.post("/rate-limit")
    async def set_rate_limit(limits: RateLimitConfig) -> RateLimitConfig:
        async with lock:
            emulator.rate_limit = limits
            for bot in emulator.bots.values():
                bot.send_log.clear()
        return limits

    @router.post("/fail-next")
    async def fail_next(body: FailNextIn, token: TokenQuery = None) -> JsonDict:
        if body.error_code == HTTPStatus.TOO_MANY_REQUESTS and body.retry_after is None:
            raise _http_error(400, "a 429 needs retry_after")
        description = body.description or _default_description(body.error_code, body.retry_after)
        methods = frozenset(name.lower() for name in body.methods) if body.methods else None
        async with lock:
            bot = control.bot(token)
            retry_after = body.retry_after if body.error_code == HTTPStatus.TOO_MANY_REQUESTS else None
            bot.fail_rules.append(FailRule(body.count, body.error_code, description, retry_after, methods))
            return {"ok": True, "pending_rules": len(bot.fail_rules)}

    @router.delete("/fail-next")
    async def clear_fail_next(token: TokenQuery = None) -> JsonDict:
        async with lock:
            control.bot(token).fail_rules.clear()
        return {"ok": True}

    @router.post("/updates/raw")
    async def raw_update(update: Annotated[JsonDict, Body()], token: TokenQuery = None) -> JsonDict:
        """Queue any update object (without ``update_id``) as is, for kinds the API above does not cover."""
        kinds = [key for key in update if key != "update_id"]
        if len(kinds) != 1:
            raise _http_error(400, "an update has exactly one field besides update_id")
        async with lock:
            queued = emulator.push_update(control.bot(token), kinds[0], update[kinds[0]])
        return {"update": queued, "update_id": queued and queued["update_id"]}


def _statistics_routes(router: APIRouter, emulator: Emulator, control: Control) -> None:
    lock = emulator.lock

    @router.get("/send-stats")
    async def send_stats(token: TokenQuery = None, window_s: float = 1.0) -> JsonDict:
        """Messages the bot delivered: counts, chats with more than one, peaks in any `window_s` seconds."""
        if not 0 < window_s <= 3600:  # noqa: PLR2004 - an hour is the longest window that means anything here
            raise _http_error(400, "window_s must be within (0, 3600]")
        async with lock:
            return emulator.send_statistics(control.bot(token), window_s=window_s)


def _default_description(error_code: int, retry_after: int | None) -> str:
    """Telegram's wording for an error code: ``Too Many Requests: retry after N``, ``Bad Gateway``..."""
    if error_code == HTTPStatus.TOO_MANY_REQUESTS:
        return f"Too Many Requests: retry after {retry_after}"
    try:
        return HTTPStatus(error_code).phrase
    except ValueError:
        return "Internal Server Error" if error_code >= HTTPStatus.INTERNAL_SERVER_ERROR else "Bad Request"


__all__ = ["Control", "build_control_router"]
