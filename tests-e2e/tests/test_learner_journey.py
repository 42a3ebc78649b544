"""A whole learner, through the emulator, against every service as a process and the demo catalog.

Register with consent → browse a category → open a course → enrol in a free one → complete every
lesson → the course-completed and achievement messages and the points arrive → my courses shows
100% → the transcript PDF names the course → the communities of the learner's city are offered.
"""

from __future__ import annotations

import io

import pypdf
import pytest
from academy_tg_emulator.client import TestUser

from .helpers import api_get, button_like, press, screen, start, text_has

pytestmark = pytest.mark.e2e

COURSE = "Основы маникюра: первые шаги"  # the demo catalog's free manicure course (3 lessons)
LESSONS = 3


async def test_a_learner_registers_learns_a_whole_course_and_gets_the_rewards_and_the_transcript(tg, e2e):
    olga = TestUser.new("Ольга", language_code="ru")
    await start(tg, olga, full_name="Ольга Иванова", city="Казань")
    learner = await api_get(e2e, "users", f"/internal/users/by-telegram/{olga.id}")
    assert learner["consent_personal_data"] is True
    assert learner["city"] == "Казань"

    # Browse: the catalog → the manicure category → the free course's card → enrol.
    await tg.send_text(olga, "📚 Каталог курсов")
    catalog = await screen(tg, olga, button_like("Маникюр"))
    await press(tg, olga, catalog, "Маникюр")
    courses = await screen(tg, olga, button_like(COURSE))
    await press(tg, olga, courses, COURSE)
    card = await screen(tg, olga, button_like("Записаться бесплатно"))
    assert COURSE in card.content
    assert f"Уроков: {LESSONS}" in card.content
    assert "Цена: Бесплатно" in card.content
    await press(tg, olga, card, "Записаться бесплатно")
    enrolled = await screen(tg, olga, text_has("Вы записаны на курс", COURSE))

    # Learn: open each lesson and mark it completed, following the bot's "next lesson" buttons.
    lesson_button = await screen(tg, olga, button_like("Урок 1"))
    assert lesson_button.message_id >= enrolled.message_id
    await press(tg, olga, lesson_button, "Урок 1")
    for done in range(1, LESSONS + 1):
        lesson = await screen(tg, olga, button_like("Урок пройден"))
        await press(tg, olga, lesson, "Урок пройден")
        if done < LESSONS:
            progress = await screen(tg, olga, text_has(f"Урок {done} из {LESSONS} пройден"))
            await press(tg, olga, progress, "Следующий урок")
    await screen(tg, olga, text_has("это был последний"))

    # Rewards arrive as notifications: the course, the achievements, the points.
    await screen(tg, olga, text_has("Поздравляем! Вы прошли курс", COURSE), timeout=30)
    await screen(tg, olga, text_has("Новое достижение"), timeout=30)
    points = await api_get(e2e, "gamification", f"/internal/learners/{learner['id']}/points")
    assert points["lessons_completed"] == LESSONS
    assert points["courses_completed"] == 1
    achievements = await api_get(e2e, "gamification", f"/internal/learners/{learner['id']}/achievements")
    unlocked = {a["code"] for a in achievements["items"] if a["unlocked"]}
    assert {"first_lesson", "first_course_completed"} <= unlocked, unlocked
    # welcome + a lesson's points per lesson + the course's + every unlocked achievement's
    expected = 50 + LESSONS * 10 + 100 + sum(a["points"] for a in achievements["items"] if a["unlocked"])
    assert points["total_points"] == expected

    # My courses: the course at 100%.
    await tg.send_text(olga, "🎓 Мои курсы")
    mine = await screen(tg, olga, text_has("Мои курсы", COURSE))
    assert "100%" in mine.content

    # The transcript: a PDF document whose text names the course.
    await tg.send_command(olga, "transcript")
    document = await screen(tg, olga, lambda m: m.document is not None, timeout=30)
    pdf = await tg.download_document(str(document.file_id))
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert COURSE in text

    # Communities: the chat of Kazan and the manicure profession chat, as links.
    await tg.send_text(olga, "👥 Сообщества")
    communities = await screen(tg, olga, text_has("Сообщества", "Мастера Казани"))
    assert "Мастера Москвы" not in communities.content
    links = [str(b.get("url", "")) for b in communities.inline_buttons()]
    assert any(link.startswith("https://t.me/") for link in links)
    assert "Маникюр" in communities.content
