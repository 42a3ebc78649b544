"""Points, level, achievements and the leaderboards, as the learner sees them in the bot."""

import asyncio
import re
import time

import pytest

from .learning_support import (
    has_text,
    new_category,
    publish_course,
    register,
    unique,
    wait_for_edit,
    wait_until_progress_knows,
)

pytestmark = pytest.mark.integration

CYRILLIC = re.compile("[А-Яа-яЁё]")


async def study(gateway, learner: dict, course: dict, lessons: int) -> None:
    """Enrol and complete the first `lessons` lessons through progress, then wait for gamification's points."""
    progress = gateway.clients.progress
    await progress.post(f"/internal/learners/{learner['id']}/enrolments", json={"course_id": course["id"]})
    for lesson in course["lessons"][:lessons]:
        await progress.post(f"/internal/learners/{learner['id']}/lessons/{lesson['id']}/complete", json={})
    deadline = time.monotonic() + 15
    while True:
        points = await gateway.clients.gamification.get(f"/internal/learners/{learner['id']}/points")
        if points["lessons_completed"] == lessons:
            return
        assert time.monotonic() < deadline, f"gamification never counted {lessons} lessons: {points}"
        await asyncio.sleep(0.1)


async def test_points_level_and_achievements_unlocked_and_ahead(gateway, tg):
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category, lessons=3)
    await wait_until_progress_knows(gateway, course)
    user, learner = await register(gateway, tg)
    await study(gateway, learner, course, lessons=2)
    points = await gateway.clients.gamification.get(f"/internal/learners/{learner['id']}/points")

    sent = await tg.send_text(user, "🏆 Баллы и достижения")
    screen = await tg.wait_for_reply(sent, has_text("Баллы и достижения"))

    assert f"Баллы: {points['total_points']}" in screen.text
    assert f"Уровень {points['level']} — «{points['level_title_ru']}»" in screen.text
    if points["next_level_points"] is not None:
        assert f"До следующего уровня: {points['next_level_points'] - points['total_points']} баллов" in screen.text
    assert "Серия: 1 день подряд" in screen.text
    assert "Уроков пройдено: 2" in screen.text
    assert "Получено (1):" in screen.text
    assert "🏅 Первый шаг —" in screen.text  # first lesson, with its date
    assert "🔒 Усердный ученик — 2/10" in screen.text  # ten lessons: two done
    assert "📊 Рейтинг" in {b["text"] for b in screen.inline_buttons()}


async def test_leaderboards_overall_by_city_and_by_category_with_my_rank(gateway, tg):
    city = unique("Тестоград")
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category, lessons=3)
    await wait_until_progress_knows(gateway, course)
    _, leader = await register(gateway, tg, city=city, full_name="Вера Лидерова")
    user, learner = await register(gateway, tg, city=city, full_name="Анна Вторая")
    _, elsewhere = await register(gateway, tg, city="Москва", full_name="Ольга Москвина")
    await study(gateway, leader, course, lessons=3)
    await study(gateway, learner, course, lessons=1)
    await study(gateway, elsewhere, course, lessons=2)

    sent = await tg.send_command(user, "achievements")
    screen = await tg.wait_for_reply(sent, has_text("Баллы и достижения"))
    await tg.press_button_by_text(user, screen, "📊 Рейтинг")
    overall = await wait_for_edit(tg, screen, has_text("Рейтинг · 🌍 Общий"))
    assert "Вы на " in overall.text
    tabs = {b["text"] for b in overall.inline_buttons()}
    assert "• 🌍 Общий •" in tabs
    city_tab = f"🏙 {city}"
    assert city_tab in tabs
    category_tab = next(label for label in tabs if category in label)

    await tg.press_button_by_text(user, overall, city_tab)
    by_city = await wait_for_edit(tg, screen, has_text(f"Рейтинг · 🏙 {city}"))
    # Display names: the first name and the initial of the last name, never the full name.
    assert "🥇 Вера Л." in by_city.text
    assert "🥈 Анна В." in by_city.text
    assert "Лидерова" not in by_city.text
    assert "Ольга М." not in by_city.text  # another city
    assert "Вы на 2 месте" in by_city.text

    await tg.press_button_by_text(user, by_city, category_tab)
    by_category = await wait_for_edit(tg, screen, has_text(f"Рейтинг · 📂 Нейл-арт {category}"))
    lines = by_category.text.splitlines()
    ranked = [line for line in lines if line.startswith(("🥇", "🥈", "🥉"))]
    assert [line.split(" — ")[0] for line in ranked] == ["🥇 Вера Л.", "🥈 Ольга М.", "🥉 Анна В."]
    assert "Вы на 3 месте" in by_category.text

    await tg.press_button_by_text(user, by_category, "⬅️ К достижениям")
    await wait_for_edit(tg, screen, has_text("Баллы и достижения"))


async def test_an_english_speaking_learner_reads_achievements_and_leaderboards_in_english(gateway, tg):
    city = unique("Testville")
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category, lessons=3)
    await wait_until_progress_knows(gateway, course)
    _, leader = await register(gateway, tg, city=city, language_code="en", full_name="Vera Lead")
    user, learner = await register(gateway, tg, city=city, language_code="en", full_name="Ann Second")
    await study(gateway, leader, course, lessons=3)
    await study(gateway, learner, course, lessons=1)

    sent = await tg.send_command(user, "achievements")
    screen = await tg.wait_for_reply(sent, has_text("Points & achievements"))

    assert "🔥 Streak: 1 day in a row" in screen.text
    assert "Unlocked (1):" in screen.text
    # A date as English writes it, not the Russian 05.03.2025.
    assert re.search(r"🏅 First step — \d{1,2} [A-Z][a-z]{2} \d{4}$", screen.text, re.MULTILINE), screen.text
    assert not CYRILLIC.search(screen.text), screen.text

    await tg.press_button_by_text(user, screen, "📊 Leaderboard")
    overall = await wait_for_edit(tg, screen, has_text("Leaderboard · 🌍 Overall"))
    await tg.press_button_by_text(user, overall, f"🏙 {city}")
    by_city = await wait_for_edit(tg, screen, has_text(f"Leaderboard · 🏙 {city}"))
    assert "🥇 Vera L." in by_city.text
    assert re.search(r"👉 You are #2 with [\d,]+ points", by_city.text), by_city.text
    assert not CYRILLIC.search(by_city.text), by_city.text
    assert "⬅️ Achievements" in {b["text"] for b in by_city.inline_buttons()}


async def test_a_learner_hides_their_name_on_the_leaderboards_and_shows_it_again(gateway, tg):
    city = unique("Анонимск")
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category, lessons=3)
    await wait_until_progress_knows(gateway, course)
    leader_user, leader = await register(gateway, tg, city=city, full_name="Вера Первая")
    user, learner = await register(gateway, tg, city=city, full_name="Инна Скрытная")
    await study(gateway, leader, course, lessons=3)
    await study(gateway, learner, course, lessons=1)

    sent = await tg.send_command(user, "leaderboard")
    overall = await tg.wait_for_reply(sent, has_text("Рейтинг · 🌍 Общий"))
    await tg.press_button_by_text(user, overall, f"🏙 {city}")
    by_city = await wait_for_edit(tg, overall, has_text(f"Рейтинг · 🏙 {city}"))
    assert "🥈 Инна С." in by_city.text
    assert "🙈 Скрыть моё имя в рейтинге" in {b["text"] for b in by_city.inline_buttons()}

    await tg.press_button_by_text(user, by_city, "🙈 Скрыть моё имя в рейтинге")
    hidden = await wait_for_edit(tg, overall, has_text("Вы участвуете анонимно"))
    assert f"Рейтинг · 🏙 {city}" in hidden.text  # the same tab, shown again
    assert "🥈 Участник №2 (вы)" in hidden.text  # the learner still finds themselves
    assert "Инна" not in hidden.text
    assert "👤 Показывать моё имя в рейтинге" in {b["text"] for b in hidden.inline_buttons()}

    # Another learner of the city sees the place, not the name.
    sent = await tg.send_command(leader_user, "leaderboard")
    theirs = await tg.wait_for_reply(sent, has_text("Рейтинг · 🌍 Общий"))
    await tg.press_button_by_text(leader_user, theirs, f"🏙 {city}")
    theirs = await wait_for_edit(tg, theirs, has_text(f"Рейтинг · 🏙 {city}"))
    assert "🥇 Вера П." in theirs.text
    assert "🥈 Участник №2 —" in theirs.text
    assert "Инна" not in theirs.text
    assert "(вы)" not in theirs.text

    await tg.press_button_by_text(user, hidden, "👤 Показывать моё имя в рейтинге")
    shown = await wait_for_edit(tg, overall, has_text("🥈 Инна С."))
    assert "Вы участвуете анонимно" not in shown.text
