"""What real learners do to a bot (issue 8): bursts, blocking, odd phone numbers, restarts, anything at all."""

import asyncio
import base64
import secrets

import pytest
from academy_gateway_bot.bot import conversation_storage
from academy_gateway_bot.learners import LearnerRepository
from academy_gateway_bot.models import Learner
from academy_gateway_bot.presses import first_press
from academy_runtime.db import transaction
from academy_tg_emulator.client import TestUser
from sqlalchemy import select

from .learning_support import (
    has_text,
    learner_on_a_course,
    needs_s3,
    new_category,
    open_course_card,
    publish_course,
    wait_for_edit,
    wait_until_progress_knows,
)
from .learning_support import register as register_learner
from .test_registration import WAIT, has, learner_in_users, register

pytestmark = pytest.mark.integration

# A 1×1 PNG: the emulator checks that a photo is an image.
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


async def _at_the_name_step(tg, user: TestUser) -> None:
    sent = await tg.send_command(user, "start")
    consent = await tg.wait_for_reply(sent, lambda m: bool(m.inline_buttons()), timeout=WAIT)
    await tg.press_button_by_text(user, consent, "✅ Принимаю")
    await tg.wait_for_message(user.id, has("Как вас зовут"), after=consent.message_id, timeout=WAIT)


async def _at_the_phone_step(tg, user: TestUser) -> None:
    await _at_the_name_step(tg, user)
    await tg.wait_for_reply(await tg.send_text(user, "Ксения Орлова"), has("телефон"), timeout=WAIT)


# -- case 4: two updates of one learner at once -----------------------------------------------------


async def test_a_name_and_a_phone_sent_in_one_burst_are_taken_in_order(gateway, tg):
    ksenia = TestUser.new("Ksenia", language_code="ru")
    await _at_the_name_step(tg, ksenia)

    name, phone = await asyncio.gather(tg.send_text(ksenia, "Ксения Орлова"), tg.send_text(ksenia, "+7 916 000-01-05"))

    await tg.wait_for_message(ksenia.id, has("В каком городе"), after=phone.message_id, timeout=WAIT)
    said = [m.text or "" for m in await tg.messages(ksenia.id) if m.from_bot and m.message_id > name.message_id]
    assert not [text for text in said if "Имя должно быть" in text]  # the phone was never judged as a name
    await tg.wait_for_reply(await tg.send_text(ksenia, "Москва"), has("Beauty Academy"), timeout=WAIT)
    learner = await learner_in_users(gateway, ksenia.id)
    assert (learner["full_name"], learner["phone"]) == ("Ксения Орлова", "+79160000105")


async def test_a_name_a_phone_and_a_city_typed_in_one_burst_are_taken_in_the_order_typed(gateway, tg):
    """QA: with three updates of one chat waiting, the chat's lock went to whichever asked again first (the
    Redis lock retries every 0.1 s), so the city was judged as a phone and lost."""
    for attempt in range(3):  # each a new learner: the race needs the three to wait at once
        oleg = TestUser.new(f"Oleg{attempt}", language_code="ru")
        await _at_the_name_step(tg, oleg)

        name = await tg.send_text(oleg, "Олег Петров")
        await tg.send_text(oleg, "+7 916 555-44-33")
        city = await tg.send_text(oleg, "Москва")

        await tg.wait_for_message(oleg.id, has("Beauty Academy"), after=city.message_id, timeout=WAIT)
        said = [m.text or "" for m in await tg.messages(oleg.id) if m.from_bot and m.message_id > name.message_id]
        assert not [text for text in said if "Не похоже на номер" in text or "Имя должно быть" in text], said
        learner = await learner_in_users(gateway, oleg.id)
        assert (learner["full_name"], learner["phone"], learner["city"]) == ("Олег Петров", "+79165554433", "Москва")


async def test_a_city_tapped_twice_registers_once(gateway, tg):
    vera = TestUser.new("Vera", language_code="ru")
    await _at_the_phone_step(tg, vera)
    await tg.wait_for_reply(await tg.send_text(vera, "+7 916 000-01-06"), has("В каком городе"), timeout=WAIT)

    await asyncio.gather(tg.send_text(vera, "Казань"), tg.send_text(vera, "Казань"))

    await tg.wait_for_message(vera.id, has("+50"), timeout=WAIT)
    await asyncio.sleep(1)
    said = [m.text or "" for m in await tg.messages(vera.id) if m.from_bot]
    welcomes = [text for text in said if "Добро пожаловать" in text or "С возвращением" in text]
    assert len(welcomes) == 1, said


# -- case 5: blocked, then unblocked ----------------------------------------------------------------


async def test_a_learner_who_unblocks_the_bot_hears_from_it_again(gateway, tg, resources):
    lena = TestUser.new("Lena", language_code="ru")
    await register(tg, lena, full_name="Лена Блок")

    async def blocked_at():
        async with resources.sessionmaker() as session:
            row = (await session.execute(select(Learner).where(Learner.telegram_id == lena.id))).scalar_one()
            return row.blocked_at

    await tg.block_bot(lena)
    for _ in range(50):
        if await blocked_at() is not None:
            break
        await asyncio.sleep(0.1)
    assert await blocked_at() is not None  # my_chat_member «kicked» arrived

    await tg.unblock_bot(lena)
    for _ in range(50):
        if await blocked_at() is None:
            break
        await asyncio.sleep(0.1)
    assert await blocked_at() is None  # «member» again: notifications flow


async def test_start_after_a_403_makes_the_learner_reachable_again(gateway, tg, resources):
    mila = TestUser.new("Mila", language_code="ru")
    await register(tg, mila, full_name="Мила Старт")
    learner = await learner_in_users(gateway, mila.id)
    async with transaction(resources.sessionmaker) as session:
        await LearnerRepository(session).mark_blocked(learner["id"])  # as the sender does on a 403

    await tg.wait_for_reply(await tg.send_command(mila, "start"), has("С возвращением"), timeout=WAIT)

    async with resources.sessionmaker() as session:
        row = (await session.execute(select(Learner).where(Learner.telegram_id == mila.id))).scalar_one()
    assert row.blocked_at is None


# -- case 6: phone numbers read against the numbering plans -----------------------------------------


async def test_a_russian_number_typed_without_a_country_code_is_russian(gateway, tg):
    ivan = TestUser.new("Ivan", language_code="ru")
    await _at_the_phone_step(tg, ivan)
    await tg.wait_for_reply(await tg.send_text(ivan, "916 123 45 67"), has("В каком городе"), timeout=WAIT)
    await tg.wait_for_reply(await tg.send_text(ivan, "Москва"), has("Beauty Academy"), timeout=WAIT)
    assert (await learner_in_users(gateway, ivan.id))["phone"] == "+79161234567"  # not India's +91…


async def test_a_shared_contact_is_read_as_international(gateway, tg):
    linh = TestUser.new("Linh", language_code="ru")
    await _at_the_phone_step(tg, linh)
    await tg.wait_for_reply(await tg.share_contact(linh, "84912345678"), has("В каком городе"), timeout=WAIT)
    await tg.wait_for_reply(await tg.send_text(linh, "Москва"), has("Beauty Academy"), timeout=WAIT)
    assert (await learner_in_users(gateway, linh.id))["phone"] == "+84912345678"  # Vietnam, not +7 491…


async def test_an_ambiguous_typed_number_is_asked_back(gateway, tg):
    nam = TestUser.new("Nam", language_code="ru")
    await _at_the_phone_step(tg, nam)
    which = await tg.wait_for_reply(await tg.send_text(nam, "84912345678"), has("Какой из них ваш"), timeout=WAIT)
    labels = [b["text"] for b in which.inline_buttons()]
    assert len(labels) == 2
    assert any("Вьетнам" in label for label in labels)

    vietnamese = next(b for b in which.inline_buttons() if "Вьетнам" in b["text"])
    await tg.press_button(nam, which.message_id, vietnamese["callback_data"])
    await tg.wait_for_message(nam.id, has("В каком городе"), after=which.message_id, timeout=WAIT)
    await tg.wait_for_reply(await tg.send_text(nam, "Москва"), has("Beauty Academy"), timeout=WAIT)
    assert (await learner_in_users(gateway, nam.id))["phone"] == "+84912345678"


async def test_a_service_number_is_refused_with_a_reason(gateway, tg):
    petr = TestUser.new("Petr", language_code="ru")
    await _at_the_phone_step(tg, petr)
    await tg.wait_for_reply(await tg.send_text(petr, "8 800 555-35-35"), has("служебный номер"), timeout=WAIT)


# -- case 9: an old fact never overwrites a newer one -----------------------------------------------


async def test_a_late_registration_does_not_bring_back_the_old_language(resources):
    async with transaction(resources.sessionmaker) as session:
        learners = LearnerRepository(session)
        await learners.remember(user_id=990001, telegram_id=7990001, locale="en", time_zone=None, revision=2)
        applied = await learners.remember(user_id=990001, telegram_id=7990001, locale="ru", time_zone=None, revision=1)
    assert applied is False
    async with resources.sessionmaker() as session:
        row = await LearnerRepository(session).get(990001)
    assert row is not None
    assert row.locale == "en"


# -- case 10: update ids that start again -----------------------------------------------------------


async def test_an_update_id_seen_before_a_restart_does_not_silence_a_new_message(gateway, tg):
    oleg = TestUser.new("Oleg", language_code="ru")
    first = await tg.send_command(oleg, "help")  # opens the chat
    await tg.wait_for_reply(first, has("/catalog"), timeout=WAIT)

    def help_update(update_id: int, message_id: int) -> dict:
        return {
            "update_id": update_id,
            "message": {
                "message_id": message_id,
                "date": 1_800_000_000,
                "chat": {"id": oleg.id, "type": "private", "first_name": "Oleg"},
                "from": {"id": oleg.id, "is_bot": False, "first_name": "Oleg", "language_code": "ru"},
                "text": "/help",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            },
        }

    async def answers() -> int:
        return len([m for m in await tg.messages(oleg.id) if m.from_bot])

    update_id = 1_500_000_000 + oleg.id % 100_000
    before = await answers()
    await gateway.dispatcher.feed_raw_update(gateway.bot, help_update(update_id, first.message_id + 1_000))
    # The counter started again (a restarted Bot API server, or Telegram after a quiet week): a new
    # message arrives under the same update_id. It is a new message and must be answered.
    await gateway.dispatcher.feed_raw_update(gateway.bot, help_update(update_id, first.message_id + 2_000))
    assert await answers() == before + 2
    # The same update delivered again (a retried webhook) is still a duplicate.
    await gateway.dispatcher.feed_raw_update(gateway.bot, help_update(update_id, first.message_id + 2_000))
    assert await answers() == before + 2


# -- case 12: every update gets an answer -----------------------------------------------------------


@pytest.mark.parametrize(
    ("send", "expected"),
    [
        (lambda tg, u: tg.send_text(u, "привет, что тут?"), "Я не понял"),
        (lambda tg, u: tg.send_command(u, "frobnicate"), "Такой команды я не знаю"),
        # A photo is offered as the avatar (test_avatars.py); a file that is no image gets this answer.
        (lambda tg, u: tg.send_document(u, b"%PDF-1.4", "notes.pdf", mime_type="application/pdf"), "Файлы"),
    ],
)
async def test_anything_a_registered_learner_sends_gets_an_answer(gateway, tg, send, expected):
    zoya = TestUser.new("Zoya", language_code="ru")
    await register(tg, zoya, full_name="Зоя Ответ")
    reply = await tg.wait_for_reply(await send(tg, zoya), has(expected), timeout=WAIT)
    assert "меню" in reply.text


async def test_a_photo_while_editing_the_profile_repeats_what_the_step_needs(gateway, tg):
    yana = TestUser.new("Yana", language_code="ru")
    await register(tg, yana, full_name="Яна Профиль")
    card = await tg.wait_for_reply(await tg.send_text(yana, "👤 Профиль"), has("Имя:"), timeout=WAIT)
    name_button = next(b for b in card.inline_buttons() if "мя" in b["text"])
    await tg.press_button(yana, card.message_id, name_button["callback_data"])
    await tg.wait_for_message(yana.id, lambda m: m.from_bot and m.message_id > card.message_id, timeout=WAIT)

    reply = await tg.wait_for_reply(await tg.send_photo(yana, PIXEL_PNG), has("Фото"), timeout=WAIT)
    assert "имя" in reply.text
    assert "/cancel" in reply.text


async def test_someone_not_registered_writing_anything_is_told_to_start(gateway, tg):
    stranger = TestUser.new("Stranger", language_code="en")
    await tg.create_user(stranger)
    await tg.wait_for_reply(await tg.send_text(stranger, "hello?"), has("/start"), timeout=WAIT)


async def test_a_reply_to_someone_who_blocked_the_bot_meanwhile_is_no_error(gateway, tg, resources):
    rita = TestUser.new("Rita", language_code="ru")
    first = await register(tg, rita, full_name="Рита Блок")
    await tg.block_bot(rita)
    message = {
        "message_id": first.message_id + 5_000,
        "date": 1_800_000_000,
        "chat": {"id": rita.id, "type": "private", "first_name": "Rita"},
        "from": {"id": rita.id, "is_bot": False, "first_name": "Rita", "language_code": "ru"},
        "text": "/help",
        "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
    }

    # Sent before the block, handled after it: the reply gets 403. The update is done, not failed.
    await gateway.dispatcher.feed_raw_update(
        gateway.bot, {"update_id": 1_700_000_000 + rita.id % 1000, "message": message}
    )

    async with resources.sessionmaker() as session:
        row = (await session.execute(select(Learner).where(Learner.telegram_id == rita.id))).scalar_one()
    assert row.blocked_at is not None


# -- found by trying the bot: a restarted emulator, a double completion, a voice, a phone abroad -----


async def test_a_message_id_used_again_after_a_restart_is_a_new_message(gateway, tg):
    """A local Bot API server that lost its state numbers a chat's messages from 1 again."""
    pavel = TestUser.new("Pavel", language_code="ru")
    first = await tg.send_command(pavel, "help")
    await tg.wait_for_reply(first, has("/catalog"), timeout=WAIT)

    def help_message(date: int) -> dict:
        return {
            "message_id": first.message_id,
            "date": date,
            "chat": {"id": pavel.id, "type": "private", "first_name": "Pavel"},
            "from": {"id": pavel.id, "is_bot": False, "first_name": "Pavel", "language_code": "ru"},
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        }

    async def answers() -> int:
        return len([m for m in await tg.messages(pavel.id) if m.from_bot])

    before = await answers()
    update_id = 1_600_000_000 + pavel.id % 100_000
    await gateway.dispatcher.feed_raw_update(
        gateway.bot, {"update_id": update_id, "message": help_message(1_900_000_000)}
    )
    assert await answers() == before + 1


async def test_a_lesson_completed_twice_at_once_is_told_once(gateway, tg):
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category, lessons=2, free_lessons=(1,))
    await wait_until_progress_knows(gateway, course)
    user, _learner = await register_learner(gateway, tg)
    card = await open_course_card(gateway, tg, user, category, course)
    await tg.press_button_by_text(user, card, "📖 Уроки курса")
    lessons = await wait_for_edit(tg, card, has_text("Пройдено уроков: 0 из 2"))
    await tg.press_button_by_text(user, lessons, lessons.inline_buttons()[0]["text"])
    lesson = await wait_for_edit(tg, card, lambda m: any(b["text"] == "✅ Урок пройден" for b in m.inline_buttons()))

    told = await press_twice_at_once(tg, user, lesson, "✅ Урок пройден", answered=has_text("пройден!"))

    assert len(told) == 1


async def press_twice_at_once(tg, user, message, label: str, *, answered) -> list:
    """Press the button `label` of `message` twice at once; once both presses are answered and a message the
    press sends (`answered`) has come, and a second more: every message of the bot that `answered` matches."""
    presses = await asyncio.gather(*(tg.press_button_by_text(user, message, label) for _ in range(2)))
    for press in presses:
        await tg.wait_for_callback_answer(press, timeout=WAIT)
    await tg.wait_for_message(user.id, answered, after=message.message_id, timeout=WAIT)
    await asyncio.sleep(1)
    return [m for m in await tg.messages(user.id) if m.from_bot and answered(m)]


async def test_enrolling_pressed_twice_at_once_is_told_once(gateway, tg):
    """Found by trying the bot: a double press of «Записаться бесплатно» sent «Вы записаны» and then «Вы уже
    записаны». A button that sends a message takes the first press within its window (`presses`)."""
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category, lessons=2, free_lessons=(1,))
    await wait_until_progress_knows(gateway, course)
    user, _learner = await register_learner(gateway, tg)
    card = await open_course_card(gateway, tg, user, category, course)

    told = await press_twice_at_once(tg, user, card, "✅ Записаться бесплатно", answered=has_text("записаны на курс"))

    assert [(m.text or "").split("«")[0] for m in told] == ["🎉 Вы записаны на курс "]


@needs_s3
async def test_the_transcript_pressed_twice_sends_one_pdf(gateway, tg):
    """Found by trying the bot: a double press of «📄 Справка об обучении (PDF)» sent the PDF twice."""
    user, _learner, _course = await learner_on_a_course(gateway, tg)
    mine = await tg.wait_for_reply(await tg.send_command(user, "mycourses"), has_text("100%"), timeout=WAIT)

    presses = await asyncio.gather(
        *(tg.press_button_by_text(user, mine, "📄 Справка об обучении (PDF)") for _ in range(2))
    )

    answers = [await tg.wait_for_callback_answer(press, timeout=WAIT) for press in presses]
    assert all(answer.text for answer in answers)  # both told the PDF is on its way
    await tg.wait_for_message(user.id, lambda m: m.document is not None, after=mine.message_id, timeout=20)
    await asyncio.sleep(1)
    assert sum(m.document is not None for m in await tg.messages(user.id)) == 1


@needs_s3
async def test_the_transcript_command_sent_twice_at_once_sends_one_pdf(gateway, tg):
    """Found by trying the bot: the button was guarded, the command not (two PDFs)."""
    user, _learner, _course = await learner_on_a_course(gateway, tg)

    sent = await asyncio.gather(*(tg.send_command(user, "transcript") for _ in range(2)))

    await tg.wait_for_message(user.id, lambda m: m.document is not None, after=sent[0].message_id, timeout=20)
    await tg.wait_for_message(user.id, has_text("Готовлю справку"), after=sent[0].message_id, timeout=WAIT)
    await asyncio.sleep(1)
    assert sum(m.document is not None for m in await tg.messages(user.id)) == 1


async def test_a_press_whose_action_failed_can_be_pressed_again(resources):
    telegram_id = 7_000_000_000 + secrets.randbelow(10**8)

    async def press_that_fails() -> None:
        async with first_press(resources, telegram_id, "transcript") as first:
            assert first
            raise RuntimeError("progress did not answer")

    with pytest.raises(RuntimeError):
        await press_that_fails()

    async with first_press(resources, telegram_id, "transcript") as first:
        assert first  # the failed press is forgotten: this one acts
    async with first_press(resources, telegram_id, "transcript") as again:
        assert not again  # and stands for the presses after it


async def test_a_voice_message_gets_an_answer(gateway, tg):
    gosha = TestUser.new("Gosha", language_code="ru")
    opened = await tg.send_command(gosha, "help")
    await tg.wait_for_reply(opened, has("/catalog"), timeout=WAIT)
    await tg.send_update(
        {
            "message": {
                "message_id": opened.message_id + 100,
                "date": 1_900_000_000,
                "chat": {"id": gosha.id, "type": "private", "first_name": "Gosha"},
                "from": {"id": gosha.id, "is_bot": False, "first_name": "Gosha", "language_code": "ru"},
                "voice": {"file_id": "AwACAgIAAx0", "file_unique_id": "AgADvoice", "duration": 3},
            }
        }
    )
    await tg.wait_for_message(gosha.id, has("Голосовые"), after=opened.message_id, timeout=WAIT)


async def test_an_english_speakers_number_without_a_country_code_is_not_taken_for_russian(gateway, tg):
    emma = TestUser.new("Emma", language_code="en")
    sent = await tg.send_command(emma, "start")
    consent = await tg.wait_for_reply(sent, lambda m: bool(m.inline_buttons()), timeout=WAIT)
    await tg.press_button(emma, consent.message_id, consent.inline_buttons()[0]["callback_data"])
    await tg.wait_for_message(emma.id, has("name"), after=consent.message_id, timeout=WAIT)
    await tg.wait_for_reply(await tg.send_text(emma, "Emma Stone"), has("phone"), timeout=WAIT)

    await tg.wait_for_reply(await tg.send_text(emma, "916 123 45 67"), has("country code"), timeout=WAIT)
    await tg.wait_for_reply(await tg.send_text(emma, "+44 20 7946 0958"), has("city"), timeout=WAIT)


async def test_the_end_of_polling_leaves_the_process_redis_open(resources, monkeypatch):
    """The dispatcher closes its FSM storage when polling ends; aiogram's RedisStorage.close closed the
    Redis client it was given — the process's own, which Resources owns and every other user shares (and
    which a RedisCluster refused to close that way, so stopping the gateway hung). Closing is Resources'."""
    closed: list[dict[str, object]] = []

    async def record_close(**kwargs: object) -> None:
        closed.append(kwargs)

    monkeypatch.setattr(resources.redis, "aclose", record_close)
    await conversation_storage(resources).close()
    assert closed == []
