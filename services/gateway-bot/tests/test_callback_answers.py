"""`AnswerEveryCallback` with `NoteCallbackAnswers`: a callback query is answered exactly once, whatever the
handler does (answers it itself or not, finishes, fails, edits a screen into the one already shown) and
whoever takes it (no handler for a button of an older layout)."""

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import pytest
from academy_gateway_bot.i18n import use_locale
from academy_gateway_bot.screens import AnswerEveryCallback, NoteCallbackAnswers, answer_callback
from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery, EditMessageText, TelegramMethod
from aiogram.types import CallbackQuery, User


class RecordingSession(BaseSession):
    """A Bot API that accepts every call and remembers it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[TelegramMethod[Any]] = []

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        self.calls.append(method)
        return True

    async def stream_content(self, *args: Any, **kwargs: Any) -> AsyncGenerator[bytes, None]:
        raise NotImplementedError
        yield b""

    async def close(self) -> None:
        pass

    def answers(self) -> list[AnswerCallbackQuery]:
        return [call for call in self.calls if isinstance(call, AnswerCallbackQuery)]


@pytest.fixture
def session() -> RecordingSession:
    return RecordingSession()


@pytest.fixture
def press(session: RecordingSession) -> CallbackQuery:
    session.middleware(NoteCallbackAnswers())
    bot = Bot("42:TEST", session=session)
    user = User(id=7, is_bot=False, first_name="Анна")
    return CallbackQuery(id="query-1", from_user=user, chat_instance="chat", data="cat:categories::1").as_(bot)


Handler = Callable[[CallbackQuery, dict[str, Any]], Awaitable[Any]]


async def handle(press: CallbackQuery, handler: Handler) -> Any:
    with use_locale("ru"):
        return await AnswerEveryCallback()(handler, press, {})  # type: ignore[arg-type]


async def test_a_handler_that_does_not_answer_gets_its_press_answered(press, session) -> None:
    async def handler(event: CallbackQuery, data: dict[str, Any]) -> str:
        return "done"

    assert await handle(press, handler) == "done"

    assert [(a.callback_query_id, a.text) for a in session.answers()] == [("query-1", None)]


@pytest.mark.parametrize("how", ["callback.answer", "answer_callback"])
async def test_a_handler_that_answers_itself_is_not_answered_again(press, session, how) -> None:
    async def handler(event: CallbackQuery, data: dict[str, Any]) -> None:
        if how == "answer_callback":
            await answer_callback(event, "Готово")
        else:
            await event.answer("Готово")

    await handle(press, handler)

    assert [a.text for a in session.answers()] == ["Готово"]


async def test_a_handler_that_fails_gets_its_press_answered_and_the_error_goes_on(press, session) -> None:
    async def handler(event: CallbackQuery, data: dict[str, Any]) -> None:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        await handle(press, handler)

    assert [a.text for a in session.answers()] == ["Не получилось — попробуйте ещё раз чуть позже."]


async def test_a_handler_that_answered_and_then_failed_is_not_answered_again(press, session) -> None:
    async def handler(event: CallbackQuery, data: dict[str, Any]) -> None:
        await event.answer()
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        await handle(press, handler)

    assert len(session.answers()) == 1


async def test_an_edit_into_the_screen_already_shown_is_not_an_error(press, session) -> None:
    async def handler(event: CallbackQuery, data: dict[str, Any]) -> None:
        method = EditMessageText(text="Каталог", chat_id=7, message_id=1)
        raise TelegramBadRequest(method, "Bad Request: message is not modified: specified new message content ...")

    assert await handle(press, handler) is None

    assert [a.text for a in session.answers()] == [None]


async def test_a_button_no_handler_takes_is_answered_as_out_of_date(press, session) -> None:
    async def handler(event: CallbackQuery, data: dict[str, Any]) -> object:
        return UNHANDLED

    assert await handle(press, handler) is UNHANDLED

    assert [a.text for a in session.answers()] == ["Эта кнопка устарела — откройте экран заново из меню."]
