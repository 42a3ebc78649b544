"""Buttons that send something new (an invoice, a PDF, an enrolment's message): a second press of the same
button within a few seconds is the same wish, not another one.

Telegram delivers every press, and a learner who sees nothing happen at once presses again (or a client
sends a double tap). Screens that are edited in place take a second press in their stride (the same screen
again), but a button that sends a message sent it twice. The first press is remembered in Redis (so every
gateway process agrees) for `PRESS_WINDOW_S`; a press within it is answered without sending anything.
If what the first press does fails, the press is forgotten, so that the learner's next press tries again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from academy_runtime.resources import Resources

from academy_gateway_bot import redis_keys

PRESS_WINDOW_S = 10
"""Seconds a press of a button that sends something new stands for the presses after it."""


@asynccontextmanager
async def first_press(resources: Resources, telegram_id: int, what: str) -> AsyncIterator[bool]:
    """Whether this is the first press of the button `what` (`stars-invoice:<course>`, `transcript`) by the
    Telegram user within the window, for the body to act on. A body that raises forgets the press."""
    key = redis_keys.press(resources.settings.redis_prefix, telegram_id, what)
    first = bool(await resources.redis.set(key, "1", nx=True, ex=PRESS_WINDOW_S))
    try:
        yield first
    except BaseException:
        if first:
            await resources.redis.delete(key)
        raise
