"""`python -m bench.echo_bot --api URL --token TOKEN`: the bot suite's baseline, a bare aiogram bot.

Long polling (as the gateway's worker does under `make run`), a plain `Dispatcher` with no middleware,
storage, database or other service: a text message is answered with a message carrying one inline
button (`echo:1`), and a press of `echo:N` edits that message to carry `echo:N+1`, then answers the
press. So a learner of the baseline sends the same kinds of updates at the same rate as a learner of
the gateway (a message, then button presses that edit the screen), and each is answered the cheapest
way aiogram can. Runs until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message


def keyboard(step: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=f"Дальше {step}", callback_data=f"echo:{step}")]]
    )


async def on_message(message: Message) -> None:
    await message.answer(f"echo: {message.text or '?'}", reply_markup=keyboard(1))


async def on_press(callback: CallbackQuery) -> None:
    step = int(str(callback.data).split(":", 1)[1])
    if isinstance(callback.message, Message):
        await callback.message.edit_text(f"echo step {step}", reply_markup=keyboard(step + 1))
    await callback.answer()


async def serve(api: str, token: str) -> None:
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.rstrip("/"))))
    dp = Dispatcher()
    dp.message.register(on_message)
    dp.callback_query.register(on_press, F.data.startswith("echo:"))
    await bot.delete_webhook(drop_pending_updates=True)
    await dp.start_polling(bot, allowed_updates=dp.resolve_used_update_types())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.echo_bot", description=__doc__)
    parser.add_argument("--api", required=True, help="the Bot API server's base URL (the emulator)")
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(args.api, args.token))


if __name__ == "__main__":
    main()
