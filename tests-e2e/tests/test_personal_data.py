"""A learner's personal data from registration to erasure, through the Bot API and YooKassa emulators,
against every service as a process (issue 10, «Done means»):

register with distinctive values → learn a whole course (a transcript PDF in S3) → top up through
YooKassa and buy a course with coins → set two avatars (from the profile, then a photo sent any time and
confirmed) → go back to the first → «Мои данные» sends a JSON file holding them → withdraw consent →
nothing of them remains in any table of any schema (outboxes, inboxes, idempotency and audit records
included), in Redis or in the S3 bucket → /start registers a new learner from scratch.
"""

from __future__ import annotations

import asyncio
import io
import json
import secrets
import time
from typing import Any

import asyncpg
import pytest
from academy_tg_emulator.client import EmulatorClient, TestUser
from PIL import Image

from .helpers import api_get, button_like, press, screen, start, text_has
from .leftovers import find_leftovers
from .test_money import open_course_card, pay_on_yookassas_page

pytestmark = pytest.mark.e2e

FREE_COURSE = "Основы маникюра: первые шаги"  # the demo catalog's free manicure course (3 lessons)
LESSONS = 3
WALLET_COURSE = "Смарт-педикюр за 60 минут"  # 2 900 ₽
FULL_NAME = "Зинаида Уникальнова"
SURNAME = "Уникальнова"
PHONE_FORMS = ("+79123456789", "79123456789", "9123456789", "912 345-67-89", "345-67-89")
CITY = "Урюпинск"
USERNAME = "zina_unique_9137"


def photo(colour: tuple[int, int, int], size: tuple[int, int]) -> bytes:
    """A JPEG as a phone camera makes one: with EXIF (a GPS position included) the avatar must not keep."""
    image = Image.new("RGB", size, colour)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (50.0, 48.0, 0.0)  # GPSLatitudeRef, GPSLatitude: Урюпинск
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=90)
    return buffer.getvalue()


async def make_the_next_user_id_distinctive(e2e) -> None:
    """Learner ids of a young test database are 1, 2, 3: numbers that name pages, limits and courses in
    keys too. The platform of this test has had many learners already: the next id is a number that
    appears nowhere by chance, so a key or object still naming it is the learner's."""
    connection = await asyncpg.connect(e2e.platform.admin_dsn())
    try:
        sequence = await connection.fetchval("SELECT pg_get_serial_sequence('users.users', 'id')")
        await connection.execute("SELECT setval($1::regclass, $2)", sequence, 7_340_000 + secrets.randbelow(9_999))
    finally:
        await connection.close()


async def open_profile(tg: EmulatorClient, user: TestUser):
    sent = await tg.send_text(user, "👤 Профиль")
    return await tg.wait_for_reply(sent, lambda m: "Профиль" in (m.content or "") and button_like("Мои данные")(m))


async def learn_the_free_course(tg: EmulatorClient, user: TestUser) -> None:
    await tg.send_text(user, "📚 Каталог курсов")
    catalog = await screen(tg, user, button_like("Маникюр"))
    await press(tg, user, catalog, "Маникюр")
    courses = await screen(tg, user, button_like(FREE_COURSE))
    await press(tg, user, courses, FREE_COURSE)
    card = await screen(tg, user, button_like("Записаться бесплатно"))
    await press(tg, user, card, "Записаться бесплатно")
    lesson_button = await screen(tg, user, button_like("Урок 1"))
    await press(tg, user, lesson_button, "Урок 1")
    for done in range(1, LESSONS + 1):
        # This lesson's screen (not the one before it, whose button may not be gone yet).
        lesson = await screen(
            tg,
            user,
            lambda m, n=done: f"Урок {n} из {LESSONS}." in (m.content or "") and button_like("Урок пройден")(m),
        )
        await press(tg, user, lesson, "Урок пройден")
        if done < LESSONS:
            progress = await screen(tg, user, text_has(f"Урок {done} из {LESSONS} пройден"))
            await press(tg, user, progress, "Следующий урок")
    await screen(tg, user, text_has("Поздравляем! Вы прошли курс", FREE_COURSE), timeout=30)


async def buy_with_coins(tg: EmulatorClient, e2e, user: TestUser) -> None:
    await tg.send_text(user, "💰 Баланс")
    wallet = await screen(tg, user, button_like("Пополнить"))
    await press(tg, user, wallet, "Пополнить")
    amounts = await screen(tg, user, button_like("Другая сумма"))
    await press(tg, user, amounts, "Другая сумма")
    await screen(tg, user, text_has("Напишите сумму"))
    await tg.send_text(user, "2900")
    pay = await screen(tg, user, button_like("Оплатить 2\u00a0900 ₽"))
    [url] = [b["url"] for b in pay.inline_buttons() if "url" in b]
    await pay_on_yookassas_page(e2e, url)
    await screen(tg, user, text_has("Баланс пополнен", "+2\u00a0900 монет"), timeout=30)
    card = await open_course_card(tg, user, "Педикюр", WALLET_COURSE)
    await press(tg, user, card, "Купить за 2\u00a0900 монет")
    confirm = await screen(tg, user, button_like("Подтвердить покупку"))
    await press(tg, user, confirm, "Подтвердить покупку")
    await screen(tg, user, text_has("открыт", WALLET_COURSE), timeout=30)


async def find_leftovers_now(e2e, **searched: Any) -> list[str]:
    settings = e2e.settings("users")
    return await find_leftovers(e2e.platform, redis_prefix=settings.redis_prefix, bucket=settings.s3_bucket, **searched)


async def wait_for_nothing_left(e2e, **searched: Any) -> list[str]:
    """What remains after the erasure has had time to reach every service (events are asynchronous)."""
    deadline = time.monotonic() + 45
    while True:
        left = await find_leftovers_now(e2e, **searched)
        if not left or time.monotonic() > deadline:
            return left
        await asyncio.sleep(1)


async def test_a_learner_sets_avatars_downloads_their_data_withdraws_consent_and_nothing_of_them_remains(  # noqa: PLR0915 - one story
    tg, e2e
):
    zina = TestUser.new("Зинаида", username=USERNAME, language_code="ru")
    await make_the_next_user_id_distinctive(e2e)
    await start(tg, zina, full_name=FULL_NAME, phone="+7 912 345-67-89", city=CITY)
    learner = await api_get(e2e, "users", f"/internal/users/by-telegram/{zina.id}")
    user_id = learner["id"]

    # Learning (a transcript PDF with her name goes to S3) and paying with coins.
    await learn_the_free_course(tg, zina)
    await tg.send_command(zina, "transcript")
    await screen(tg, zina, lambda m: m.document is not None and "pdf" in str(m.document.get("mime_type")), timeout=30)
    await buy_with_coins(tg, e2e, zina)

    # Two avatars: from the profile, then a photo sent any time and confirmed; back to the first.
    first, second = photo((200, 40, 90), (900, 600)), photo((20, 120, 200), (640, 960))
    profile = await open_profile(tg, zina)
    await press(tg, zina, profile, "Сменить фото")
    await screen(tg, zina, text_has("Пришлите фото"))
    await tg.send_photo(zina, first)
    await screen(tg, zina, text_has("Фото профиля обновлено"), timeout=30)
    sent = await tg.send_photo(zina, second)
    offer = await tg.wait_for_reply(sent, button_like("Да"), timeout=20)
    await press(tg, zina, offer, "Да")
    await screen(tg, zina, lambda m: m.message_id >= offer.message_id and "Фото профиля обновлено" in (m.content or ""))
    history = await api_get(e2e, "users", f"/internal/users/{user_id}/avatars")
    assert len(history) == 2
    assert history[0]["is_current"]
    profile = await open_profile(tg, zina)
    assert profile.photo, "the profile card is a photo once the learner has an avatar"
    await press(tg, zina, profile, "Мои фото")
    photos = await screen(tg, zina, button_like("Вернуть №2"))
    await press(tg, zina, photos, "Вернуть №2")  # №1 is the newest: №2 is the first photo
    await screen(tg, zina, text_has("снова в вашем профиле"))
    history = await api_get(e2e, "users", f"/internal/users/{user_id}/avatars")
    assert [a["is_current"] for a in history] == [False, True]

    # «Мои данные»: a JSON file with what is stored about her.
    profile = await open_profile(tg, zina)
    await press(tg, zina, profile, "Мои данные")
    document = await screen(tg, zina, lambda m: m.document is not None and "json" in str(m.document.get("file_name")))
    exported = json.loads(await tg.download_document(str(document.file_id)))
    dumped = json.dumps(exported, ensure_ascii=False)
    assert FULL_NAME in dumped
    assert "9123456789" in dumped.replace(" ", "").replace("-", "")
    assert len(exported["users"]["avatars"]) == 2
    assert exported["progress"]["transcripts"]["files"], "the transcript PDF made above is listed"

    # The search finds her everywhere before the erasure (so that an empty answer after it means something).
    values = [FULL_NAME, SURNAME, *PHONE_FORMS, CITY, USERNAME, str(zina.id)]
    before = await find_leftovers_now(e2e, values=values, user_ids=[user_id], images=[first, second])
    assert {hit.split(" ", 1)[0] for hit in before} == {"PostgreSQL", "Redis", "S3"}, before

    # Withdraw consent: explained, confirmed, done.
    profile = await open_profile(tg, zina)
    await press(tg, zina, profile, "Отозвать согласие")
    confirm = await screen(tg, zina, button_like("Да, удалить мои данные"))
    await press(tg, zina, confirm, "Да, удалить мои данные")
    await screen(tg, zina, text_has("Согласие отозвано"), timeout=30)

    left = await wait_for_nothing_left(e2e, values=values, user_ids=[user_id], images=[first, second])
    assert not left, "\n".join(left)

    # Back with /start: a new learner, nothing of the old one.
    await start(tg, zina, full_name=FULL_NAME, phone="+7 912 345-67-89", city=CITY)
    again = await api_get(e2e, "users", f"/internal/users/by-telegram/{zina.id}")
    assert again["id"] != user_id
    assert await api_get(e2e, "users", f"/internal/users/{again['id']}/avatars") == []
    points = await api_get(e2e, "gamification", f"/internal/learners/{again['id']}/points")
    assert points["lessons_completed"] == 0
    assert points["courses_completed"] == 0
