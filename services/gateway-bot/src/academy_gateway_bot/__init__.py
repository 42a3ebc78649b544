"""Beauty Academy's Telegram gateway.

aiogram is imported here first, with its Bot API models' schemas built on first use
(:mod:`academy_gateway_bot.telegram_schemas`: about 100 MB less per process).
"""

from academy_gateway_bot.telegram_schemas import defer_aiogram_schemas

defer_aiogram_schemas()
