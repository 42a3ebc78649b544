"""The emulator's in-memory world: bots, users, chats, messages, files, updates, calls.

All state lives in one :class:`Emulator`. Every change happens while holding :attr:`Emulator.lock`
(an :class:`asyncio.Condition`, so long polls can wait on it for new updates); the helpers here
that mutate state expect the caller to hold it. Objects handed to bots are plain dicts in the Bot
API's shapes and are never changed in place once published: an edit stores a new dict.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from academy_tg_emulator.config import BotSpec, EmulatorConfig, RateLimitConfig
from academy_tg_emulator.errors import ApiError, bot_blocked, chat_not_found, too_many_requests, unauthorized

JsonDict = dict[str, Any]

#: Update kinds Telegram delivers when a bot did not choose (``allowed_updates`` empty or unset).
DEFAULT_UPDATE_KINDS = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)


@dataclass
class UserRecord:
    """A Telegram user played by a test (or a person at the control API)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_premium: bool | None = None

    def to_api(self) -> JsonDict:
        user: JsonDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code", "is_premium"):
            value = getattr(self, key)
            if value is not None:
                user[key] = value
        return user

    def private_chat(self) -> JsonDict:
        chat: JsonDict = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name is not None:
            chat["last_name"] = self.last_name
        if self.username is not None:
            chat["username"] = self.username
        return chat


@dataclass
class FileRecord:
    """Bytes a bot or a user sent, with the identifiers Telegram would give them."""

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    file_name: str | None
    mime_type: str
    width: int = 0
    height: int = 0
    duration: int = 0

    @property
    def size(self) -> int:
        return len(self.data)

    def document(self) -> JsonDict:
        document: JsonDict = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "mime_type": self.mime_type,
            "file_size": self.size,
        }
        if self.file_name:
            document["file_name"] = self.file_name
        return document

    def photo_size(self) -> JsonDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
            "file_size": self.size,
        }

    def video(self) -> JsonDict:
        video: JsonDict = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
            "duration": self.duration,
            "mime_type": self.mime_type,
            "file_size": self.size,
        }
        if self.file_name:
            video["file_name"] = self.file_name
        return video

    def file(self) -> JsonDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "file_path": self.file_path,
        }


@dataclass
class StoredMessage:
    """One message of a chat, as the bot sees it (``data``) plus what the emulator knows about it."""

    message_id: int
    chat_id: int
    from_bot: bool
    data: JsonDict
    method: str | None = None
    #: The ``reply_markup`` as sent, of any kind (``data`` only carries inline keyboards, as Telegram).
    markup: JsonDict | None = None
    raw_text: str | None = None
    parse_mode: str | None = None
    deleted: bool = False
    versions: list[JsonDict] = field(default_factory=list)
    extra: JsonDict = field(default_factory=dict)
    sent_at: float = field(default_factory=time.time)

    def view(self) -> JsonDict:
        """The control API's view of the message: content fields first, the Bot API object in ``raw``."""
        data = self.data
        view: JsonDict = {
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "date": data.get("date"),
            "from_bot": self.from_bot,
            "sender_id": (data.get("from") or {}).get("id"),
            "text": data.get("text"),
            "caption": data.get("caption"),
            "entities": data.get("entities") or data.get("caption_entities") or [],
            "reply_markup": self.markup,
            "method": self.method,
            "parse_mode": self.parse_mode,
            "raw_text": self.raw_text,
            "deleted": self.deleted,
            "edited": "edit_date" in data,
            "edit_date": data.get("edit_date"),
            "versions": self.versions,
            "reply_to_message_id": (data.get("reply_to_message") or {}).get("message_id"),
            "raw": data,
        }
        for key in ("document", "photo", "video", "contact", "invoice", "successful_payment", "media_group_id"):
            view[key] = data.get(key)
        if self.extra:
            view["extra"] = self.extra
        return view


@dataclass
class ChatState:
    """A private chat between one bot and one user (chat id == user id)."""

    chat_id: int
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    blocked: bool = False
    reply_keyboard: JsonDict | None = None
    menu_button: JsonDict | None = None
    actions: list[JsonDict] = field(default_factory=list)


@dataclass
class CallbackRecord:
    id: str
    chat_id: int
    message_id: int
    user_id: int
    data: str | None
    created_at: float = field(default_factory=time.time)
    answered: bool = False
    answer: JsonDict | None = None
    answered_at: float | None = None

    def view(self) -> JsonDict:
        return {
            "callback_query_id": self.id,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "user_id": self.user_id,
            "data": self.data,
            "answered": self.answered,
            "answer": self.answer,
            "answered_at": self.answered_at,
        }


@dataclass
class PreCheckoutRecord:
    id: str
    user_id: int
    chat_id: int
    currency: str
    total_amount: int
    invoice_payload: str
    invoice_message_id: int | None = None
    answered: bool = False
    ok: bool | None = None
    error_message: str | None = None

    def view(self) -> JsonDict:
        return {
            "pre_checkout_query_id": self.id,
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "currency": self.currency,
            "total_amount": self.total_amount,
            "invoice_payload": self.invoice_payload,
            "invoice_message_id": self.invoice_message_id,
            "answered": self.answered,
            "ok": self.ok,
            "error_message": self.error_message,
        }


@dataclass
class PaymentRecord:
    telegram_payment_charge_id: str
    provider_payment_charge_id: str
    user_id: int
    chat_id: int
    currency: str
    total_amount: int
    invoice_payload: str
    message_id: int
    user: JsonDict = field(default_factory=dict)  # the payer as the Bot API shows a User
    date: float = field(default_factory=time.time)
    refunded: bool = False
    refunded_at: float | None = None

    def star_transactions(self) -> list[JsonDict]:
        """The payment (and its refund) as `getStarTransactions` lists them: the incoming transaction's
        id is the charge id, and a refund is an outgoing transaction with the same id."""
        partner = {
            "type": "user",
            "transaction_type": "invoice_payment",
            "user": self.user or {"id": self.user_id, "is_bot": False, "first_name": "User"},
            "invoice_payload": self.invoice_payload,
        }
        base = {"id": self.telegram_payment_charge_id, "amount": self.total_amount}
        items = [{**base, "date": int(self.date), "source": partner}]
        if self.refunded and self.refunded_at is not None:
            items.append({**base, "date": int(self.refunded_at), "receiver": partner})
        return items

    def view(self) -> JsonDict:
        return {
            "telegram_payment_charge_id": self.telegram_payment_charge_id,
            "provider_payment_charge_id": self.provider_payment_charge_id,
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "currency": self.currency,
            "total_amount": self.total_amount,
            "invoice_payload": self.invoice_payload,
            "message_id": self.message_id,
            "refunded": self.refunded,
            "refunded_at": self.refunded_at,
        }


@dataclass
class WebhookState:
    url: str
    secret_token: str | None
    max_connections: int = 40
    ip_address: str | None = None
    has_custom_certificate: bool = False
    last_error_date: int | None = None
    last_error_message: str | None = None
    delivered: int = 0


@dataclass
class FailRule:
    """A forced failure for the next ``remaining`` calls (of ``methods``, if given)."""

    remaining: int
    error_code: int
    description: str
    retry_after: int | None
    methods: frozenset[str] | None

    def matches(self, method: str) -> bool:
        if self.methods is None:
            return method != "getupdates"
        return method in self.methods

    def error(self) -> ApiError:
        parameters = {"retry_after": self.retry_after} if self.retry_after is not None else None
        return ApiError(self.error_code, self.description, parameters)


@dataclass
class BotState:
    spec: BotSpec
    chats: dict[int, ChatState] = field(default_factory=dict)
    pending: list[JsonDict] = field(default_factory=list)
    allowed_updates: list[str] | None = None
    webhook: WebhookState | None = None
    webhook_task: asyncio.Task[None] | None = None
    webhook_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    webhook_changed: asyncio.Event = field(default_factory=asyncio.Event)
    poll_generation: int = 0
    commands: dict[tuple[str, str], list[JsonDict]] = field(default_factory=dict)
    menu_button: JsonDict | None = None
    texts: dict[tuple[str, str], str] = field(default_factory=dict)
    callbacks: dict[str, CallbackRecord] = field(default_factory=dict)
    pre_checkouts: dict[str, PreCheckoutRecord] = field(default_factory=dict)
    payments: dict[str, PaymentRecord] = field(default_factory=dict)
    fail_rules: list[FailRule] = field(default_factory=list)
    send_log: deque[tuple[float, int]] = field(default_factory=deque)
    #: Every message delivered (monotonic time, chat id), whatever the limits: `send_statistics` reads it.
    deliveries: list[tuple[float, int]] = field(default_factory=list)
    #: Sends within the limits so far (`RateLimitConfig.inject_every` counts them).
    sends_admitted: int = 0
    #: Sends refused with 429 by the flood control: over a limit, and injected (`inject_every`).
    sends_refused: int = 0
    sends_injected: int = 0
    #: Every send that reached the flood control (monotonic time, chat id), refused or not: the sender's pace.
    send_attempts: list[tuple[float, int]] = field(default_factory=list)

    @property
    def token(self) -> str:
        return self.spec.token

    @property
    def id(self) -> int:
        return self.spec.bot_id

    def user(self) -> JsonDict:
        """The bot as ``message.from``."""
        return {"id": self.id, "is_bot": True, "first_name": self.spec.first_name, "username": self.spec.username}

    def get_me(self) -> JsonDict:
        return {
            **self.user(),
            "can_join_groups": self.spec.can_join_groups,
            "can_read_all_group_messages": self.spec.can_read_all_group_messages,
            "supports_inline_queries": self.spec.supports_inline_queries,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def accepts(self, kind: str) -> bool:
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind in DEFAULT_UPDATE_KINDS

    def clear_conversations(self) -> None:
        """Forget chats, queued updates, queries, payments and forced failures; keep the configuration."""
        self.chats.clear()
        self.pending.clear()
        self.callbacks.clear()
        self.pre_checkouts.clear()
        self.payments.clear()
        self.fail_rules.clear()
        self.send_log.clear()
        self.deliveries.clear()
        self.sends_admitted = 0
        self.sends_refused = 0
        self.sends_injected = 0
        self.send_attempts.clear()
        if self.webhook is not None:
            self.webhook.last_error_date = None
            self.webhook.last_error_message = None

    def webhook_info(self) -> JsonDict:
        info: JsonDict = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending),
        }
        webhook = self.webhook
        if webhook is None:
            return info
        info.update(url=webhook.url, has_custom_certificate=webhook.has_custom_certificate)
        info["max_connections"] = webhook.max_connections
        info["ip_address"] = webhook.ip_address or "127.0.0.1"
        if self.allowed_updates:
            info["allowed_updates"] = list(self.allowed_updates)
        if webhook.last_error_date is not None:
            info["last_error_date"] = webhook.last_error_date
            info["last_error_message"] = webhook.last_error_message
        return info


class Emulator:
    """The whole emulated Telegram: registry of bots, users, files, the call log and limits."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.lock = asyncio.Condition()
        self.bots: dict[str, BotState] = {}
        self.users: dict[int, UserRecord] = {}
        self.files: dict[str, FileRecord] = {}
        self.files_by_path: dict[str, FileRecord] = {}
        self.calls: deque[JsonDict] = deque(maxlen=self.config.call_log_limit)
        self.rate_limit = self.config.rate_limit.model_copy()
        self.closing = False
        self.loop: asyncio.AbstractEventLoop | None = None
        # Update ids only ever grow, even across resets: a polling bot that confirmed update N
        # would silently drop anything numbered below N+1.
        first = self.config.first_update_id or secrets.randbelow(2**30) + 1
        self._update_ids = itertools.count(first)
        self._call_ids = itertools.count(1)
        self._file_numbers = itertools.count(1)
        # Telegram's album ids are large numbers sent as strings.
        self._media_group_ids = itertools.count(13_000_000_000_000_000 + secrets.randbelow(10**15))
        self._next_user_id = 1_000_001
        for spec in self.config.bots:
            self.bots[spec.token] = BotState(spec)

    # -- registry -------------------------------------------------------------------------

    def bot(self, token: str) -> BotState:
        bot = self.bots.get(token)
        if bot is None:
            raise unauthorized()
        return bot

    def default_token(self) -> str:
        return self.config.default_bot.token

    def register_bot(self, spec: BotSpec) -> BotState:
        existing = self.bots.get(spec.token)
        if existing is not None:
            existing.spec = spec
            return existing
        bot = BotState(spec)
        self.bots[spec.token] = bot
        return bot

    def reset(self, *, full: bool = False) -> list[asyncio.Task[None]]:
        """Forget users, chats, messages, files, calls and limits; returns webhook tasks to cancel.

        Bots keep their configuration (webhook, ``allowed_updates``, commands, menu button), so a
        running bot process goes on working; ``full`` also drops that and bots registered at runtime.
        The update id counter is never reset.
        """
        tasks: list[asyncio.Task[None]] = []
        if full:
            tasks = [bot.webhook_task for bot in self.bots.values() if bot.webhook_task is not None]
            for bot in self.bots.values():
                bot.webhook = None
                bot.webhook_changed.set()
                bot.webhook_wakeup.set()
            self.bots = {spec.token: BotState(spec) for spec in self.config.bots}
        else:
            for bot in self.bots.values():
                bot.clear_conversations()
        self.users.clear()
        self.files.clear()
        self.files_by_path.clear()
        self.calls.clear()
        self.rate_limit = self.config.rate_limit.model_copy()
        self.lock.notify_all()
        return tasks

    def upsert_user(
        self,
        user_id: int | None,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        is_premium: bool | None = None,
    ) -> UserRecord:
        if user_id is None:
            while self._next_user_id in self.users:
                self._next_user_id += 1
            user_id = self._next_user_id
            self._next_user_id += 1
        user = self.users.get(user_id)
        if user is None:
            user = UserRecord(id=user_id, first_name=first_name or f"User{user_id}")
            self.users[user_id] = user
        elif first_name is not None:
            user.first_name = first_name
        for key, value in (
            ("last_name", last_name),
            ("username", username),
            ("language_code", language_code),
            ("is_premium", is_premium),
        ):
            if value is not None:
                setattr(user, key, value)
        return user

    # -- chats and messages ---------------------------------------------------------------

    def open_chat(self, bot: BotState, user: UserRecord) -> ChatState:
        """The user's private chat with ``bot``, created when the user first writes."""
        chat = bot.chats.get(user.id)
        if chat is None:
            chat = ChatState(chat_id=user.id)
            bot.chats[user.id] = chat
        return chat

    def chat_for_bot(self, bot: BotState, chat_id: int, *, sending: bool = True) -> ChatState:
        """The chat a bot addresses: ``chat not found`` unless the user wrote first; 403 if blocked."""
        chat = bot.chats.get(chat_id)
        if chat is None:
            raise chat_not_found()
        if sending and chat.blocked:
            raise bot_blocked()
        return chat

    def chat_object(self, chat_id: int) -> JsonDict:
        user = self.users.get(chat_id)
        if user is None:
            return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
        return user.private_chat()

    def add_message(
        self,
        chat: ChatState,
        *,
        sender: JsonDict,
        content: JsonDict,
        from_bot: bool,
        method: str | None = None,
        markup: JsonDict | None = None,
        raw_text: str | None = None,
        parse_mode: str | None = None,
        extra: JsonDict | None = None,
    ) -> StoredMessage:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        data: JsonDict = {
            "message_id": message_id,
            "from": sender,
            "chat": self.chat_object(chat.chat_id),
            "date": int(time.time()),
            **content,
        }
        if markup is not None and "inline_keyboard" in markup:
            data["reply_markup"] = markup
        stored = StoredMessage(
            message_id=message_id,
            chat_id=chat.chat_id,
            from_bot=from_bot,
            data=data,
            method=method,
            markup=markup,
            raw_text=raw_text,
            parse_mode=parse_mode,
            extra=extra or {},
        )
        chat.messages[message_id] = stored
        if from_bot and markup is not None:
            if "keyboard" in markup:
                chat.reply_keyboard = markup
            elif markup.get("remove_keyboard"):
                chat.reply_keyboard = None
        return stored

    # -- updates --------------------------------------------------------------------------

    def push_update(self, bot: BotState, kind: str, payload: JsonDict) -> JsonDict | None:
        """Queue an update for ``bot`` unless its ``allowed_updates`` exclude the kind."""
        if not bot.accepts(kind):
            return None
        update = {"update_id": next(self._update_ids), kind: payload}
        bot.pending.append(update)
        bot.webhook_wakeup.set()
        self.lock.notify_all()
        return update

    # -- files ----------------------------------------------------------------------------

    def next_media_group_id(self) -> int:
        """A new album's `media_group_id` (shared by the album's messages)."""
        return next(self._media_group_ids)

    def store_file(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None,
        mime_type: str,
        extension: str,
        width: int = 0,
        height: int = 0,
        duration: int = 0,
    ) -> FileRecord:
        number = next(self._file_numbers)
        prefix = {"photo": "AgAC", "video": "BAAC", "document": "BQAC"}.get(kind, "CQAC")
        folder = {"photo": "photos", "video": "videos", "document": "documents"}.get(kind, "files")
        record = FileRecord(
            file_id=f"{prefix}{secrets.token_urlsafe(30)}",
            file_unique_id=f"AQAD{secrets.token_urlsafe(9)}",
            kind=kind,
            data=data,
            file_path=f"{folder}/file_{number}.{extension}",
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
            duration=duration,
        )
        self.files[record.file_id] = record
        self.files_by_path[record.file_path] = record
        return record

    # -- limits and the call log ----------------------------------------------------------

    def check_forced_failure(self, bot: BotState, method: str) -> None:
        for rule in bot.fail_rules:
            if rule.remaining > 0 and rule.matches(method):
                rule.remaining -= 1
                error = rule.error()
                bot.fail_rules = [other for other in bot.fail_rules if other.remaining > 0]
                raise error

    def check_rate_limit(self, bot: BotState, chat_id: int) -> None:
        limits: RateLimitConfig = self.rate_limit
        now = time.monotonic()
        bot.send_attempts.append((now, chat_id))
        if not limits.enabled:
            return
        while bot.send_log and now - bot.send_log[0][0] >= 1.0:
            bot.send_log.popleft()
        in_chat = [sent for sent, chat in bot.send_log if chat == chat_id]
        oldest: float | None = None
        if len(in_chat) >= limits.per_chat_per_second:
            oldest = in_chat[0]
        elif len(bot.send_log) >= limits.global_per_second:
            oldest = bot.send_log[0][0]
        if oldest is None:
            bot.sends_admitted += 1
            if limits.inject_every is not None and bot.sends_admitted % limits.inject_every == 0:
                bot.sends_injected += 1
                raise too_many_requests(limits.injected_retry_after)
            return
        bot.sends_refused += 1
        retry_after = limits.retry_after or max(1, math.ceil(1.0 - (now - oldest)))
        raise too_many_requests(retry_after)

    def record_send(self, bot: BotState, chat_id: int) -> None:
        now = time.monotonic()
        bot.deliveries.append((now, chat_id))
        if self.rate_limit.enabled:
            bot.send_log.append((now, chat_id))

    def send_statistics(self, bot: BotState, *, window_s: float = 1.0) -> JsonDict:
        """What the bot delivered (messages stored in chats, each counted once): how many, to how many chats,
        how many chats got more than one, the most in one chat, the most in any `window_s` seconds
        (sliding, overall and in one chat), how many sends the flood control refused with 429 (over a limit:
        `refused_429`; injected: `injected_429`), and the same peaks of every send that reached it, refused or
        not (`peak_global_attempts`, `peak_per_chat_attempts`: the sender's own pace) — what a broadcast's
        test reads to check Telegram's limits."""
        times = [sent for sent, _ in bot.deliveries]
        counts: dict[int, int] = {}
        for _, chat_id in bot.deliveries:
            counts[chat_id] = counts.get(chat_id, 0) + 1
        return {
            "messages": len(times),
            "chats": len(counts),
            "chats_with_more_than_one": sum(1 for count in counts.values() if count > 1),
            "max_per_chat": max(counts.values(), default=0),
            "window_s": window_s,
            "peak_global": _peak(times, window_s),
            "peak_per_chat": _peak_per_chat(bot.deliveries, window_s),
            "refused_429": bot.sends_refused,
            "injected_429": bot.sends_injected,
            "attempts": len(bot.send_attempts),
            "peak_global_attempts": _peak([sent for sent, _ in bot.send_attempts], window_s),
            "peak_per_chat_attempts": _peak_per_chat(bot.send_attempts, window_s),
            "first_at": times[0] if times else None,
            "last_at": times[-1] if times else None,
        }

    def log_call(self, entry: JsonDict) -> JsonDict:
        entry["seq"] = next(self._call_ids)
        self.calls.append(entry)
        return entry

    def new_id(self) -> str:
        """A query id shaped like Telegram's: a long decimal number as a string."""
        return str(secrets.randbits(62))


def _peak(times: list[float], window_s: float) -> int:
    """The most of the ascending `times` within any half-open window of `window_s` seconds."""
    best = start = 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window_s:
            start += 1
        best = max(best, end - start + 1)
    return best


def _peak_per_chat(events: list[tuple[float, int]], window_s: float) -> int:
    """The most of `events` (ascending time, chat id) of one chat within any `window_s` seconds."""
    per_chat: dict[int, list[float]] = {}
    for moment, chat_id in events:
        per_chat.setdefault(chat_id, []).append(moment)
    return max((_peak(times, window_s) for times in per_chat.values()), default=0)
