"""The learning screens and the transcript in the learner's language (issue 8, cases 7 and 13): an English
learner reads English words with English plurals, and gets the transcript in English."""

import io
import re

import pytest
from pypdf import PdfReader

from .learning_support import (
    bot_messages,
    enrol_and_complete,
    has_text,
    needs_s3,
    new_category,
    open_category_page,
    publish_course,
    register,
    wait_for_edit,
    wait_until_progress_knows,
)

pytestmark = pytest.mark.integration

CYRILLIC = re.compile(r"[\u0400-\u04FF]")


async def english_course(gateway, *, lessons: int = 2, duration_hours: int = 6):
    category = await new_category(gateway, title_ru="Маникюр", title_en="Manicure")
    course = await publish_course(
        gateway,
        category=category,
        title=f"Gel polish basics {category}",
        description="Thin, lasting gel polish under the cuticle.",
        lesson_title="Lesson {n}: base coat",
        lesson_description="What lesson {n} teaches.",
        lessons=lessons,
        free_lessons=(),
        duration_hours=duration_hours,
    )
    await wait_until_progress_knows(gateway, course)
    return category, course


async def test_an_english_learner_studies_a_course_in_english_words_and_plurals(gateway, tg):
    category, _course = await english_course(gateway)
    user, _ = await register(gateway, tg, language_code="en", full_name="Anna Smith")

    catalog, page = await open_category_page(gateway, tg, user, category, locale="en")
    await tg.press_button_by_text(
        user, page, next(b["text"] for b in page.inline_buttons() if "Gel polish" in b["text"])
    )
    card = await wait_for_edit(tg, catalog, has_text("Lessons:"))
    assert "⏱ Duration: 6 hours" in card.text
    assert "💰 Price: Free" in card.text

    await tg.press_button_by_text(user, card, "✅ Enrol for free")
    welcome = await tg.wait_for_message(user.id, has_text("You are enrolled"), after=card.message_id)
    await tg.press_button_by_text(user, welcome, "▶️ Lesson 1: Lesson 1: base coat")
    lesson = await wait_for_edit(tg, welcome, has_text("Lesson 1 of 2"))
    await tg.press_button_by_text(user, lesson, "✅ Completed")
    done = await tg.wait_for_message(user.id, has_text("1 of 2 lessons done"), after=lesson.message_id)
    assert "✅ Lesson “Lesson 1: base coat” completed!" in done.text

    await tg.press_button_by_text(user, done, "➡️ Next lesson: Lesson 2: base coat")
    second = await tg.wait_for_message(user.id, has_text("Lesson 2 of 2"), after=done.message_id)
    await tg.press_button_by_text(user, second, "✅ Completed")
    await tg.wait_for_message(user.id, has_text("All 2 lessons are done"), after=second.message_id)

    sent = await tg.send_command(user, "mycourses")
    mine = await tg.wait_for_reply(sent, has_text("100%"))
    assert "completed on" in mine.text
    assert "📄 Learning transcript (PDF)" in {b["text"] for b in mine.inline_buttons()}

    for message in await bot_messages(tg, user, after=catalog.message_id - 1):
        shown = " ".join([message.content or "", *(b["text"] for b in message.inline_buttons())])
        assert not CYRILLIC.search(shown), message.summary()


async def test_a_one_hour_course_says_one_hour(gateway, tg):
    _category, course = await english_course(gateway, lessons=1, duration_hours=1)
    user, learner = await register(gateway, tg, language_code="en", full_name="Anna Smith")
    await enrol_and_complete(gateway, learner, course, lessons=0)
    sent = await tg.send_command(user, "mycourses")
    mine = await tg.wait_for_reply(sent, has_text("0 of 1 lesson"))
    await tg.press_button_by_text(user, mine, f"▶️ {course['title']}"[:38])  # my-continue-button, title shortened

    lesson = await tg.wait_for_message(user.id, has_text("Lesson 1 of 1"), after=mine.message_id)
    await tg.press_button_by_text(user, lesson, "📖 All lessons")
    lessons = await wait_for_edit(tg, lesson, has_text("Lessons completed: 0 of 1"))
    await tg.press_button_by_text(user, lessons, "⬅️ Course details")
    card = await wait_for_edit(tg, lessons, has_text("Lessons:"))
    assert "⏱ Duration: 1 hour\n" in card.text


async def test_the_transcript_is_asked_for_in_the_learner_s_language(gateway, tg, monkeypatch):
    user, _ = await register(gateway, tg, language_code="en", full_name="Anna Smith")
    progress = gateway.clients.progress
    real_post = progress.post
    asked: list[dict] = []

    async def recording(path: str, **kwargs):
        if path.endswith("/transcript"):
            asked.append(kwargs.get("json"))
        return await real_post(path, **kwargs)

    monkeypatch.setattr(progress, "post", recording)

    sent = await tg.send_command(user, "transcript")

    reply = await tg.wait_for_reply(sent, has_text("Your learning transcript appears"))
    assert asked == [{"language": "en"}]  # the name: progress reads it from users, the bot never passes it on
    assert reply.inline_buttons()  # the way to the catalog


@needs_s3
async def test_an_english_learner_gets_an_english_transcript(gateway, tg):
    _, course = await english_course(gateway, lessons=1)
    user, learner = await register(gateway, tg, language_code="en", full_name="Anna Smith")
    await enrol_and_complete(gateway, learner, course, lessons=1)

    sent = await tg.send_command(user, "transcript")

    document = await tg.wait_for_message(user.id, lambda m: m.document is not None, after=sent.message_id, timeout=20)
    assert "Your learning transcript: 1 course completed" in document.caption
    pdf = await tg.download_document(document.file_id)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Learning transcript" in text
    assert "Справка" not in text
