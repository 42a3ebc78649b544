"""A real aiogram 3 Bot + Dispatcher in long-polling mode against the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from academy_tg_emulator import EmulatorClient, TestUser

pytest.importorskip("aiogram")


from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LabeledPrice,
    Message,
    PreCheckoutQuery,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)


@asynccontextmanager
async def polling(bot: Bot, *routers: Router) -> AsyncIterator[Dispatcher]:
    """Run ``dp.start_polling`` in the background for the block, then stop it."""
    dispatcher = Dispatcher()
    for router in routers:
        dispatcher.include_router(router)
    task = asyncio.create_task(
        dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1, close_bot_session=False)
    )
    try:
        yield dispatcher
    finally:
        if dispatcher._running_lock.locked():
            await dispatcher.stop_polling()
        await asyncio.wait_for(task, 5)


def academy_router(on_callback: Callable[[CallbackQuery], None] | None = None) -> Router:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        assert message.from_user is not None
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Показать курсы", callback_data="courses")]]
        )
        await message.answer(
            f"Добро пожаловать, <b>{message.from_user.first_name}</b>!", reply_markup=keyboard, parse_mode="HTML"
        )

    @router.callback_query(F.data == "courses")
    async def courses(callback: CallbackQuery) -> None:
        if on_callback is not None:
            on_callback(callback)
        await callback.answer("Загружаю курсы")
        assert isinstance(callback.message, Message)
        await callback.message.edit_text("Курсы: маникюр, педикюр")

    return router


async def test_start_reply_button_and_callback_answer(bot: Bot, tg: EmulatorClient, user: TestUser) -> None:
    seen: list[CallbackQuery] = []
    async with polling(bot, academy_router(seen.append)):
        sent = await tg.send_command(user, "start")
        reply = await tg.wait_for_reply(sent, lambda m: (m.text or "").startswith("Добро пожаловать"))
        assert reply.text == "Добро пожаловать, Anna!"
        assert reply.entities == [{"type": "bold", "offset": 18, "length": 4}]
        assert reply.button("Показать курсы")["callback_data"] == "courses"

        press = await tg.press_button_by_text(user, reply, "Показать курсы")
        answer = await tg.wait_for_callback_answer(press)
        assert answer.text == "Загружаю курсы"
        assert not answer.show_alert
        edited = await tg.wait_for_message(user.chat_id, lambda m: m.edited)
        assert edited.message_id == reply.message_id
        assert edited.text == "Курсы: маникюр, педикюр"
        assert edited.inline_buttons() == []

    assert seen[0].data == "courses"
    assert seen[0].from_user.id == user.id
    polls = await tg.calls("getUpdates")
    assert polls
    assert set(polls[0].params["allowed_updates"]) == {"message", "callback_query"}  # what aiogram handles


async def test_wait_for_message_timeout_lists_the_chat(bot: Bot, tg: EmulatorClient, user: TestUser) -> None:
    await tg.send_text(user, "hello?")
    await bot.send_message(user.id, "Something else")
    with pytest.raises(TimeoutError) as caught:
        await tg.wait_for_message(user.chat_id, lambda m: m.text == "Welcome", timeout=0.2)
    text = str(caught.value)
    assert "#1 user" in text
    assert "#2 bot: 'Something else'" in text


async def test_aiogram_exceptions_carry_telegram_errors(bot: Bot, tg: EmulatorClient, base_url: str) -> None:
    anna = TestUser.new("Anna")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(anna.id, "hi")
    await tg.send_text(anna, "hi")

    await tg.fail_next(1, retry_after=7, methods=["sendMessage"])
    with pytest.raises(TelegramRetryAfter) as retry:
        await bot.send_message(anna.id, "hi")
    assert retry.value.retry_after == 7
    assert (await bot.send_message(anna.id, "hi")).text == "hi"

    await tg.set_rate_limit(per_chat_per_second=1, retry_after=4)
    await bot.send_message(anna.id, "first")
    with pytest.raises(TelegramRetryAfter) as limited:
        await bot.send_message(anna.id, "second")
    assert limited.value.retry_after == 4
    await tg.set_rate_limit(enabled=False)

    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(anna.id, "<b>oops", parse_mode="HTML")

    await tg.block_bot(anna)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(anna.id, "hi")

    await bot.set_webhook("http://127.0.0.1:9/hook")
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()

    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    stranger = Bot("42:UNKNOWN", session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
    finally:
        await stranger.session.close()


async def test_documents_round_trip_through_aiogram(bot: Bot, tg: EmulatorClient, user: TestUser) -> None:
    await tg.send_text(user, "my certificate please")
    pdf = b"%PDF-1.7 certificate for Anna"
    sent = await bot.send_document(user.id, BufferedInputFile(pdf, filename="certificate.pdf"), caption="Готово")
    assert sent.document is not None
    message = await tg.wait_for_message(user.chat_id, lambda m: m.document is not None)
    assert message.caption == "Готово"
    assert message.file_id == sent.document.file_id
    assert await tg.download_document(sent.document.file_id) == pdf
    downloaded = await bot.download(sent.document.file_id)
    assert downloaded is not None
    assert downloaded.read() == pdf

    homework = await tg.send_document(user, b"my homework", "homework.txt", caption="Домашка")
    assert homework.document is not None
    file = await bot.get_file(homework.document["file_id"])
    assert file.file_path is not None
    content = await bot.download_file(file.file_path)
    assert content is not None
    assert content.read() == b"my homework"


async def test_contact_sharing_with_a_request_contact_keyboard(bot: Bot, tg: EmulatorClient, user: TestUser) -> None:
    router = Router()
    contacts: list[Message] = []

    @router.message(CommandStart())
    async def ask_phone(message: Message) -> None:
        keyboard = ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text="Поделиться телефоном", request_contact=True)]],
            one_time_keyboard=True,
            resize_keyboard=True,
        )
        await message.answer("Нужен ваш номер", reply_markup=keyboard)

    @router.message(F.contact)
    async def got_phone(message: Message) -> None:
        contacts.append(message)
        await message.answer("Спасибо!", reply_markup=ReplyKeyboardRemove())

    async with polling(bot, router):
        sent = await tg.send_command(user, "start")
        ask = await tg.wait_for_reply(sent)
        assert ask.button("Поделиться телефоном")["request_contact"] is True
        assert (await tg.chat(user.id))["reply_keyboard"] is not None
        shared = await tg.share_contact(user, "+79990001122")
        await tg.wait_for_reply(shared, lambda m: m.text == "Спасибо!")

    contact = contacts[0].contact
    assert contact is not None
    assert (contact.phone_number, contact.user_id, contact.first_name) == ("+79990001122", user.id, "Anna")
    assert (await tg.chat(user.id))["reply_keyboard"] is None


async def test_stars_invoice_payment_and_refund(bot: Bot, tg: EmulatorClient, user: TestUser) -> None:
    router = Router()
    refunds: list[bool] = []
    refunded = asyncio.Event()

    @router.message(CommandStart())
    async def offer(message: Message) -> None:
        await message.answer_invoice(
            title="Курс маникюра",
            description="12 уроков",
            payload="course:42",
            currency="XTR",
            prices=[LabeledPrice(label="Курс", amount=250)],
        )

    @router.pre_checkout_query()
    async def approve(query: PreCheckoutQuery) -> None:
        await query.answer(ok=query.invoice_payload == "course:42")

    @router.message(F.successful_payment)
    async def paid(message: Message, bot: Bot) -> None:
        payment = message.successful_payment
        assert payment is not None
        assert message.from_user is not None
        await message.answer(f"Оплачено {payment.total_amount} ⭐")
        refunds.append(await bot.refund_star_payment(message.from_user.id, payment.telegram_payment_charge_id))
        refunded.set()

    async with polling(bot, router):
        sent = await tg.send_command(user, "start")
        invoice = await tg.wait_for_reply(sent, lambda m: m.invoice is not None)
        assert invoice.invoice == {
            "title": "Курс маникюра",
            "description": "12 уроков",
            "start_parameter": "",
            "currency": "XTR",
            "total_amount": 250,
        }
        receipt = await tg.pay_invoice(user, invoice.message_id)
        assert receipt.successful_payment is not None
        assert receipt.successful_payment["invoice_payload"] == "course:42"
        await tg.wait_for_reply(receipt, lambda m: m.text == "Оплачено 250 ⭐")
        await asyncio.wait_for(refunded.wait(), 5)

    assert refunds == [True]
    [payment] = await tg.payments()
    assert payment["refunded"] is True
    with pytest.raises(TelegramBadRequest, match="CHARGE_ALREADY_REFUNDED"):
        await bot.refund_star_payment(user.id, payment["telegram_payment_charge_id"])
    with pytest.raises(TelegramBadRequest, match="STARS_INVOICE_INVALID"):
        await bot.send_invoice(
            user.id,
            title="x",
            description="y",
            payload="p",
            currency="XTR",
            prices=[LabeledPrice(label="a", amount=1), LabeledPrice(label="b", amount=1)],
        )
