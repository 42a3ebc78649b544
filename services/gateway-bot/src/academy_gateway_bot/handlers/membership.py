"""Whether a learner can hear from the bot: Telegram's `my_chat_member` updates of a private chat.

A learner who blocks the bot turns its membership to `kicked`; unblocking (and pressing Start) turns
it back to `member`. The notification sender also marks a learner blocked on the first 403, so the
`member` update is what lets notifications flow again; `/start` clears the mark too, for a client that
did not report the change (Bot API: ChatMemberUpdated, https://core.telegram.org/bots/api#chatmemberupdated).
"""

from __future__ import annotations

from academy_runtime.resources import Resources
from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated

from academy_gateway_bot.learners import mark_reachable


async def bot_blocked(event: ChatMemberUpdated, resources: Resources) -> None:
    await mark_reachable(resources, event.from_user.id, reachable=False)


async def bot_unblocked(event: ChatMemberUpdated, resources: Resources) -> None:
    await mark_reachable(resources, event.from_user.id, reachable=True)


def make_router() -> Router:
    """A fresh router each time: an aiogram router can belong to one dispatcher only."""
    router = Router(name="membership")
    private = F.chat.type == ChatType.PRIVATE
    router.my_chat_member.register(bot_blocked, private, ChatMemberUpdatedFilter(member_status_changed=KICKED))
    router.my_chat_member.register(bot_unblocked, private, ChatMemberUpdatedFilter(member_status_changed=MEMBER))
    return router
