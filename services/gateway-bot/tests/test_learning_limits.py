"""Stored text beyond Telegram's limits (issue 8, case A; case 13): a card, a lesson, the lessons of a long
course and a long list of courses still come as screens that fit, with a way to read or page the rest,
and the course's full description and cover are shown."""

import re
import struct
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from academy_gateway_bot.fitting import CAPTION_LIMIT, TEXT_LIMIT, utf16_length
from academy_tg_emulator.client import ChatMessage

from .learning_support import (
    bot_messages,
    enrol_and_complete,
    has_text,
    new_category,
    open_category_page,
    open_course_card,
    publish_course,
    register,
    wait_for_edit,
    wait_until_progress_knows,
)

pytestmark = pytest.mark.integration

# Telegram shows at most 100 buttons under a message.
MAX_BUTTONS = 100


def png(width: int = 4, height: int = 3) -> bytes:
    """A tiny valid PNG (a course cover)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def covers() -> Iterator[str]:
    """An HTTP server with course covers (Telegram fetches a photo given by URL itself): `/cover.png`;
    any other path is 404."""
    image = png()

    class Covers(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/cover.png":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(image)))
                self.end_headers()
                self.wfile.write(image)
            else:
                self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Covers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


def words(text: str) -> list[str]:
    return text.split()


async def read_every_page(tg, user, message, *, back_label: str) -> tuple[list[str], object]:
    """Press «▶️» until the last page; the texts of the pages, and the message as it is at the end."""
    texts = [message.text]
    assert back_label in {b["text"] for b in message.inline_buttons()}
    while any(b["text"] == "▶️" for b in message.inline_buttons()):
        previous = message.text
        await tg.press_button_by_text(user, message, "▶️")
        message = await wait_for_edit(tg, message, lambda m, previous=previous: m.text != previous)
        texts.append(message.text)
    return texts, message


async def test_a_course_description_longer_than_a_message_gives_a_card_that_fits_and_the_whole_text_in_pages(
    gateway, tg
):
    category = await new_category(gateway)
    # Case A: a description of 4,217 characters made a card of 4,307, which Telegram refused.
    description = ("Разбираем технику шаг за шагом 💅 & «секреты» <мастера>. " * 80)[:4217].strip()
    full_description = "Полная программа курса. " + "Подготовка, база, выравнивание и топ — на моделях. " * 250
    course = await publish_course(
        gateway, category=category, description=description, full_description=full_description
    )
    await wait_until_progress_knows(gateway, course)
    user, _ = await register(gateway, tg)

    card = await open_course_card(gateway, tg, user, category, course)

    assert utf16_length(card.text) <= TEXT_LIMIT
    assert card.text.startswith(f"🎓 {course['title']}\n\nРазбираем технику шаг за шагом 💅 & «секреты» <мастера>.")
    assert "…" in card.text
    assert "Цена: Бесплатно" in card.text  # the details under the description are all there
    labels = [b["text"] for b in card.inline_buttons()]
    assert "📖 Читать полностью" in labels
    assert "✅ Записаться бесплатно" in labels

    await tg.press_button_by_text(user, card, "📖 Читать полностью")
    first = await wait_for_edit(tg, card, lambda m: "⬅️ К описанию курса" in {b["text"] for b in m.inline_buttons()})
    pages, last = await read_every_page(tg, user, first, back_label="⬅️ К описанию курса")

    assert len(pages) >= 4  # 4,217 + 13,000 characters, 4,096 a page
    assert all(utf16_length(page) <= TEXT_LIMIT for page in pages)
    assert all(page.startswith(f"🎓 {course['title']}\n\n") for page in pages)
    read = [word for page in pages for word in words(page.split("\n\n", 1)[1])]
    assert read == words(description) + words(full_description)  # every word, once, in order

    await tg.press_button_by_text(user, last, "⬅️ К описанию курса")
    again = await wait_for_edit(tg, last, has_text("Уроков:"))
    assert "📖 Читать полностью" in {b["text"] for b in again.inline_buttons()}


async def test_a_long_lesson_description_fits_the_lesson_screen_and_reads_in_full(gateway, tg):
    category = await new_category(gateway)
    lesson_description = "Урок {n}: " + "наносим базу тонким слоем, запечатываем торец 💅 & сушим в лампе. " * 110
    course = await publish_course(
        gateway, category=category, lessons=2, free_lessons=(1, 2), lesson_description=lesson_description
    )
    await wait_until_progress_knows(gateway, course)
    user, learner = await register(gateway, tg)
    await enrol_and_complete(gateway, learner, course, lessons=0)

    sent = await tg.send_command(user, "mycourses")
    mine = await tg.wait_for_reply(sent, has_text("Мои курсы"))
    await tg.press_button_by_text(
        user, mine, next(b["text"] for b in mine.inline_buttons() if b["text"].startswith("▶️"))
    )
    lesson = await tg.wait_for_message(user.id, has_text("Урок 1 из 2"), after=mine.message_id)

    assert utf16_length(lesson.text) <= TEXT_LIMIT
    assert "Смотрите видео" in lesson.text  # what follows the description is kept
    labels = [b["text"] for b in lesson.inline_buttons()]
    assert labels[0] == "📖 Читать полностью"
    assert "✅ Урок пройден" in labels

    await tg.press_button_by_text(user, lesson, "📖 Читать полностью")
    first = await wait_for_edit(tg, lesson, lambda m: "Смотрите видео" not in m.text)
    pages, last = await read_every_page(tg, user, first, back_label="⬅️ К уроку")
    assert len(pages) == 2
    read = [word for page in pages for word in words(page.split("\n\n", 1)[1])]
    assert read == words(course["lessons"][0]["description"])

    await tg.press_button_by_text(user, last, "⬅️ К уроку")
    back = await wait_for_edit(tg, last, has_text("Смотрите видео"))
    assert "✅ Урок пройден" in {b["text"] for b in back.inline_buttons()}


async def open_course_with_cover(gateway, tg, user, category: str, course: dict) -> tuple[ChatMessage, ChatMessage]:
    """The catalog's message and the course's card reached from it: a photo, so a new message."""
    catalog, page = await open_category_page(gateway, tg, user, category)
    await tg.press_button_by_text(
        user, page, next(b["text"] for b in page.inline_buttons() if course["title"] in b["text"])
    )
    card = await tg.wait_for_message(user.id, lambda m: m.photo is not None, after=catalog.message_id)
    return catalog, card


async def test_a_course_with_a_cover_is_a_photo_with_its_full_description_in_the_caption(gateway, tg, covers):
    category = await new_category(gateway)
    full_description = "Курс о стойком и тонком покрытии: подготовка, база, выравнивание, цвет под кутикулу и топ."
    course = await publish_course(
        gateway, category=category, full_description=full_description, cover_image_url=f"{covers}/cover.png"
    )
    await wait_until_progress_knows(gateway, course)
    user, _ = await register(gateway, tg)
    catalog, card = await open_course_with_cover(gateway, tg, user, category, course)

    assert utf16_length(card.caption) <= CAPTION_LIMIT
    assert f"Описание курса {course['title']}\n\n{full_description}" in card.caption  # case 13: never shown before
    assert "Цена: Бесплатно" in card.caption
    assert "📖 Читать полностью" not in {b["text"] for b in card.inline_buttons()}  # it all fits
    assert (await tg.message(user.id, catalog.message_id)).deleted  # the card replaced the catalog's page

    # A text screen from the card replaces it too (a photo cannot become text), and back again.
    await tg.press_button_by_text(user, card, "📖 Уроки курса")
    lessons = await tg.wait_for_message(user.id, has_text("Пройдено уроков: 0 из 3"), after=card.message_id)
    assert (await tg.message(user.id, card.message_id)).deleted
    await tg.press_button_by_text(user, lessons, "⬅️ К описанию курса")
    again = await tg.wait_for_message(user.id, lambda m: m.photo is not None, after=lessons.message_id)
    assert "Цена: Бесплатно" in again.caption


async def test_a_long_description_under_a_cover_is_shortened_to_a_caption_and_reads_in_full(gateway, tg, covers):
    category = await new_category(gateway)
    full_description = "Подробно о каждом этапе: " + "подготовка ногтя, база, цвет, топ и сушка. " * 60
    course = await publish_course(
        gateway, category=category, full_description=full_description, cover_image_url=f"{covers}/cover.png"
    )
    await wait_until_progress_knows(gateway, course)
    user, _ = await register(gateway, tg)
    _catalog, card = await open_course_with_cover(gateway, tg, user, category, course)

    assert utf16_length(card.caption) <= CAPTION_LIMIT
    assert "…" in card.caption
    assert "Цена: Бесплатно" in card.caption
    await tg.press_button_by_text(user, card, "📖 Читать полностью")
    text = await tg.wait_for_message(user.id, has_text("Подробно о каждом этапе"), after=card.message_id)
    assert words(full_description)[-5:] == words(text.text)[-5:]  # it fits one message: all of it


async def test_a_cover_telegram_cannot_fetch_leaves_a_text_card(gateway, tg, covers):
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category, cover_image_url=f"{covers}/missing.png")
    await wait_until_progress_knows(gateway, course)
    user, _ = await register(gateway, tg)

    card = await open_course_card(gateway, tg, user, category, course)

    assert "Цена: Бесплатно" in card.text
    assert "✅ Записаться бесплатно" in {b["text"] for b in card.inline_buttons()}


async def test_the_lessons_of_a_long_course_come_in_pages(gateway, tg):
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category, lessons=130, free_lessons=(1,))
    await wait_until_progress_knows(gateway, course)
    user, _ = await register(gateway, tg)
    card = await open_course_card(gateway, tg, user, category, course)

    await tg.press_button_by_text(user, card, "📖 Уроки курса")
    lessons = await wait_for_edit(tg, card, has_text("Пройдено уроков: 0 из 130"))

    buttons = lessons.inline_buttons()
    assert len(buttons) <= MAX_BUTTONS
    assert buttons[0]["text"].startswith("▶️ 1.")
    assert "1/7" in {b["text"] for b in buttons}
    await tg.press_button_by_text(user, lessons, "▶️")
    second = await wait_for_edit(tg, lessons, lambda m: "2/7" in {b["text"] for b in m.inline_buttons()})
    assert second.inline_buttons()[0]["text"].startswith("🔒 21.")
    assert "⬅️ К описанию курса" in {b["text"] for b in second.inline_buttons()}


async def test_many_courses_with_long_titles_come_in_pages_that_fit(gateway, tg):
    category = await new_category(gateway)
    user, learner = await register(gateway, tg)
    for n in range(14):
        title = f"{n:02d} " + "Аппаратный маникюр и покрытие гель-лаком под кутикулу " * 5
        course = await publish_course(
            gateway, category=category, title=title[:255].strip(), lessons=1, lesson_title="Урок {n}"
        )
        await wait_until_progress_knows(gateway, course)
        await enrol_and_complete(gateway, learner, course, lessons=0)

    sent = await tg.send_command(user, "mycourses")
    mine = await tg.wait_for_reply(sent, has_text("Мои курсы"))

    assert utf16_length(mine.text) <= TEXT_LIMIT
    assert len(re.findall(r"^\d+\. ", mine.text, flags=re.MULTILINE)) == 10
    assert "1/2" in {b["text"] for b in mine.inline_buttons()}
    await tg.press_button_by_text(user, mine, "▶️")
    second = await wait_for_edit(tg, mine, has_text("11. "))
    assert len(re.findall(r"^\d+\. ", second.text, flags=re.MULTILINE)) == 4
    assert all(message.inline_buttons() for message in await bot_messages(tg, user, after=sent.message_id))
