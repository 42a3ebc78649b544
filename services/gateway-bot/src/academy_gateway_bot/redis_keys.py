"""Every Redis key the gateway writes, named in one place, so that erasing a learner can find all of theirs.

All keys start with `REDIS_PREFIX` (`academy:` by default; a test run has its own). Per learner (`T` their
Telegram id, which is their private chat's id; `U` their users id):

- `fsm:{T}:T:state`, `fsm:{T}:T:data`: aiogram's conversation state and its answers (a name, a phone before
  registration; a photo awaiting confirmation), for `CONVERSATION_TTL_S` (`TaggedKeyBuilder`);
- `fsm:{T}:T:lock`: aiogram's events isolation, one update of the chat at a time (a random token), while an
  update is handled;
- `tg:learner:{T}`: the cached learner context (user id, locale, display name, city), 60 s;
- `tg:throttle:{T}`: the updates counted this minute, 60 s;
- `tg:press:{T}:<what>`: a button that sends something new was pressed (one invoice per press), 10 s;
- `tg:rate:{send}:chat:T`: the chat's sliding one-second send window (Telegram's 1 message/s per chat), 2 s;
- `tg:notify:{T}`: the gateway process sending the chat's queued notifications (its random token), 30 s
  from when it last took it (`notifications.delivery`);
- `tg:avatar:{U}:<avatar id>:<size>`: Telegram's `file_id` of an avatar image the bot sent once (sent again
  by id rather than uploaded), `AVATAR_FILE_TTL_S`.

Keys of no learner: `tg:update:<bot id>:<digest>` (an update handled: a digest of its identity, so no chat
id is readable from it), `tg:rate:{send}:global`, `ratelimit…` (the webhook's per-address limit).

Redis Cluster (`REDIS_CLUSTER=true`): the part in braces is the key's hash tag, the only part a cluster
hashes to choose the slot, so every key with the same tag is on one slot and one operation may touch them
together. A learner's chat keys share `{T}` (their conversation's state, data and lock, the cached context,
the counters: the erasure deletes them together), their avatar file ids `{U}` (several deleted in one DEL);
the send windows share `{send}`, because one script checks and reserves the global window and the chat's
at once (the global window is one key anyway, and a chat's lives two seconds, so the slot stays small).
The update claims have no tag: each is used alone, and they spread over the cluster.

Until the tags (issue 11) the keys had none (`fsm:T:T:state`, `tg:learner:T`, `tg:rate:global`, ...). All
of them expire (the conversation after `CONVERSATION_TTL_S`, avatar file ids after 30 days): a rollout makes
the gateway forget what the old names held once (a learner mid-conversation starts it again, a cached
context or file id is read again), and the old keys expire on their own; an erasure meanwhile deletes them
too (`learner_key_patterns` names both forms until 30 days after the rollout).

`learner_key_patterns` lists the learner's keys as SCAN patterns; `academy_gateway_bot.erasure` deletes them.
"""

from __future__ import annotations

import re
from typing import Literal

from aiogram.fsm.storage.base import DEFAULT_DESTINY, KeyBuilder, StorageKey

FSM = "fsm"
"""The conversation storage's prefix (after REDIS_PREFIX): `fsm:{<chat>}:<user>:<state|data|lock>`."""
FSM_LOCK_PART = "lock"
SEND_WINDOWS_TAG = "{send}"
"""The hash tag of every send window: one script reserves the global window and a chat's together."""
AVATAR_FILE_TTL_S = 30 * 24 * 3600
"""How long Telegram's `file_id` of an avatar image is remembered (a file id stays valid for the bot)."""


def tag(value: object) -> str:
    """`value` as a key's hash tag, `{value}`: keys with the same tag share a Redis Cluster slot."""
    return f"{{{value}}}"


def fsm_prefix(prefix: str) -> str:
    """The `TaggedKeyBuilder` prefix of the conversation storage."""
    return f"{prefix}{FSM}"


def fsm(prefix: str, chat_id: int, user_id: int, part: Literal["data", "state", "lock"]) -> str:
    """A key of the conversation storage, as `TaggedKeyBuilder` names it."""
    return TaggedKeyBuilder(prefix=fsm_prefix(prefix)).build(
        StorageKey(bot_id=0, chat_id=chat_id, user_id=user_id), part
    )


class TaggedKeyBuilder(KeyBuilder):
    """aiogram's storage keys with the chat as their hash tag: `<prefix>:{<chat>}:<user>:<part>` (a forum
    thread, never used by the bot, between the chat and the user), so a chat's state, data and isolation lock
    share a Redis Cluster slot with each other and with the learner's other `{T}` keys. Like aiogram's
    `DefaultKeyBuilder` without the bot id, the business connection or a destiny other than the default."""

    def __init__(self, *, prefix: str) -> None:
        self.prefix = prefix

    def build(self, key: StorageKey, part: Literal["data", "state", "lock"] | None = None) -> str:
        if key.destiny != DEFAULT_DESTINY:
            raise ValueError(f"TaggedKeyBuilder keeps no destiny other than the default, got {key.destiny!r}")
        parts = [self.prefix, tag(key.chat_id)]
        if key.thread_id:
            parts.append(str(key.thread_id))
        parts.append(str(key.user_id))
        if part:
            parts.append(part)
        return ":".join(parts)


def learner_context(prefix: str, telegram_id: int) -> str:
    """The cached `LearnerCtx` of a Telegram user."""
    return f"{prefix}tg:learner:{tag(telegram_id)}"


def throttle(prefix: str, telegram_id: int) -> str:
    """The counter of a Telegram user's updates in the current minute."""
    return f"{prefix}tg:throttle:{tag(telegram_id)}"


def press(prefix: str, telegram_id: int, what: str) -> str:
    """A press of a button that sends something new (`what`: `stars-invoice:<course>`), within its window."""
    return f"{prefix}tg:press:{tag(telegram_id)}:{what}"


def chat_send_window(prefix: str, chat_id: int) -> str:
    """The sorted set of a chat's send times in the last second (`NotificationSender`); on the global
    window's slot, which the same script reads."""
    return f"{prefix}tg:rate:{SEND_WINDOWS_TAG}:chat:{chat_id}"


def global_send_window(prefix: str) -> str:
    """The sorted set of every send time in the last second."""
    return f"{prefix}tg:rate:{SEND_WINDOWS_TAG}:global"


def notification_sender(prefix: str, telegram_id: int) -> str:
    """The gateway process sending a chat's queued notifications (`NotificationDelivery`): one at a time, so
    that no other process takes the chat's send seconds for messages it will not send."""
    return f"{prefix}tg:notify:{tag(telegram_id)}"


def update_handled(prefix: str, bot_id: int, digest: str) -> str:
    """An update claimed or handled (`UpdateDeduplication`); `digest` names the update, not the chat."""
    return f"{prefix}tg:update:{bot_id}:{digest}"


def avatar_file(prefix: str, user_id: int, avatar_id: int, size: str) -> str:
    """Telegram's `file_id` of an avatar image (`size`: large, small) the bot sent before."""
    return f"{prefix}tg:avatar:{tag(user_id)}:{avatar_id}:{size}"


_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def _literal(text: str) -> str:
    """`text` as a SCAN pattern matching only itself."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)


def learner_key_patterns(prefix: str, *, user_id: int, telegram_id: int | None) -> list[str]:
    """SCAN patterns of every key of one learner (the table above). Keys by Telegram id only when it is
    known: after the learner's row is gone (a new account of the same person took the chat), the chat's
    keys are the new account's.

    The keys as named before the hash tags (issue 11) are matched too: a gateway of the previous release
    may still write them during the rollout, and the erasure deletes them as well. Drop the second set
    30 days (`AVATAR_FILE_TTL_S`, the longest TTL of them) after every gateway runs with the tags."""
    p = _literal(prefix)
    tagged = _key_patterns(
        p,
        user=tag(user_id),
        chat=None if telegram_id is None else tag(telegram_id),
        send_window=None if telegram_id is None else _literal(chat_send_window(prefix, telegram_id)),
    )
    untagged = _key_patterns(
        p,
        user=str(user_id),
        chat=None if telegram_id is None else str(telegram_id),
        send_window=None if telegram_id is None else f"{p}tg:rate:chat:{telegram_id}",
    )
    return tagged + untagged


def _key_patterns(p: str, *, user: str, chat: str | None, send_window: str | None) -> list[str]:
    """The patterns of one learner's keys, their ids written as `user` and `chat` (tagged or not)."""
    patterns = [f"{p}tg:avatar:{user}:*"]
    if chat is not None and send_window is not None:
        patterns += [
            f"{p}{FSM}:{chat}:*",
            f"{p}tg:learner:{chat}",
            f"{p}tg:throttle:{chat}",
            f"{p}tg:press:{chat}:*",
            f"{p}tg:notify:{chat}",
            send_window,
        ]
    return patterns


def is_fsm_lock(key: str) -> bool:
    """aiogram's events-isolation lock: held by the update being handled, released (deleted) by aiogram
    when it ends. Deleting it under the update would make the release fail."""
    return key.endswith(f":{FSM_LOCK_PART}")
