"""An async client for the control API: play a learner, then check what the bot answered.

>>> async with EmulatorClient(base_url) as tg:                     # doctest: +SKIP
...     anna = TestUser.new("Anna")
...     sent = await tg.send_command(anna, "start")
...     reply = await tg.wait_for_reply(sent, lambda m: "Welcome" in (m.text or ""))
...     press = await tg.press_button_by_text(anna, reply, "Courses")
...     answer = await tg.wait_for_callback_answer(press)
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, Self

import httpx
from pydantic import BaseModel, ConfigDict, Field

from academy_tg_emulator.config import DEFAULT_BOT_TOKEN

JsonDict = dict[str, Any]
MessagePredicate = Callable[["ChatMessage"], bool]


class EmulatorError(Exception):
    """The control API refused a request (bad input, unknown chat or message...)."""

    def __init__(self, status_code: int, detail: Any) -> None:
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail


class TestUser(BaseModel):
    """A Telegram user a test plays. In a private chat the chat id is the user id."""

    __test__: ClassVar[bool] = False  # not a pytest test class despite the name
    model_config = ConfigDict(frozen=True)

    id: int
    first_name: str = "Test"
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "ru"
    is_premium: bool | None = None

    @classmethod
    def new(cls, first_name: str = "Test", **fields: Any) -> TestUser:
        """A user with a random id, so tests sharing one emulator do not meet each other."""
        return cls(id=fields.pop("id", 10**9 + secrets.randbelow(9 * 10**9)), first_name=first_name, **fields)

    @property
    def chat_id(self) -> int:
        return self.id

    def payload(self) -> JsonDict:
        return self.model_dump(exclude_none=True)


UserLike = TestUser | int


def _user(user: UserLike) -> JsonDict:
    return {"id": user} if isinstance(user, int) else user.payload()


def _user_id(user: UserLike) -> int:
    return user if isinstance(user, int) else user.id


class ChatMessage(BaseModel):
    """A message of a chat as the emulator stores it, edits applied. ``raw`` is the Bot API object."""

    model_config = ConfigDict(extra="allow")

    message_id: int
    chat_id: int
    date: int | None = None
    from_bot: bool
    sender_id: int | None = None
    text: str | None = None
    caption: str | None = None
    entities: list[JsonDict] = Field(default_factory=list)
    #: The markup as the bot sent it: inline keyboard, reply keyboard, remove_keyboard or force_reply.
    reply_markup: JsonDict | None = None
    method: str | None = None
    parse_mode: str | None = None
    #: The text or caption before ``parse_mode`` was applied.
    raw_text: str | None = None
    deleted: bool = False
    edited: bool = False
    edit_date: int | None = None
    #: Earlier versions of ``raw``, oldest first.
    versions: list[JsonDict] = Field(default_factory=list)
    reply_to_message_id: int | None = None
    document: JsonDict | None = None
    photo: list[JsonDict] | None = None
    video: JsonDict | None = None
    contact: JsonDict | None = None
    invoice: JsonDict | None = None
    successful_payment: JsonDict | None = None
    #: The album a message of `sendMediaGroup` belongs to (the same for all of its messages).
    media_group_id: str | None = None
    raw: JsonDict = Field(default_factory=dict)

    @property
    def content(self) -> str | None:
        """The text, or the caption of a media message."""
        return self.text if self.text is not None else self.caption

    @property
    def file_id(self) -> str | None:
        """The ``file_id`` of the document, video or (largest) photo, if any."""
        if self.document is not None:
            return str(self.document["file_id"])
        if self.video is not None:
            return str(self.video["file_id"])
        if self.photo:
            return str(self.photo[-1]["file_id"])
        return None

    def inline_buttons(self) -> list[JsonDict]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    def keyboard_buttons(self) -> list[JsonDict]:
        """Buttons of a reply keyboard (``request_contact`` buttons included)."""
        rows = (self.reply_markup or {}).get("keyboard", [])
        return [button for row in rows for button in row]

    def button(self, text: str) -> JsonDict:
        """The inline or reply keyboard button labelled ``text``."""
        buttons = self.inline_buttons() + self.keyboard_buttons()
        for button in buttons:
            if button.get("text") == text:
                return button
        labels = [button.get("text") for button in buttons]
        raise KeyError(f"message {self.message_id} has no button {text!r}; its buttons: {labels}")

    def summary(self) -> str:
        who = "bot" if self.from_bot else f"user {self.sender_id}"
        if self.content is not None:
            body = repr(self.content)
        else:
            kinds = ("document", "photo", "video", "contact", "invoice", "successful_payment")
            body = next((f"<{kind}>" for kind in kinds if getattr(self, kind) is not None), "<message>")
        labels = [button.get("text") for button in self.inline_buttons() + self.keyboard_buttons()]
        flags = "".join(f" [{flag}]" for flag in ("deleted", "edited") if getattr(self, flag))
        return f"#{self.message_id} {who}: {body}" + (f" buttons={labels}" if labels else "") + flags


class ButtonPress(BaseModel):
    """A pressed inline button: the callback query the bot received (or not, if filtered)."""

    callback_query_id: str
    update_id: int | None = None
    chat_id: int
    message_id: int
    data: str


class CallbackAnswer(BaseModel):
    """What the bot passed to ``answerCallbackQuery``."""

    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    cache_time: int = 0


class ApiCall(BaseModel):
    """One Bot API call from the call log."""

    model_config = ConfigDict(extra="allow")

    seq: int
    at: float
    method: str
    via: str = "http"
    bot_id: int | None = None
    params: JsonDict = Field(default_factory=dict)
    ok: bool
    result: Any = None
    error_code: int | None = None
    description: str | None = None
    parameters: JsonDict | None = None


class EmulatorClient:
    """The control API of an emulator at ``base_url``, for the bot with ``token`` (default bot if ``None``)."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=timeout, trust_env=False)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    def for_bot(self, token: str) -> EmulatorClient:
        """A client for another bot of the same emulator, sharing this one's connection pool."""
        return EmulatorClient(self.base_url, token, http_client=self._http)

    @property
    def bot_token(self) -> str:
        return self.token or DEFAULT_BOT_TOKEN

    @property
    def api_base(self) -> str:
        """The base URL to give a bot library, e.g. ``TelegramAPIServer.from_base(client.api_base)``."""
        return self.base_url

    async def _send(
        self, method: str, path: str, *, json: Any = None, params: JsonDict | None = None
    ) -> httpx.Response:
        query = {key: value for key, value in (params or {}).items() if value is not None}
        if self.token is not None:
            query["token"] = self.token
        response = await self._http.request(method, f"{self.base_url}/_emulator{path}", json=json, params=query)
        if response.is_error:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise EmulatorError(response.status_code, detail)
        return response

    async def _object(self, method: str, path: str, *, json: Any = None, params: JsonDict | None = None) -> JsonDict:
        body = (await self._send(method, path, json=json, params=params)).json()
        if not isinstance(body, dict):
            raise EmulatorError(500, f"expected a JSON object from {path}, got {body!r}")
        return body

    async def _list(self, method: str, path: str, *, params: JsonDict | None = None) -> list[JsonDict]:
        body = (await self._send(method, path, params=params)).json()
        if not isinstance(body, list):
            raise EmulatorError(500, f"expected a JSON array from {path}, got {body!r}")
        return body

    # -- emulator ---------------------------------------------------------------------------

    async def health(self) -> JsonDict:
        return await self._object("GET", "/health")

    async def reset(self, *, full: bool = False) -> None:
        """Forget users, chats, messages, files, calls and limits; bots keep webhook, commands, menu.

        ``full=True`` also drops every bot's configuration and the bots registered at runtime.
        Update ids keep growing either way, so a polling bot never skips new updates.
        """
        await self._object("POST", "/reset", params={"full": "true" if full else None})

    async def register_bot(self, token: str, username: str, first_name: str = "Test Bot") -> JsonDict:
        body = {"token": token, "username": username, "first_name": first_name}
        return await self._object("POST", "/bots", json=body)

    async def bot_state(self) -> JsonDict:
        """Webhook info, pending updates, commands, menu button... of this client's bot."""
        return await self._object("GET", "/bot")

    async def set_rate_limit(
        self,
        *,
        enabled: bool = True,
        per_chat_per_second: int = 1,
        global_per_second: int = 30,
        retry_after: int | None = None,
        inject_every: int | None = None,
        injected_retry_after: int = 1,
    ) -> JsonDict:
        """Flood control: sends over the limits get 429; with `inject_every`, every Nth send within them too."""
        body = {
            "enabled": enabled,
            "per_chat_per_second": per_chat_per_second,
            "global_per_second": global_per_second,
            "retry_after": retry_after,
            "inject_every": inject_every,
            "injected_retry_after": injected_retry_after,
        }
        return await self._object("POST", "/rate-limit", json=body)

    async def open_chats(self, user_ids: list[int], *, language_code: str | None = None) -> None:
        """These users have started the bot: their chats exist (no update is queued)."""
        await self._object("POST", "/chats/open", json={"user_ids": user_ids, "language_code": language_code})

    async def send_stats(self, *, window_s: float = 1.0) -> JsonDict:
        """What the bot delivered: `messages`, `chats`, `chats_with_more_than_one`, `max_per_chat`,
        `peak_global` and `peak_per_chat` (the most in any `window_s` seconds)."""
        return await self._object("GET", "/send-stats", params={"window_s": window_s})

    async def fail_next(
        self,
        count: int = 1,
        *,
        retry_after: int | None = 5,
        methods: list[str] | None = None,
        error_code: int = 429,
        description: str | None = None,
    ) -> None:
        """Fail the next ``count`` calls of ``methods`` (default: any method except ``getUpdates``)."""
        body = {
            "count": count,
            "retry_after": retry_after,
            "methods": methods,
            "error_code": error_code,
            "description": description,
        }
        await self._object("POST", "/fail-next", json=body)

    async def clear_fail_next(self) -> None:
        await self._object("DELETE", "/fail-next")

    # -- users ------------------------------------------------------------------------------

    async def create_user(self, user: TestUser | None = None, **fields: Any) -> TestUser:
        """Register a user (an id is assigned when none is given)."""
        body = user.payload() if user is not None else fields
        created = await self._object("POST", "/users", json=body)
        known = set(TestUser.model_fields)
        return TestUser(**{key: value for key, value in created.items() if key in known})

    async def _message(self, path: str, body: JsonDict) -> ChatMessage:
        result = await self._object("POST", path, json=body)
        return ChatMessage.model_validate(result["message"])

    async def send_text(self, user: UserLike, text: str, *, reply_to_message_id: int | None = None) -> ChatMessage:
        """The user writes ``text`` (commands, mentions and links get their entities); returns that message."""
        body = {"user": _user(user), "text": text, "reply_to_message_id": reply_to_message_id}
        return await self._message("/updates/message", body)

    async def send_command(self, user: UserLike, command: str, args: str | None = None) -> ChatMessage:
        """The user sends ``/command [args]`` with a ``bot_command`` entity; ``command`` may omit the ``/``."""
        return await self._message("/updates/command", {"user": _user(user), "command": command, "args": args})

    async def share_contact(
        self,
        user: UserLike,
        phone: str,
        *,
        own: bool = True,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> ChatMessage:
        """The user shares a contact; ``own`` (the default) is what a ``request_contact`` button sends."""
        body = {
            "user": _user(user),
            "phone_number": phone,
            "own": own,
            "first_name": first_name,
            "last_name": last_name,
        }
        return await self._message("/updates/contact", body)

    async def send_document(
        self,
        user: UserLike,
        content: bytes,
        file_name: str,
        *,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> ChatMessage:
        body = {
            "user": _user(user),
            "content_base64": base64.b64encode(content).decode("ascii"),
            "file_name": file_name,
            "mime_type": mime_type,
            "caption": caption,
        }
        return await self._message("/updates/document", body)

    async def send_photo(self, user: UserLike, content: bytes, *, caption: str | None = None) -> ChatMessage:
        """The user sends a photo (PNG, JPEG, GIF or WebP bytes)."""
        body = {"user": _user(user), "content_base64": base64.b64encode(content).decode("ascii"), "caption": caption}
        return await self._message("/updates/photo", body)

    async def press_button(
        self, user: UserLike, message_id: int, callback_data: str, *, check_button: bool = True
    ) -> ButtonPress:
        """The user presses the inline button carrying ``callback_data`` under the bot's message."""
        body = {"user": _user(user), "message_id": message_id, "data": callback_data, "check_button": check_button}
        result = await self._object("POST", "/updates/callback", json=body)
        return ButtonPress(
            callback_query_id=result["callback_query_id"],
            update_id=result["update_id"],
            chat_id=_user_id(user),
            message_id=message_id,
            data=callback_data,
        )

    async def press_button_by_text(self, user: UserLike, message: ChatMessage, text: str) -> ButtonPress:
        """Press the inline button labelled ``text`` (it must carry ``callback_data``)."""
        button = message.button(text)
        if "callback_data" not in button:
            raise KeyError(f"button {text!r} has no callback_data: {button}")
        return await self.press_button(user, message.message_id, str(button["callback_data"]))

    async def block_bot(self, user: UserLike) -> None:
        """The user blocks the bot: sends to them fail with 403 until they write again or unblock."""
        await self._object("POST", f"/users/{_user_id(user)}/block")

    async def unblock_bot(self, user: UserLike) -> None:
        await self._object("POST", f"/users/{_user_id(user)}/unblock")

    async def send_update(self, update: JsonDict) -> int | None:
        """Queue an arbitrary update object (no ``update_id``); returns the id, ``None`` if filtered."""
        result = await self._object("POST", "/updates/raw", json=update)
        update_id = result["update_id"]
        return int(update_id) if update_id is not None else None

    # -- payments ---------------------------------------------------------------------------

    async def send_pre_checkout_query(
        self,
        user: UserLike,
        *,
        invoice_message_id: int | None = None,
        currency: str | None = None,
        total_amount: int | None = None,
        invoice_payload: str | None = None,
    ) -> str:
        """The user confirms an invoice: the bot gets a ``pre_checkout_query``. Returns its id."""
        body = {
            "user": _user(user),
            "invoice_message_id": invoice_message_id,
            "currency": currency,
            "total_amount": total_amount,
            "invoice_payload": invoice_payload,
        }
        result = await self._object("POST", "/updates/pre-checkout-query", json=body)
        return str(result["pre_checkout_query_id"])

    async def pre_checkout_answer(self, query_id: str) -> JsonDict:
        return await self._object("GET", f"/pre-checkout-queries/{query_id}")

    async def wait_for_pre_checkout_answer(self, query_id: str, *, timeout: float = 5.0) -> JsonDict:
        """Wait until the bot answers the query; returns ``{"ok": ..., "error_message": ...}`` and more."""
        deadline = time.monotonic() + timeout
        while True:
            answer = await self.pre_checkout_answer(query_id)
            if answer["answered"]:
                return answer
            if time.monotonic() > deadline:
                raise TimeoutError(f"the bot did not answer pre-checkout query {query_id} within {timeout}s")
            await asyncio.sleep(0.05)

    async def send_successful_payment(
        self,
        user: UserLike,
        *,
        pre_checkout_query_id: str | None = None,
        invoice_message_id: int | None = None,
        currency: str | None = None,
        total_amount: int | None = None,
        invoice_payload: str | None = None,
        telegram_payment_charge_id: str | None = None,
        deliver_update: bool = True,
    ) -> ChatMessage:
        """A ``successful_payment`` message from the user; returns it (the charge id is in it).

        ``deliver_update=False``: Telegram takes the Stars but the bot never gets the update (it still
        shows in ``getStarTransactions``), as when an update is lost."""
        body = {
            "deliver_update": deliver_update,
            "user": _user(user),
            "pre_checkout_query_id": pre_checkout_query_id,
            "invoice_message_id": invoice_message_id,
            "currency": currency,
            "total_amount": total_amount,
            "invoice_payload": invoice_payload,
            "telegram_payment_charge_id": telegram_payment_charge_id,
        }
        return await self._message("/updates/successful-payment", body)

    async def pay_invoice(self, user: UserLike, invoice_message_id: int, *, timeout: float = 5.0) -> ChatMessage:
        """The whole payment: pre-checkout query, wait for the bot's approval, successful payment."""
        query_id = await self.send_pre_checkout_query(user, invoice_message_id=invoice_message_id)
        answer = await self.wait_for_pre_checkout_answer(query_id, timeout=timeout)
        if not answer["ok"]:
            raise EmulatorError(409, f"the bot declined the payment: {answer['error_message']!r}")
        return await self.send_successful_payment(user, pre_checkout_query_id=query_id)

    async def payments(self) -> list[JsonDict]:
        """Successful payments with their refund state."""
        return await self._list("GET", "/payments")

    # -- what the bot did -------------------------------------------------------------------

    async def messages(
        self,
        chat_id: int,
        *,
        sender: str = "bot",
        include_deleted: bool = True,
        after: int | None = None,
    ) -> list[ChatMessage]:
        """Messages of a chat, oldest first: the bot's (``sender="bot"``), the user's or ``"all"``."""
        params = {"sender": sender, "include_deleted": include_deleted, "after": after}
        result = await self._object("GET", f"/chats/{chat_id}/messages", params=params)
        return [ChatMessage.model_validate(item) for item in result["messages"]]

    async def message(self, chat_id: int, message_id: int) -> ChatMessage:
        return ChatMessage.model_validate(await self._object("GET", f"/chats/{chat_id}/messages/{message_id}"))

    async def chat(self, chat_id: int) -> JsonDict:
        """Chat state: ``blocked``, the shown ``reply_keyboard``, ``menu_button``, chat ``actions``."""
        return await self._object("GET", f"/chats/{chat_id}")

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: MessagePredicate | None = None,
        *,
        timeout: float = 5.0,
        after: int | None = None,
        interval: float = 0.05,
    ) -> ChatMessage:
        """Poll until a (not deleted) bot message in the chat matches ``predicate``; oldest match first.

        ``after`` skips messages with ids up to it (pass the id of the user's message to wait for a
        reply to it). On timeout, :class:`TimeoutError` lists everything the chat holds.
        """
        deadline = time.monotonic() + timeout
        while True:
            for message in await self.messages(chat_id, include_deleted=False, after=after):
                if predicate is None or predicate(message):
                    return message
            if time.monotonic() >= deadline:
                everything = await self.messages(chat_id, sender="all")
                listing = "\n  ".join(message.summary() for message in everything) or "(nothing)"
                what = "a matching bot message" if predicate else "a bot message"
                since = f" after #{after}" if after is not None else ""
                raise TimeoutError(
                    f"no {what}{since} in chat {chat_id} within {timeout}s; the chat holds:\n  {listing}"
                )
            await asyncio.sleep(interval)

    async def wait_for_reply(
        self, sent: ChatMessage, predicate: MessagePredicate | None = None, *, timeout: float = 5.0
    ) -> ChatMessage:
        """Wait for a bot message that came after the user's message ``sent``."""
        return await self.wait_for_message(sent.chat_id, predicate, timeout=timeout, after=sent.message_id)

    async def callback_answer(self, callback_query_id: str) -> CallbackAnswer | None:
        """The bot's answer to a callback query, ``None`` while unanswered."""
        record = await self._object("GET", f"/callbacks/{callback_query_id}")
        if not record["answered"]:
            return None
        return CallbackAnswer.model_validate(record["answer"])

    async def wait_for_callback_answer(self, press: ButtonPress | str, *, timeout: float = 5.0) -> CallbackAnswer:
        query_id = press.callback_query_id if isinstance(press, ButtonPress) else press
        deadline = time.monotonic() + timeout
        while True:
            answer = await self.callback_answer(query_id)
            if answer is not None:
                return answer
            if time.monotonic() >= deadline:
                raise TimeoutError(f"the bot did not answer callback query {query_id} within {timeout}s")
            await asyncio.sleep(0.05)

    async def download_document(self, file_id: str) -> bytes:
        """The bytes of a file a bot (or user) sent: document, photo or video."""
        return (await self._send("GET", f"/files/{file_id}")).content

    download_file = download_document

    async def calls(
        self, method: str | None = None, *, since: int = 0, exclude: list[str] | None = None
    ) -> list[ApiCall]:
        """The Bot API calls of this client's bot, oldest first (``since`` is a ``seq`` to start after)."""
        params = {"method": method, "since": since, "exclude": ",".join(exclude) if exclude else None}
        return [ApiCall.model_validate(item) for item in await self._list("GET", "/calls", params=params)]
