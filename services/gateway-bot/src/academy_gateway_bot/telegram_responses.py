"""Keep aiogram's parsed-answer models alive, so that a busy gateway does not rebuild them.

aiogram reads every Bot API answer as `Response[<the method's result type>]`, a pydantic generic model it
parametrises on each call (`BaseSession.check_response`). pydantic caches parametrised models only weakly
(its generic-types cache holds weak references), and nothing else holds them: after the next full garbage
collection the class is gone and the following call builds it again, schema, validator and serializer
(1-4 ms of CPU each). A gateway under load collects often: in the bot bench's profile 810 of its 1,831 Bot
API answers rebuilt their model, 13% of the worker's time. Holding one reference to each model the process
has used makes every later call a cache hit.

They are pinned on first use (`PinResponseTypes`, a request middleware of the bot's session), not all at
start-up: the 41 result types of every Bot API method took 23 MB of each gateway process, and a gateway
calls about a dozen methods. The few that every learner's update uses are built at start-up
(`warm_telegram_models`): since aiogram's schemas are built on first use (`telegram_schemas`), the first
`Update` or `Response[Message]` took about 50 ms each, with the event loop held meanwhile, and the first
learners after a deploy would have waited for them.
"""

from __future__ import annotations

from typing import Any

from academy_runtime.resources import Resources
from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    EditMessageReplyMarkup,
    EditMessageText,
    GetUpdates,
    Response,
    SendChatAction,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import Update
from pydantic import BaseModel, PydanticSchemaGenerationError

from academy_gateway_bot.settings import GatewaySettings

_PINNED: dict[Any, type] = {}


def pin_response_type(method: type[TelegramMethod[Any]]) -> type | None:
    """Build (or find) `Response[T]` for the result type `T` of the Bot API `method` and keep it for the life
    of the process. None for a method without a result type of its own (an abstract base), or with one
    pydantic cannot read (aiogram could not parse its answer either, and says so itself)."""
    returning = method.__dict__.get("__returning__")  # its own result type (abstract bases have a property)
    if returning is None or isinstance(returning, property):
        return None
    pinned = _PINNED.get(returning)
    if pinned is None:
        try:
            pinned = _PINNED[returning] = Response[returning]  # type: ignore[valid-type]
        except PydanticSchemaGenerationError:
            return None
    return pinned


class PinResponseTypes(BaseRequestMiddleware):
    """Pins the `Response[T]` of each Bot API method the bot calls, before aiogram parses its answer
    (`pin_response_type`). A request middleware of the bot's session (`bot.create_bot`); a dictionary
    lookup per call once the method's type is pinned."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        pin_response_type(type(method))
        return await make_request(bot, method)


WARM_METHODS: tuple[type[TelegramMethod[Any]], ...] = (
    GetUpdates,
    SendMessage,
    EditMessageText,
    EditMessageReplyMarkup,
    AnswerCallbackQuery,
    DeleteMessage,
    SendChatAction,
    SendPhoto,
)
"""The Bot API methods of every learner's update (polling, answers, screens, presses): their models and their
answers' are built at start-up."""


def warm_telegram_models() -> None:
    """Build the validators of `Update` (a webhook's body) and of `WARM_METHODS`, and pin their answers' models
    (`pin_response_type`): about 0.15 s of start-up, and the memory the process would hold after its first
    updates anyway. Not the types' own validators (`Message`, `CallbackQuery`): in an update or an answer they
    are validated as part of it, and alone by no path of the gateway's."""
    models: tuple[type[BaseModel], ...] = (Update, *WARM_METHODS)
    for model in models:
        model.__pydantic_validator__.validate_python  # noqa: B018  (the first use builds a deferred schema)
    for method in WARM_METHODS:
        pin_response_type(method)


async def warm_up_telegram_models(resources: Resources) -> None:
    """The API's start-up hook (`ServiceDefinition.on_api_startup`): `warm_telegram_models` in webhook mode, where
    Telegram delivers the updates to the API. In long polling the worker receives them and warms up itself
    (`polling.receive_telegram_updates`); the API then only sends an operator's broadcast preview now and
    then, whose models are built by that first preview. Issue 11: the API process idle in long polling went
    from 162 to 149 MB resident without it (the models, and the heap their building left fragmented)."""
    if resources.settings_as(GatewaySettings).bot_mode == "webhook":
        warm_telegram_models()
