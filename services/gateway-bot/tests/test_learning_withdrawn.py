"""Courses and lessons withdrawn while learners are on them (issue 8, case 11): progress decides, the bot
follows. A learner keeps a course the operator archives, a removed lesson leads to the next one, an
enrolment refused says why, and no screen is left without a way on."""

import pytest
from academy_gateway_bot.handlers.learning import LearnerCourseView, next_lesson
from academy_runtime.client import ServiceCallError
from academy_tg_emulator.client import ChatMessage

from .learning_support import (
    archive_course,
    bot_messages,
    catalog_editor,
    enrol_and_complete,
    has_text,
    new_category,
    open_course_card,
    publish_course,
    register,
    unique,
    wait_for_edit,
    wait_for_progress,
    wait_until_progress_knows,
)


def labels(message) -> set[str]:
    return {b["text"] for b in message.inline_buttons()}


async def open_first_lesson(tg, user, course: dict) -> ChatMessage:
    """The course's first lesson, opened from /mycourses (a new message)."""
    sent = await tg.send_command(user, "mycourses")
    mine = await tg.wait_for_reply(sent, has_text("Мои курсы"))
    await tg.press_button_by_text(user, mine, f"▶️ {course['title']}")
    total = len(course["lessons"])
    return await tg.wait_for_message(user.id, has_text(f"Урок 1 из {total}"), after=mine.message_id)


@pytest.mark.integration
async def test_a_learner_keeps_an_archived_course_and_finishes_it(gateway, tg):
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category, lessons=3, free_lessons=())
    await wait_until_progress_knows(gateway, course)
    user, learner = await register(gateway, tg)
    await enrol_and_complete(gateway, learner, course, lessons=2)
    await archive_course(gateway, course)
    await wait_for_progress(gateway, learner["id"], course["id"], lambda view: bool(view and view["archived"]))

    sent = await tg.send_command(user, "mycourses")
    mine = await tg.wait_for_reply(sent, has_text("2 из 3 уроков"))
    await tg.press_button_by_text(user, mine, f"▶️ {course['title']}")
    lesson = await tg.wait_for_message(user.id, has_text("Урок 3 из 3"), after=mine.message_id)
    assert course["lessons"][2]["title"] in lesson.text
    assert "✅ Урок пройден" in labels(lesson)

    await tg.press_button_by_text(user, lesson, "✅ Урок пройден")
    done = await tg.wait_for_message(user.id, has_text("это был последний"), after=lesson.message_id)
    assert f"Урок «{course['lessons'][2]['title']}» пройден" in done.text
    await wait_for_edit(tg, lesson, has_text("✅ Урок пройден "))

    sent = await tg.send_command(user, "mycourses")
    finished = await tg.wait_for_reply(sent, has_text("100%"))
    assert f"✅ {course['title']}" in finished.text

    # Its card: the learner's progress, no price and nothing to buy, and the ways on.
    await tg.press_button_by_text(user, finished, f"🎓 {course['title']}")
    lessons = await wait_for_edit(tg, finished, has_text("Пройдено уроков: 3 из 3"))
    await tg.press_button_by_text(user, lessons, "⬅️ К описанию курса")
    card = await wait_for_edit(tg, lessons, has_text("Уроков:"))
    assert "снят с публикации" in card.text
    assert "Цена" not in card.text
    assert "100%" in card.text
    assert not any(label.startswith(("✅ Записаться", "💳")) for label in labels(card))

    assert all(message.inline_buttons() for message in await bot_messages(tg, user, after=mine.message_id - 1))


@pytest.mark.integration
@pytest.mark.parametrize(
    ("withdraw", "says"),
    [("archive", "больше недоступен"), ("hide", "Запись на этот курс сейчас закрыта")],
)
async def test_enrolling_in_a_course_withdrawn_since_its_card_was_shown_says_so(gateway, tg, withdraw, says):
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category)
    await wait_until_progress_knows(gateway, course)
    user, learner = await register(gateway, tg)
    card = await open_course_card(gateway, tg, user, category, course)
    if withdraw == "archive":
        await archive_course(gateway, course)
    else:
        await catalog_editor().patch(
            f"/internal/courses/{course['id']}", json={"is_active": False}, idempotency_key=unique("hide")
        )
    await wait_for_progress(gateway, learner["id"], course["id"], lambda view: view is None)

    press = await tg.press_button_by_text(user, card, "✅ Записаться бесплатно")

    answer = await tg.wait_for_callback_answer(press)
    assert says in answer.text
    gone = await wait_for_edit(tg, card, has_text(says))
    assert labels(gone) == {"📚 Открыть каталог", "🎓 Мои курсы"}
    state = await gateway.clients.progress.get(f"/internal/learners/{learner['id']}/courses")
    assert state == []


@pytest.mark.integration
async def test_completing_a_lesson_removed_from_the_course_leads_to_the_next_one(gateway, tg):
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category, lessons=3, free_lessons=())
    await wait_until_progress_knows(gateway, course)
    user, learner = await register(gateway, tg)
    await enrol_and_complete(gateway, learner, course, lessons=0)
    lesson = await open_first_lesson(tg, user, course)
    removed = course["lessons"][0]
    await catalog_editor().delete(
        f"/internal/courses/{course['id']}/lessons/{removed['id']}", idempotency_key=unique("remove")
    )
    await wait_for_progress(
        gateway, learner["id"], course["id"], lambda view: view is not None and view["total_lessons"] == 2
    )

    press = await tg.press_button_by_text(user, lesson, "✅ Урок пройден")

    assert (await tg.wait_for_callback_answer(press)).text == "Этого урока больше нет в курсе."
    gone = await wait_for_edit(tg, lesson, has_text("Этого урока больше нет в курсе"))
    following = f"➡️ Следующий урок: {course['lessons'][1]['title']}"[:40]
    next_label = next(label for label in labels(gone) if label.startswith(following[:30]))
    assert {"📖 Все уроки", "🎓 Мои курсы"} <= labels(gone)
    await tg.press_button_by_text(user, gone, next_label)
    opened = await wait_for_edit(tg, gone, has_text("Урок 1 из 2"))
    assert course["lessons"][1]["title"] in opened.text


@pytest.mark.integration
async def test_completing_a_preview_that_is_no_longer_free_shows_the_lesson_locked_with_enrolment(gateway, tg):
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category, lessons=2, free_lessons=(1,))
    await wait_until_progress_knows(gateway, course)
    user, learner = await register(gateway, tg)
    card = await open_course_card(gateway, tg, user, category, course)
    await tg.press_button_by_text(user, card, "📖 Уроки курса")
    lessons = await wait_for_edit(tg, card, has_text("Пройдено уроков: 0 из 2"))
    await tg.press_button_by_text(user, lessons, next(b for b in labels(lessons) if b.startswith("▶️ 1.")))
    preview = await wait_for_edit(tg, lessons, has_text("Урок 1 из 2"))
    first = course["lessons"][0]
    await catalog_editor().patch(
        f"/internal/courses/{course['id']}/lessons/{first['id']}",
        json={"is_free": False},
        idempotency_key=unique("lock"),
    )
    await wait_for_progress(
        gateway, learner["id"], course["id"], lambda view: view is not None and not view["lessons"][0]["accessible"]
    )

    press = await tg.press_button_by_text(user, preview, "✅ Урок пройден")

    answer = await tg.wait_for_callback_answer(press)
    assert answer.show_alert
    assert "откроется после записи" in answer.text
    locked = await wait_for_edit(tg, preview, has_text("Урок откроется после записи"))
    assert "✅ Записаться бесплатно" in labels(locked)
    assert "✅ Урок пройден" not in labels(locked)


@pytest.mark.integration
async def test_a_completion_progress_cannot_take_right_now_asks_to_retry_and_keeps_the_button(gateway, tg, monkeypatch):
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category, lessons=2, free_lessons=())
    await wait_until_progress_knows(gateway, course)
    user, learner = await register(gateway, tg)
    await enrol_and_complete(gateway, learner, course, lessons=0)
    lesson = await open_first_lesson(tg, user, course)
    progress = gateway.clients.progress
    real_post = progress.post

    async def busy(path: str, **kwargs):
        if path.endswith("/complete"):  # progress's 409: the course not known yet, or a lock held
            error = ServiceCallError("progress: course not known yet; retry")
            error.status_code, error.code = 409, "conflict"
            raise error
        return await real_post(path, **kwargs)

    monkeypatch.setattr(progress, "post", busy)

    press = await tg.press_button_by_text(user, lesson, "✅ Урок пройден")

    answer = await tg.wait_for_callback_answer(press)
    assert "попробуйте ещё раз" in answer.text
    assert "✅ Урок пройден" in labels(await tg.message(user.id, lesson.message_id))


def view_of(next_lesson_id: int | None, catalog_lessons: list[int]) -> LearnerCourseView:
    state = {
        "enrolled": True,
        "in_catalog": True,
        "next_lesson_id": next_lesson_id,
        "lessons": [
            {"lesson_id": 11, "order": 1, "title": "Один", "accessible": True, "completed": True},
            {"lesson_id": 12, "order": 2, "title": "Два", "accessible": True, "completed": False},
            {"lesson_id": 13, "order": 3, "title": "Три", "accessible": True, "completed": False},
        ],
    }
    course = {"id": 1, "title": "Курс", "lessons": [{"id": lesson_id} for lesson_id in catalog_lessons]}
    return LearnerCourseView(state, course)


def test_the_next_lesson_is_progress_s_while_the_catalog_still_has_it():
    assert next_lesson(view_of(12, [11, 12, 13]))["lesson_id"] == 12


def test_a_lesson_gone_from_the_catalog_but_still_progress_s_next_is_treated_as_removed():
    # The catalog removed lesson 12; progress has not heard yet and still names it next.
    assert next_lesson(view_of(12, [11, 13]))["lesson_id"] == 13
    assert next_lesson(view_of(12, [11])) is None


def test_the_lesson_a_learner_is_on_is_skipped_when_it_is_gone():
    assert next_lesson(view_of(12, [11, 12, 13]), skip=12)["lesson_id"] == 13
