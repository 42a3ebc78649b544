"""aiogram's `Response[T]` models survive garbage collection once pinned (academy_gateway_bot.telegram_responses)."""

from __future__ import annotations

import gc

import pytest
from academy_gateway_bot.app import service
from academy_gateway_bot.telegram_responses import keep_response_types, pin_response_types
from aiogram.methods import EditMessageText, GetUpdates, SendMessage
from aiogram.methods.base import Response
from pydantic._internal import _generics


def test_pinned_response_models_are_not_rebuilt_after_a_garbage_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    pin_response_types()
    built: list[str] = []
    create = _generics.create_generic_submodel

    def counting(model_name: str, *args: object) -> type:
        built.append(model_name)
        return create(model_name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(_generics, "create_generic_submodel", counting)
    gc.collect()
    for method in (SendMessage, EditMessageText, GetUpdates):
        assert Response[method.__returning__] is Response[method.__returning__]  # type: ignore[name-defined]
        gc.collect()
        Response[method.__returning__]  # type: ignore[name-defined]
    assert built == []


def test_the_api_and_the_worker_pin_them_at_start_up() -> None:
    assert keep_response_types in service.on_startup
