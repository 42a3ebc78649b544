"""aiogram's models with deferred schemas (`academy_gateway_bot.telegram_schemas`) are aiogram's models.

Each side runs in a fresh interpreter: one imports aiogram as it is (every schema built at import),
the other imports the gateway first (schemas built on first use). Every Bot API type and method,
and the `Response[...]` of the methods the gateway calls, must then have the same schema on both
sides (as JSON Schema, for validation and for serialization), and validate a real update the same way.
"""

import json
import subprocess
import sys
import textwrap

import pytest

_PROBE = textwrap.dedent(
    """
    import hashlib, json, sys, warnings
    warnings.simplefilter("ignore")
    if sys.argv[1] == "deferred":
        import academy_gateway_bot  # noqa: F401  (defers aiogram's schemas)
    import aiogram.methods as methods
    import aiogram.types as types
    from aiogram.methods.base import Response

    deferred_after_import = not types.Message.__pydantic_complete__

    def schema_digest(model):
        # The first use, as a handler would make it: builds a deferred schema.
        getattr(model.__pydantic_validator__, "validate_python")
        getattr(model.__pydantic_serializer__, "to_python")
        # Compared as JSON Schema: the core schemas may differ in form only (pydantic inlines a
        # nested model or refers to its definition depending on what was built before).
        parts = []
        for mode in ("validation", "serialization"):
            try:
                parts.append(json.dumps(model.model_json_schema(mode=mode), sort_keys=True, default=str))
            except Exception as error:  # a schema JSON Schema cannot express (an Exception field)
                parts.append(type(error).__name__)
        return hashlib.sha256("\\n".join(parts).encode()).hexdigest()

    def digests():
        out = {}
        for package, prefix in ((types, "types."), (methods, "methods.")):
            for name in package.__all__:
                model = getattr(package, name)
                if isinstance(model, type) and hasattr(model, "__pydantic_validator__"):
                    out[prefix + name] = schema_digest(model)
        for name in ("SendMessage", "EditMessageText", "AnswerCallbackQuery", "SendPhoto", "GetUpdates"):
            returning = getattr(methods, name).__returning__
            out["Response[" + name + "]"] = schema_digest(Response[returning])
        return out

    update = types.Update.model_validate(json.loads(sys.argv[2]))
    print(json.dumps({
        "deferred_after_import": deferred_after_import,
        "digests": digests(),
        "update": update.model_dump(mode="json", exclude_none=True),
    }))
    """
)

_UPDATE = {
    "update_id": 7,
    "callback_query": {
        "id": "42",
        "from": {"id": 100, "is_bot": False, "first_name": "Анна", "language_code": "ru"},
        "chat_instance": "ci",
        "data": "course:open:3",
        "message": {
            "message_id": 9,
            "date": 1_764_590_000,
            "chat": {"id": 100, "type": "private", "first_name": "Анна"},
            "text": "Каталог",
            "reply_markup": {"inline_keyboard": [[{"text": "Курс", "callback_data": "course:open:3"}]]},
        },
    },
}


@pytest.fixture(scope="module")
def probes() -> dict[str, dict[str, object]]:
    """Both sides at once (each builds about 600 JSON Schemas: some seconds of CPU)."""
    started = {
        mode: subprocess.Popen(
            [sys.executable, "-c", _PROBE, mode, json.dumps(_UPDATE)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for mode in ("eager", "deferred")
    }
    results: dict[str, dict[str, object]] = {}
    for mode, process in started.items():
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr[-3000:]
        results[mode] = json.loads(stdout)
    return results


@pytest.fixture(scope="module")
def eager(probes: dict[str, dict[str, object]]) -> dict[str, object]:
    return probes["eager"]


@pytest.fixture(scope="module")
def deferred(probes: dict[str, dict[str, object]]) -> dict[str, object]:
    return probes["deferred"]


def test_importing_the_gateway_leaves_aiogram_schemas_to_first_use(
    eager: dict[str, object], deferred: dict[str, object]
) -> None:
    assert eager["deferred_after_import"] is False
    assert deferred["deferred_after_import"] is True


def test_every_bot_api_model_gets_the_schema_aiogram_builds(
    eager: dict[str, object], deferred: dict[str, object]
) -> None:
    eager_digests = eager["digests"]
    deferred_digests = deferred["digests"]
    assert isinstance(eager_digests, dict)
    assert isinstance(deferred_digests, dict)
    assert len(eager_digests) > 500  # every type and method of the Bot API, not a few
    assert deferred_digests.keys() == eager_digests.keys()
    differing = sorted(k for k in eager_digests if eager_digests[k] != deferred_digests[k])
    assert differing == []


def test_an_update_validates_the_same(eager: dict[str, object], deferred: dict[str, object]) -> None:
    assert deferred["update"] == eager["update"]
    update = deferred["update"]
    assert isinstance(update, dict)
    assert update["callback_query"]["message"]["reply_markup"]["inline_keyboard"][0][0]["text"] == "Курс"
