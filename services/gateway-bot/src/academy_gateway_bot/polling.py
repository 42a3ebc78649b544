"""The worker's Telegram job: long polling in development, webhook registration in production."""

from __future__ import annotations

import asyncio
import logging

from academy_runtime.resources import Resources

from academy_gateway_bot.runtime import bot_runtime
from academy_gateway_bot.settings import GatewaySettings
from academy_gateway_bot.telegram_responses import warm_telegram_models

log = logging.getLogger(__name__)

BOT_COMMANDS = {
    "ru": [
        ("start", "Начать"),
        ("menu", "Главное меню"),
        ("catalog", "Каталог курсов"),
        ("mycourses", "Мои курсы и прогресс"),
        ("achievements", "Баллы и достижения"),
        ("leaderboard", "Рейтинг"),
        ("communities", "Сообщества мастеров"),
        ("transcript", "Справка об обучении (PDF)"),
        ("balance", "Баланс и пополнение"),
        ("profile", "Профиль и баллы"),
        ("mydata", "Мои данные"),
        ("language", "Язык / Language"),
        ("cancel", "Отменить текущий шаг"),
        ("help", "Помощь"),
    ],
    "en": [
        ("start", "Start"),
        ("menu", "Main menu"),
        ("catalog", "Course catalog"),
        ("mycourses", "My courses and progress"),
        ("achievements", "Points and achievements"),
        ("leaderboard", "Leaderboard"),
        ("communities", "Communities"),
        ("transcript", "Learning transcript (PDF)"),
        ("balance", "Balance and top-ups"),
        ("profile", "Profile and points"),
        ("mydata", "My data"),
        ("language", "Language / Язык"),
        ("cancel", "Cancel the current step"),
        ("help", "Help"),
    ],
}


async def receive_telegram_updates(resources: Resources) -> None:
    from aiogram.types import BotCommand

    settings = resources.settings_as(GatewaySettings)
    runtime = bot_runtime(resources)
    bot = runtime.bot
    # The worker's warm-up (the API's is `warm_up_telegram_models`, in webhook mode only): before the first
    # `getUpdates` in long polling; in webhook mode the worker still sends notifications and broadcasts.
    warm_telegram_models()
    while True:
        try:
            for locale, commands in BOT_COMMANDS.items():
                await bot.set_my_commands(
                    [BotCommand(command=c, description=d) for c, d in commands],
                    language_code=None if locale == "ru" else locale,
                )
            if settings.bot_mode == "webhook":
                await bot.set_webhook(
                    settings.telegram_webhook_url,
                    secret_token=settings.telegram_webhook_secret.get_secret_value(),
                    allowed_updates=runtime.dispatcher.resolve_used_update_types(),
                )
                log.info("telegram webhook registered", extra={"url": settings.telegram_webhook_url})
                await asyncio.Event().wait()  # the API process receives the updates
            await bot.delete_webhook(drop_pending_updates=False)
            log.info("long polling for telegram updates")
            await runtime.dispatcher.start_polling(
                bot,
                handle_signals=False,
                close_bot_session=False,
                allowed_updates=runtime.dispatcher.resolve_used_update_types(),
            )
        except Exception as exc:
            log.warning("telegram unreachable; retrying", extra={"error": repr(exc)})
            await asyncio.sleep(5)
        else:
            return
