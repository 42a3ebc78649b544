"""aiogram's `Response[T]` models survive garbage collection once the bot has used them
(academy_gateway_bot.telegram_responses)."""

from __future__ import annotations

import gc
import inspect
import subprocess
import sys

import pytest
from academy_gateway_bot.app import service
from academy_gateway_bot.bot import BotRuntime
from academy_gateway_bot.polling import receive_telegram_updates
from academy_gateway_bot.telegram_responses import _PINNED, pin_response_type, warm_up_telegram_models
from aiogram.methods import EditMessageText, GetMe, GetUpdates, SendMessage
from aiogram.methods.base import Response
from pydantic._internal import _generics


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the parametrised pydantic models built from now on."""
    built: list[str] = []
    create = _generics.create_generic_submodel

    def counting(model_name: str, *args: object) -> type:
        built.append(model_name)
        return create(model_name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(_generics, "create_generic_submodel", counting)
    return built


def test_pinned_response_models_are_not_rebuilt_after_a_garbage_collection(builds: list[str]) -> None:
    for method in (SendMessage, EditMessageText, GetUpdates):
        pin_response_type(method)
    builds.clear()
    gc.collect()
    for method in (SendMessage, EditMessageText, GetUpdates):
        assert Response[method.__returning__] is Response[method.__returning__]  # type: ignore[name-defined]
        gc.collect()
        Response[method.__returning__]  # type: ignore[name-defined]
    assert builds == []


@pytest.mark.integration
async def test_the_bot_pins_the_model_of_each_method_it_calls(bot_runtime: BotRuntime, builds: list[str]) -> None:
    _PINNED.pop(GetMe.__returning__, None)
    me = await bot_runtime.bot.get_me()  # through the emulator, as every call of the gateway's bot
    assert me.is_bot
    assert GetMe.__returning__ in _PINNED
    builds.clear()
    gc.collect()
    assert (await bot_runtime.bot.get_me()).id == me.id
    assert builds == []  # before, a model pinned at start-up only; now pinned on first use, and kept


_WARM_UP_PROBE = """
import academy_gateway_bot.telegram_responses as responses
from aiogram.types import Update

cold = [model.__name__ for model in (Update, *responses.WARM_METHODS) if not model.__pydantic_complete__]
assert "Update" in cold, cold  # left to first use by the gateway's import (telegram_schemas)
responses.warm_telegram_models()
assert all(model.__pydantic_complete__ for model in (Update, *responses.WARM_METHODS))
assert all(method.__returning__ in responses._PINNED for method in responses.WARM_METHODS)
"""


def test_the_models_every_update_uses_are_built_at_start_up() -> None:
    # The API's in webhook mode (it receives the updates); the worker's in its polling job (both modes).
    assert warm_up_telegram_models in service.on_api_startup
    assert warm_up_telegram_models not in service.on_startup
    assert "warm_telegram_models()" in inspect.getsource(receive_telegram_updates)
    # In a fresh interpreter: in this one, earlier tests have used (and so built) these models already.
    done = subprocess.run([sys.executable, "-c", _WARM_UP_PROBE], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
