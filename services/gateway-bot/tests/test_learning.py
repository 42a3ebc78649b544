"""Learning through the bot: enrol, open lessons (locked ones too), complete them, my courses, the transcript."""

import io

import pytest
from pypdf import PdfReader

from .learning_support import (
    enrol_and_complete,
    has_text,
    learner_on_a_course,
    needs_s3,
    new_category,
    open_course_card,
    publish_course,
    register,
    wait_for_edit,
    wait_until_progress_knows,
)

pytestmark = pytest.mark.integration


async def complete_in_bot(tg, user, lesson_message, done_count: int, total: int):
    """Press "✅ Урок пройден" under a lesson; returns the progress reply and the lesson message."""
    await tg.press_button_by_text(user, lesson_message, "✅ Урок пройден")
    if done_count == total:
        reply = await tg.wait_for_message(user.id, has_text("это был последний"), after=lesson_message.message_id)
    else:
        reply = await tg.wait_for_message(
            user.id, has_text(f"Урок {done_count} из {total} пройден"), after=lesson_message.message_id
        )
    lesson = await wait_for_edit(tg, lesson_message, has_text("✅ Урок пройден "))
    return reply, lesson


async def test_a_learner_enrols_studies_every_lesson_and_sees_the_full_bar(gateway, tg):
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category, lessons=3, free_lessons=(1,))
    await wait_until_progress_knows(gateway, course)
    user, learner = await register(gateway, tg)
    card = await open_course_card(gateway, tg, user, category, course)

    # Before enrolling: the free preview lesson is open, the others locked.
    await tg.press_button_by_text(user, card, "📖 Уроки курса")
    lessons = await wait_for_edit(tg, card, has_text("Пройдено уроков: 0 из 3"))
    labels = [b["text"] for b in lessons.inline_buttons()]
    assert labels[0].startswith("▶️ 1.")
    assert labels[1].startswith("🔒 2.")
    assert labels[2].startswith("🔒 3.")

    await tg.press_button_by_text(user, lessons, labels[1])
    locked = await wait_for_edit(tg, card, has_text("Урок откроется после записи"))
    assert "Урок 2 из 3" in locked.text
    assert not any(b.get("url") for b in locked.inline_buttons())  # no video or PDF behind the lock
    assert "✅ Урок пройден" not in {b["text"] for b in locked.inline_buttons()}

    # Enrol from the locked lesson.
    await tg.press_button_by_text(user, locked, "✅ Записаться бесплатно")
    welcome = await tg.wait_for_message(user.id, has_text("Вы записаны на курс"), after=card.message_id)
    assert course["title"] in welcome.text
    start_label = next(b["text"] for b in welcome.inline_buttons() if b["text"].startswith("▶️ Урок 1"))
    state = await gateway.clients.progress.get(f"/internal/learners/{learner['id']}/courses/{course['id']}")
    assert state["enrolled"] is True

    await tg.press_button_by_text(user, welcome, start_label)
    lesson_one = await wait_for_edit(tg, welcome, has_text("Урок 1 из 3"))
    links = {b["text"]: b.get("url") for b in lesson_one.inline_buttons()}
    assert links["▶️ Смотреть видео"] == course["lessons"][0]["video_url"]
    assert links["📄 Чек-лист (PDF)"] == course["lessons"][0]["pdf_url"]
    assert "Видео: 10 мин" in lesson_one.text

    reply, lesson_one = await complete_in_bot(tg, user, lesson_one, 1, 3)
    assert "▰▰▰▱▱▱▱▱▱▱ 33%" in reply.text
    assert "✅ Урок пройден" not in {b["text"] for b in lesson_one.inline_buttons()}  # done: the button goes
    next_label = next(b["text"] for b in reply.inline_buttons() if b["text"].startswith("➡️ Следующий урок"))
    assert "Урок 2" in next_label

    await tg.press_button_by_text(user, reply, next_label)
    lesson_two = await tg.wait_for_message(user.id, has_text("Урок 2 из 3"), after=reply.message_id)
    reply, _ = await complete_in_bot(tg, user, lesson_two, 2, 3)
    assert "▰▰▰▰▰▰▱▱▱▱ 6" in reply.text  # 66% or 67%, as progress rounds it

    next_label = next(b["text"] for b in reply.inline_buttons() if b["text"].startswith("➡️ Следующий урок"))
    await tg.press_button_by_text(user, reply, next_label)
    lesson_three = await tg.wait_for_message(user.id, has_text("Урок 3 из 3"), after=reply.message_id)
    reply, _ = await complete_in_bot(tg, user, lesson_three, 3, 3)
    assert not any(b["text"].startswith("➡️") for b in reply.inline_buttons())

    sent = await tg.send_command(user, "mycourses")
    mine = await tg.wait_for_reply(sent, has_text("Мои курсы"))
    assert "▰▰▰▰▰▰▰▰▰▰ 100%" in mine.text
    assert f"✅ {course['title']}" in mine.text
    assert "📄 Справка об обучении (PDF)" in {b["text"] for b in mine.inline_buttons()}


async def test_my_courses_shows_a_partial_bar_and_continues_with_the_next_lesson(gateway, tg):
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category, lessons=4, free_lessons=())
    await wait_until_progress_knows(gateway, course)
    user, learner = await register(gateway, tg)
    progress = gateway.clients.progress
    await progress.post(f"/internal/learners/{learner['id']}/enrolments", json={"course_id": course["id"]})
    await progress.post(f"/internal/learners/{learner['id']}/lessons/{course['lessons'][0]['id']}/complete", json={})

    sent = await tg.send_text(user, "🎓 Мои курсы")
    mine = await tg.wait_for_reply(sent, has_text("Мои курсы"))

    assert "▰▰▱▱▱▱▱▱▱▱ 25%" in mine.text
    assert "1 из 4 уроков" in mine.text
    assert "📄 Справка об обучении (PDF)" not in {b["text"] for b in mine.inline_buttons()}  # nothing completed yet
    continue_label = next(b["text"] for b in mine.inline_buttons() if b["text"].startswith("▶️"))
    await tg.press_button_by_text(user, mine, continue_label)
    lesson = await tg.wait_for_message(user.id, has_text("Урок 2 из 4"), after=mine.message_id)
    assert course["lessons"][1]["title"] in lesson.text
    assert (await tg.message(user.id, mine.message_id)).text == mine.text  # the list stays as it was


async def test_my_courses_when_empty_points_to_the_catalog(gateway, tg):
    user, _ = await register(gateway, tg)

    sent = await tg.send_command(user, "mycourses")
    empty = await tg.wait_for_reply(sent, has_text("У вас пока нет курсов"))
    await tg.press_button_by_text(user, empty, "📚 Открыть каталог")

    catalog = await wait_for_edit(tg, empty, has_text("Каталог курсов"))
    assert catalog.inline_buttons()


async def test_completing_a_lesson_twice_counts_once(gateway, tg):
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category, lessons=2, free_lessons=(1, 2))
    await wait_until_progress_knows(gateway, course)
    user, learner = await register(gateway, tg)
    await gateway.clients.progress.post(
        f"/internal/learners/{learner['id']}/enrolments", json={"course_id": course["id"]}
    )
    card = await open_course_card(gateway, tg, user, category, course)
    await tg.press_button_by_text(user, card, "▶️ Продолжить обучение")
    lesson = await wait_for_edit(tg, card, has_text("Урок 1 из 2"))
    done = next(b for b in lesson.inline_buttons() if b["text"] == "✅ Урок пройден")

    # The same button pressed twice (a double tap reaches the bot as two updates).
    first = await tg.press_button(user, lesson.message_id, done["callback_data"])
    await tg.wait_for_callback_answer(first)
    second = await tg.press_button(user, lesson.message_id, done["callback_data"], check_button=False)
    answer = await tg.wait_for_callback_answer(second)

    assert answer.text == "Этот урок уже пройден 👍"
    state = await gateway.clients.progress.get(f"/internal/learners/{learner['id']}/courses/{course['id']}")
    assert state["completed_lessons"] == 1


async def test_a_completed_lesson_is_shown_completed_from_progress_answer_without_asking_progress_again(
    gateway, tg, monkeypatch
):
    """Issue 11: the lesson's message turns «completed» from the completion's answer; progress is asked once
    (the completion), not a second time for the whole course."""
    course = await publish_course(gateway, category=await new_category(gateway), lessons=2, free_lessons=())
    await wait_until_progress_knows(gateway, course)
    user, learner = await register(gateway, tg)
    await enrol_and_complete(gateway, learner, course, lessons=0)
    mine = await tg.wait_for_reply(await tg.send_command(user, "mycourses"), has_text("Мои курсы"))
    await tg.press_button_by_text(user, mine, next(b["text"] for b in mine.inline_buttons() if b["text"][0] == "▶"))
    lesson = await tg.wait_for_message(user.id, has_text("Урок 1 из 2"), after=mine.message_id)

    asked: list[tuple[str, str]] = []
    progress = gateway.clients.progress
    request = progress.request

    async def recorded(method, path, **kwargs):
        asked.append((method, path))
        return await request(method, path, **kwargs)

    monkeypatch.setattr(progress, "request", recorded)
    _, lesson = await complete_in_bot(tg, user, lesson, 1, 2)

    assert "✅ Урок пройден " in lesson.text  # «… on <date>»
    assert "✅ Урок пройден" not in {b["text"] for b in lesson.inline_buttons()}
    assert any(b["text"] == "▶️ Смотреть видео" for b in lesson.inline_buttons())  # the content is still there
    assert asked == [("POST", f"/internal/learners/{learner['id']}/lessons/{course['lessons'][0]['id']}/complete")]


async def test_the_transcript_before_any_completed_course_says_what_to_do(gateway, tg):
    user, _ = await register(gateway, tg)

    sent = await tg.send_command(user, "transcript")

    reply = await tg.wait_for_reply(sent, has_text("Справка об обучении появится"))
    assert reply.document is None


@needs_s3
async def test_the_transcript_arrives_as_a_pdf_naming_the_completed_course(gateway, tg):
    user, _learner, course = await learner_on_a_course(gateway, tg)

    sent = await tg.send_command(user, "mycourses")
    mine = await tg.wait_for_reply(sent, has_text("100%"))
    await tg.press_button_by_text(user, mine, "📄 Справка об обучении (PDF)")

    document = await tg.wait_for_message(user.id, lambda m: m.document is not None, after=mine.message_id, timeout=20)
    assert document.document["file_name"] == "transcript.pdf"
    assert "пройден 1 курс" in document.caption
    pdf = await tg.download_document(document.file_id)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Справка об обучении" in text  # what the bot calls it
    assert course["title"] in text
