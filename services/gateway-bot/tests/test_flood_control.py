"""The bot's answers to a learner under Telegram's flood control (a 429 «retry after N»): each kind of answer
(a message, an edited screen, a press's answer) is made again after `retry_after` and reaches the learner;
before, it was lost. The notifications' own 429s (deferred in their queue) are `test_notification_queue.py`'s."""

import asyncio

import pytest

from .learning_support import has_text, new_category, publish_course, wait_for_edit
from .test_navigation import errors  # noqa: F401  (the fixture)
from .test_notification_queue import registered

pytestmark = pytest.mark.integration

RETRY_AFTER_S = 1
WAIT_S = RETRY_AFTER_S + 5


async def refused_then_made(tg, method: str, since: int, **params) -> tuple[float, float]:
    """The call of `method` with these `params` refused with a 429 since `since`, and the same call made
    after it, successfully: their arrival times."""
    calls = [
        call
        for call in await tg.calls(method, since=since)
        if all(str(call.params.get(key)) == str(value) for key, value in params.items())
    ]
    assert [(call.ok, call.error_code) for call in calls] == [(False, 429), (True, None)]
    return calls[0].at, calls[1].at


@pytest.fixture
async def catalog_shown(gateway, tg, resources):
    """A registered learner looking at the catalog, which has a category of its own: (user, catalog, its title)."""
    category = await new_category(gateway)
    title = f"Нейл-арт {category}"
    await publish_course(gateway, category=category)
    user, _ = await registered(gateway, tg, resources)
    sent = await tg.send_command(user, "catalog")
    catalog = await tg.wait_for_reply(sent, has_text("Каталог курсов"))
    return user, catalog, title


async def last_seq(tg) -> int:
    calls = await tg.calls()
    return calls[-1].seq if calls else 0


async def test_a_reply_refused_with_429_is_sent_after_retry_after(gateway, tg, resources, errors):  # noqa: F811
    user, _ = await registered(gateway, tg, resources)
    since = await last_seq(tg)
    await tg.fail_next(methods=["sendMessage"], retry_after=RETRY_AFTER_S, description="Too Many Requests")
    sent = await tg.send_command(user, "catalog")

    await tg.wait_for_reply(sent, has_text("Каталог курсов"), timeout=WAIT_S)
    refused, made = await refused_then_made(tg, "sendMessage", since, chat_id=user.chat_id)
    assert made - refused >= RETRY_AFTER_S  # as Telegram asked
    assert errors() == []


async def test_a_screen_edit_and_a_press_answer_refused_with_429_are_made_again(
    tg,
    catalog_shown,
    errors,  # noqa: F811
):
    user, catalog, title = catalog_shown

    since = await last_seq(tg)
    await tg.fail_next(methods=["editMessageText"], retry_after=RETRY_AFTER_S, description="Too Many Requests")
    press = await tg.press_button_by_text(user, catalog, title)
    page = await wait_for_edit(tg, catalog, has_text("страница 1 из 1"), timeout=WAIT_S)
    await tg.wait_for_callback_answer(press, timeout=WAIT_S)
    await refused_then_made(tg, "editMessageText", since, chat_id=user.chat_id, message_id=catalog.message_id)

    since = await last_seq(tg)
    await tg.fail_next(methods=["answerCallbackQuery"], retry_after=RETRY_AFTER_S, description="Too Many Requests")
    course = next(button["text"] for button in page.inline_buttons() if "callback_data" in button)
    again = await tg.press_button_by_text(user, page, course)
    await tg.wait_for_callback_answer(again, timeout=WAIT_S)
    await refused_then_made(tg, "answerCallbackQuery", since, callback_query_id=again.callback_query_id)
    assert errors() == []


async def test_an_answer_refused_again_ends_the_update_without_an_error_or_a_false_try_again(
    gateway,
    tg,
    resources,
    errors,  # noqa: F811
):
    user, _ = await registered(gateway, tg, resources)
    since = await last_seq(tg)
    await tg.fail_next(2, methods=["sendMessage"], retry_after=RETRY_AFTER_S, description="Too Many Requests")
    await tg.send_command(user, "catalog")
    await asyncio.sleep(RETRY_AFTER_S + 1.5)  # the reply, its one retry, and whatever the update did after

    to_chat = [call for call in await tg.calls(since=since) if str(call.params.get("chat_id")) == str(user.chat_id)]
    assert [(call.method, call.error_code) for call in to_chat] == [("sendMessage", 429), ("sendMessage", 429)]
    assert errors() == []  # a flood-controlled answer is a warning, not an update's traceback

    sent = await tg.send_command(user, "catalog")  # the learner's next update is answered as usual
    await tg.wait_for_reply(sent, has_text("Каталог курсов"))


async def test_a_press_answer_refused_for_longer_than_the_wait_is_answered_silently_after(
    tg,
    catalog_shown,
    errors,  # noqa: F811
):
    user, catalog, title = catalog_shown

    await tg.fail_next(methods=["answerCallbackQuery"], retry_after=30, description="Too Many Requests")
    press = await tg.press_button_by_text(user, catalog, title)
    await wait_for_edit(tg, catalog, has_text("страница 1 из 1"))  # what the press asked for was done
    answer = await tg.wait_for_callback_answer(press)
    assert not answer.text  # not «try again»: the screen the learner asked for is there
    assert not answer.show_alert
    assert errors() == []
