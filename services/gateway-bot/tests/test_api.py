"""Schemathesis over the service's OpenAPI: every check, with a valid token and without one.

The webhook takes Telegram's secret token: the positive cases send the run's secret, so updates reach the
bot's dispatcher (the real bot runtime, talking to the Bot API emulator and the in-process services)."""

import pytest
from academy_gateway_bot.bot import BotRuntime
from academy_gateway_bot.webhook.endpoints import SECRET_HEADER
from academy_runtime.api_tests import (
    ExpectedRefusal,
    api_test_tokens,
    test_api_conforms_to_openapi,
    test_api_refuses_unauthenticated,
)
from academy_runtime.resources import Resources
from academy_tg_emulator.client import EmulatorClient, TestUser

__all__ = ["api_test_tokens", "test_api_conforms_to_openapi", "test_api_refuses_unauthenticated"]


@pytest.fixture(autouse=True)
async def _bot(bot_runtime: BotRuntime, tg: EmulatorClient) -> BotRuntime:
    """The webhook feeds updates to the bot runtime the app's lifespan would open; the Telegram user of
    the OpenAPI example (880001, Анна) has written to the bot in the Bot API emulator, so it can answer."""
    user = await tg.create_user(TestUser(id=880001, first_name="Анна"))
    await tg.send_command(user, "start")  # the emulator lets a bot write only to a user who wrote first
    # That /start is the emulator's to deliver, not this test's: confirmed, so no polling test meets it.
    pending = await bot_runtime.bot.get_updates(offset=-1, timeout=0)
    if pending:
        await bot_runtime.bot.get_updates(offset=pending[-1].update_id + 1, timeout=0)
    return bot_runtime


@pytest.fixture
def api_test_credentials(resources: Resources) -> dict[str, str]:
    return {SECRET_HEADER: resources.settings.telegram_webhook_secret.get_secret_value()}


@pytest.fixture(scope="session")
def api_test_refusals() -> list[ExpectedRefusal]:
    return [
        ExpectedRefusal(
            "POST /internal/broadcasts",
            (422,),
            "the text is Telegram HTML (its tags, nesting and entities) with 1..4096 characters of text once parsed "
            "(1024 under a photo), a photo an http(s) URL or a file_id: rules of the text no schema expresses",
        ),
        ExpectedRefusal(
            "POST /internal/broadcasts/{broadcast_id}/preview",
            (422,),
            "a chat Telegram does not deliver to (preview_undeliverable), or no chat given and none configured",
        ),
        ExpectedRefusal(
            "POST /telegram/webhook",
            (422,),
            "an update aiogram's model of the Bot API cannot read (the schema documents an update's frame, "
            "not every Telegram type): 422",
        ),
    ]
