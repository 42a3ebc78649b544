"""A local emulator of the Telegram Bot API, for end-to-end tests and token-less runs.

Bots talk to it exactly as to api.telegram.org (``/bot{token}/{method}``, ``/file/bot{token}/{path}``);
tests play the users and inspect the bots through the ``/_emulator`` control API, usually via
:class:`~academy_tg_emulator.client.EmulatorClient`.
"""

from academy_tg_emulator.app import create_app
from academy_tg_emulator.client import (
    ApiCall,
    ButtonPress,
    CallbackAnswer,
    ChatMessage,
    EmulatorClient,
    EmulatorError,
    TestUser,
)
from academy_tg_emulator.config import DEFAULT_BOT_TOKEN, DEFAULT_BOT_USERNAME, BotSpec, EmulatorConfig, RateLimitConfig
from academy_tg_emulator.server import EmulatorServer, run_in_background
from academy_tg_emulator.state import Emulator

__all__ = [
    "DEFAULT_BOT_TOKEN",
    "DEFAULT_BOT_USERNAME",
    "ApiCall",
    "BotSpec",
    "ButtonPress",
    "CallbackAnswer",
    "ChatMessage",
    "Emulator",
    "EmulatorClient",
    "EmulatorConfig",
    "EmulatorError",
    "EmulatorServer",
    "RateLimitConfig",
    "TestUser",
    "create_app",
    "run_in_background",
]
