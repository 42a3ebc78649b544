"""The learner's rights in the chat (152-ФЗ): «Мои данные» (a summary and the JSON file of everything the
platform holds), and withdrawing consent (explained, confirmed, erased once however often it is pressed,
nothing of the learner left in the gateway's tables or Redis, and /start registering them afresh)."""

import asyncio
import json
import time
from datetime import datetime

import pytest
from academy_gateway_bot import redis_keys
from academy_gateway_bot.learners import LearnerRepository
from academy_gateway_bot.personal_data import EXPORT_FILENAME
from academy_tg_emulator.client import ChatMessage, TestUser
from academy_tg_emulator.testing import make_png

from .erasure_support import gateway_rows, needs_s3, redis_keys_naming, redis_values_naming, tombstone
from .learning_support import (
    enrol_and_complete,
    fund,
    has_text,
    new_category,
    publish_course,
    unique,
    wait_for_edit,
    wait_until_progress_knows,
)
from .test_registration import learner_in_users, register

pytestmark = pytest.mark.integration

WAIT = 20.0


async def open_profile(tg, user: TestUser) -> ChatMessage:
    return await tg.wait_for_reply(await tg.send_command(user, "profile"), has_text("Имя:"), timeout=WAIT)


async def keys_left(
    resources, telegram_id: int, user_id: int, *, allowed: frozenset[str] = frozenset(), timeout: float = 10.0
) -> list[str]:
    """The run's Redis keys naming the learner, once none but `allowed` are left (an update's
    events-isolation lock goes when the update's handling ends, a moment after its last answer); what is
    left at the deadline otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        left = await redis_keys_naming(resources, telegram_id, user_id)
        if set(left) <= allowed or time.monotonic() > deadline:
            return left
        await asyncio.sleep(0.1)


@needs_s3
async def test_my_data_sends_a_summary_and_a_json_file_of_everything_held(gateway, tg, resources):
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category, lessons=2)
    await wait_until_progress_knows(gateway, course)
    user = TestUser.new("Data", language_code="ru")
    await register(tg, user, full_name="Дарья Данилова", phone="+7 916 555-01-02", city="Казань")
    learner = await learner_in_users(gateway, user.id)
    assert learner is not None
    await enrol_and_complete(gateway, learner, course, 1)
    await fund(gateway, learner["id"], 120)
    users = gateway.clients.users
    await users.upload_avatar(learner["id"], make_png(64, 64), "image/png", idempotency_key=unique("avatar"))
    card = await open_profile(tg, user)

    await tg.press_button_by_text(user, card, "📄 Мои данные")
    summary = await tg.wait_for_message(user.id, has_text("Что мы храним"), after=card.message_id, timeout=WAIT)
    file = await tg.wait_for_message(user.id, lambda m: m.document is not None, after=card.message_id, timeout=WAIT)

    assert "фото профиля (сейчас: 1)" in summary.text
    assert "курсы (сейчас: 1)" in summary.text
    assert file.document is not None
    assert file.document["file_name"] == EXPORT_FILENAME
    data = json.loads(await tg.download_document(file.file_id or ""))
    assert data["user_id"] == learner["id"]
    exported_users = json.dumps(data["users"], ensure_ascii=False)
    assert "Дарья Данилова" in exported_users
    assert "+79165550102" in exported_users
    assert "Казань" in exported_users
    assert len(data["users"]["avatars"]) == 1
    assert [e["course_id"] for e in data["progress"]["enrolments"]] == [course["id"]]
    lessons = data["progress"]["lessons_by_course"][str(course["id"])]
    assert [lesson["completed"] for lesson in lessons] == [True, False]
    assert data["gamification"]["points"]["total_points"] >= 50  # the welcome points at least
    coins = data["billing"]["wallet"]["coins"]
    assert coins >= 120  # the operator's 120 and whatever achievements brought
    assert 120 in [t["amount"] for t in data["billing"]["transactions"]]
    assert f"баланс ({coins} " in summary.text
    unlocked = [a for a in data["gamification"]["achievements"] if a["unlocked"]]
    assert f"достижения ({len(unlocked)})" in summary.text
    assert data["gateway_bot"]["chat"]["telegram_id"] == user.id
    assert any("баллов" in n["text"] for n in data["gateway_bot"]["notifications"])
    # Every moment in the file is ISO 8601, the gateway's own included.
    for notification in data["gateway_bot"]["notifications"]:
        moments = [notification["queued_at"]] + ([notification["sent_at"]] if notification["status"] == "sent" else [])
        for moment in moments:
            assert datetime.fromisoformat(moment).isoformat() == moment
            assert "T" in moment

    # The command does the same.
    sent = await tg.send_command(user, "mydata")
    await tg.wait_for_reply(sent, lambda m: m.document is not None, timeout=WAIT)


async def test_withdrawing_consent_is_explained_and_can_be_called_off(gateway, tg):
    user = TestUser.new("Keep", language_code="ru")
    await register(tg, user, full_name="Ксения Остаётся")
    card = await open_profile(tg, user)

    await tg.press_button_by_text(user, card, "🗑 Отозвать согласие / удалить аккаунт")
    question = await tg.wait_for_message(user.id, has_text("Удалить аккаунт?"), after=card.message_id, timeout=WAIT)
    assert "Платежи и покупки останутся в учёте без вашего имени" in question.text
    assert "/start" in question.text
    await tg.press_button_by_text(user, question, "✖️ Нет, оставить")

    await wait_for_edit(tg, question, has_text("ничего не удаляем"), timeout=WAIT)
    assert await learner_in_users(gateway, user.id) is not None

    # The confirmation of that same question, delivered after «Нет» (an old client, a late retry): stale.
    yes = question.button("🗑 Да, удалить мои данные")["callback_data"]
    late = await tg.press_button(user, question.message_id, yes, check_button=False)
    answer = await tg.wait_for_callback_answer(late, timeout=WAIT)
    assert "устарел" in (answer.text or "")
    assert "ничего не удаляем" in (answer.text or "")
    assert await learner_in_users(gateway, user.id) is not None

    # Asked twice: the first question's confirmation is stale, the second one's acts.
    await tg.press_button_by_text(user, card, "🗑 Отозвать согласие / удалить аккаунт")
    older = await tg.wait_for_message(user.id, has_text("Удалить аккаунт?"), after=question.message_id, timeout=WAIT)
    await tg.press_button_by_text(user, card, "🗑 Отозвать согласие / удалить аккаунт")
    newer = await tg.wait_for_message(user.id, has_text("Удалить аккаунт?"), after=older.message_id, timeout=WAIT)
    stale = await tg.press_button_by_text(user, older, "🗑 Да, удалить мои данные")
    assert "устарел" in ((await tg.wait_for_callback_answer(stale, timeout=WAIT)).text or "")
    assert await learner_in_users(gateway, user.id) is not None
    await tg.press_button_by_text(user, newer, "✖️ Нет, оставить")
    await wait_for_edit(tg, newer, has_text("ничего не удаляем"), timeout=WAIT)
    # A forged confirmation without the question's reference (or a button from before it had one) is stale too.
    forged = await tg.press_button(user, newer.message_id, yes.rsplit(":", 1)[0] + ":", check_button=False)
    assert "устарел" in ((await tg.wait_for_callback_answer(forged, timeout=WAIT)).text or "")
    assert await learner_in_users(gateway, user.id) is not None


@needs_s3
async def test_withdrawing_consent_erases_the_learner_once_and_start_registers_them_afresh(
    gateway, tg, resources, services
):
    user = TestUser.new("Gone", language_code="ru")
    await register(tg, user, full_name="Эльвира Ушедшая", phone="+7 916 777-66-55")
    learner = await learner_in_users(gateway, user.id)
    assert learner is not None
    user_id = learner["id"]
    # Something of theirs in the conversation too: a photo offered as the avatar, waiting for an answer.
    offer = await tg.wait_for_reply(
        await tg.send_photo(user, make_png(32, 32)), has_text("Сделать это фото аватаром?"), timeout=WAIT
    )
    assert await redis_keys_naming(resources, user.id)
    card = await open_profile(tg, user)
    await tg.press_button_by_text(user, card, "🗑 Отозвать согласие / удалить аккаунт")
    question = await tg.wait_for_message(user.id, has_text("Удалить аккаунт?"), after=card.message_id, timeout=WAIT)

    yes = question.button("🗑 Да, удалить мои данные")["callback_data"]
    first = await tg.press_button(user, question.message_id, yes)
    second = await tg.press_button(user, question.message_id, yes)  # a double tap: no second erasure, no error
    done = await tg.wait_for_message(user.id, has_text("ваши данные удалены"), after=question.message_id, timeout=WAIT)
    await tg.wait_for_callback_answer(first, timeout=WAIT)
    second_answer = await tg.wait_for_callback_answer(second, timeout=WAIT)

    assert "/start" in done.text
    assert done.reply_markup == {"remove_keyboard": True}  # the menu goes with the account
    assert "уже удалён" in (second_answer.text or "")
    said = [m.text or "" for m in await tg.messages(user.id, after=question.message_id)]
    assert sum("ваши данные удалены" in text for text in said) == 1
    assert await learner_in_users(gateway, user.id) is None
    # The gateway forgot them at once: no row, no Redis key by their Telegram or user id, no answer of theirs.
    assert await gateway_rows(resources, user_id=user_id, telegram_id=user.id) == {
        "learners": 0,
        "user_states": 0,
        "notification_log": 0,
    }
    # The one key that may name their Telegram id now is the throttling counter the second press started
    # (a Telegram user, registered or not, is counted): it counts that press alone, the counts of the erased
    # account's updates went with it.
    counter = redis_keys.throttle(resources.settings.redis_prefix, user.id)
    left = await keys_left(resources, user.id, user_id, allowed=frozenset({counter}))
    assert left in ([], [counter])
    if left:
        assert await resources.redis.get(left[0]) in (b"1", "1")
    assert await redis_values_naming(resources, "Эльвира") == []
    assert await tombstone(resources, user_id) is not None
    # The offer of the photo went with the conversation.
    late_yes = await tg.press_button_by_text(user, offer, "✅ Да")
    assert "не зарегистрированы" in ((await tg.wait_for_callback_answer(late_yes, timeout=WAIT)).text or "")

    # users.user_erased.v2 arrives later and finds nothing more to do; a late registration event of the old
    # id (a redelivery) brings nothing back.
    async with resources.sessionmaker() as session:
        assert await LearnerRepository(session).is_erased(user_id)

    # /start: the consent again, a registration from scratch, a new account.
    welcome = await register(tg, user, full_name="Эльвира Вернувшаяся", phone="+7 916 777-66-55")
    assert "Эльвира" in welcome.text
    again = await learner_in_users(gateway, user.id)
    assert again is not None
    assert again["id"] != user_id
    assert again["full_name"] == "Эльвира Вернувшаяся"

    # The old confirmation, pressed now, belongs to the erased account: the new one stays.
    stale = await tg.press_button(user, question.message_id, yes, check_button=False)  # an old client's keyboard
    assert (await tg.wait_for_callback_answer(stale, timeout=WAIT)).show_alert
    assert await learner_in_users(gateway, user.id) is not None
