"""Every Redis key the gateway writes, named in one place, so that erasing a learner can find all of theirs.

All keys start with `REDIS_PREFIX` (`academy:` by default; a test run has its own). Per learner (`T` their
Telegram id, which is their private chat's id; `U` their users id):

- `fsm:T:T:state`, `fsm:T:T:data`: aiogram's conversation state and its answers (a name, a phone before
  registration; a photo awaiting confirmation), for `CONVERSATION_TTL_S`;
- `fsm:T:T:lock`: aiogram's events isolation, one update of the chat at a time (a random token), while an
  update is handled;
- `tg:learner:T`: the cached learner context (user id, locale, display name, city), 60 s;
- `tg:throttle:T`: the updates counted this minute, 60 s;
- `tg:press:T:<what>`: a button that sends something new was pressed (one invoice per press), 10 s;
- `tg:rate:chat:T`: the chat's sliding one-second send window (Telegram's 1 message/s per chat), 2 s;
- `tg:avatar:U:<avatar id>:<size>`: Telegram's `file_id` of an avatar image the bot sent once (sent again
  by id rather than uploaded), `AVATAR_FILE_TTL_S`.

Keys of no learner: `tg:update:<bot id>:<digest>` (an update handled: a digest of its identity, so no chat
id is readable from it), `tg:rate:global`, `ratelimit…` (the webhook's per-address limit).

`learner_key_patterns` lists the learner's keys as SCAN patterns; `academy_gateway_bot.erasure` deletes them.
"""

from __future__ import annotations

import re

FSM = "fsm"
"""aiogram's `DefaultKeyBuilder` prefix (after REDIS_PREFIX): `fsm:<chat>:<user>:<state|data|lock>`."""
FSM_LOCK_PART = "lock"
AVATAR_FILE_TTL_S = 30 * 24 * 3600
"""How long Telegram's `file_id` of an avatar image is remembered (a file id stays valid for the bot)."""


def fsm_prefix(prefix: str) -> str:
    """The `DefaultKeyBuilder` prefix of the conversation storage."""
    return f"{prefix}{FSM}"


def learner_context(prefix: str, telegram_id: int) -> str:
    """The cached `LearnerCtx` of a Telegram user."""
    return f"{prefix}tg:learner:{telegram_id}"


def throttle(prefix: str, telegram_id: int) -> str:
    """The counter of a Telegram user's updates in the current minute."""
    return f"{prefix}tg:throttle:{telegram_id}"


def press(prefix: str, telegram_id: int, what: str) -> str:
    """A press of a button that sends something new (`what`: `stars-invoice:<course>`), within its window."""
    return f"{prefix}tg:press:{telegram_id}:{what}"


def chat_send_window(prefix: str, chat_id: int) -> str:
    """The sorted set of a chat's send times in the last second (`NotificationSender`)."""
    return f"{prefix}tg:rate:chat:{chat_id}"


def global_send_window(prefix: str) -> str:
    """The sorted set of every send time in the last second."""
    return f"{prefix}tg:rate:global"


def update_handled(prefix: str, bot_id: int, digest: str) -> str:
    """An update claimed or handled (`UpdateDeduplication`); `digest` names the update, not the chat."""
    return f"{prefix}tg:update:{bot_id}:{digest}"


def avatar_file(prefix: str, user_id: int, avatar_id: int, size: str) -> str:
    """Telegram's `file_id` of an avatar image (`size`: large, small) the bot sent before."""
    return f"{prefix}tg:avatar:{user_id}:{avatar_id}:{size}"


_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def _literal(text: str) -> str:
    """`text` as a SCAN pattern matching only itself."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)


def learner_key_patterns(prefix: str, *, user_id: int, telegram_id: int | None) -> list[str]:
    """SCAN patterns of every key of one learner (the table above). Keys by Telegram id only when it is
    known: after the learner's row is gone (a new account of the same person took the chat), the chat's
    keys are the new account's."""
    p = _literal(prefix)
    patterns = [f"{p}tg:avatar:{user_id}:*"]
    if telegram_id is not None:
        t = str(telegram_id)
        patterns += [
            f"{p}{FSM}:{t}:*",
            f"{p}tg:learner:{t}",
            f"{p}tg:throttle:{t}",
            f"{p}tg:press:{t}:*",
            f"{p}tg:rate:chat:{t}",
        ]
    return patterns


def is_fsm_lock(key: str) -> bool:
    """aiogram's events-isolation lock: held by the update being handled, released (deleted) by aiogram
    when it ends. Deleting it under the update would make the release fail."""
    return key.endswith(f":{FSM_LOCK_PART}")
