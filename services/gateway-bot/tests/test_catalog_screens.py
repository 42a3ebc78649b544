"""The catalog as a learner sees it: categories, a category page by page, the course card."""

import secrets

import pytest
from academy_tg_emulator.client import TestUser

from .learning_support import (
    OPERATORS,
    catalog_editor,
    has_text,
    new_category,
    publish_course,
    register,
    unique,
    wait_for_edit,
    wait_until_progress_knows,
)
from .test_achievements_screen import study

pytestmark = pytest.mark.integration


async def open_category(tg, user, category_title: str):
    sent = await tg.send_command(user, "catalog")
    catalog = await tg.wait_for_reply(sent, has_text("Каталог курсов"))
    press = await tg.press_button_by_text(user, catalog, category_title)
    await tg.wait_for_callback_answer(press)
    return catalog, press


async def test_a_category_is_paged_and_its_course_card_shows_what_a_learner_decides_on(gateway, tg):
    category = await new_category(gateway)
    titles = [f"Курс {n} {category}" for n in range(7)]
    courses = [await publish_course(gateway, category=category, title=title) for title in titles]
    paid = await publish_course(gateway, category=category, title=f"Платный {category}", price="4900")
    user, _ = await register(gateway, tg)

    catalog, _ = await open_category(tg, user, f"Нейл-арт {category}")

    page_one = await wait_for_edit(tg, catalog, has_text("страница 1 из 2"))
    assert "Курсов: 8" in page_one.text
    labels_one = [b["text"] for b in page_one.inline_buttons()]
    assert "▶️" in labels_one
    assert "◀️" not in labels_one
    assert "1/2" in labels_one
    on_page_one = {title for title in [*titles, paid["title"]] if any(label.startswith(title) for label in labels_one)}
    assert len(on_page_one) == 5

    await tg.press_button_by_text(user, page_one, "▶️")
    page_two = await wait_for_edit(tg, catalog, has_text("страница 2 из 2"))
    labels_two = [b["text"] for b in page_two.inline_buttons()]
    assert "◀️" in labels_two
    assert "▶️" not in labels_two
    on_page_two = {title for title in [*titles, paid["title"]] if any(label.startswith(title) for label in labels_two)}
    # Every course once, over the two pages: nothing lost or repeated between pages.
    assert on_page_one | on_page_two == {*titles, paid["title"]}
    assert not on_page_one & on_page_two
    assert page_two.message_id == catalog.message_id  # edited in place, not a new message

    free_course = next(c for c in courses if c["title"] in on_page_two)
    await tg.press_button_by_text(user, page_two, f"{free_course['title']} · Бесплатно")
    card = await wait_for_edit(tg, catalog, has_text("Уроков: 3"))
    assert free_course["title"] in card.text
    assert free_course["description"] in card.text
    assert "Длительность: 6 ч" in card.text
    assert "Цена: Бесплатно" in card.text
    assert f"Урок 1 курса {free_course['title']}" in card.text  # the free preview lesson is listed
    assert f"Урок 2 курса {free_course['title']}" not in card.text
    assert {"✅ Записаться бесплатно", "📖 Уроки курса", "⬅️ Назад"} <= {b["text"] for b in card.inline_buttons()}

    await tg.press_button_by_text(user, card, "⬅️ Назад")
    back = await wait_for_edit(tg, catalog, has_text("страница 2 из 2"))
    assert back.message_id == catalog.message_id


async def test_the_catalog_offers_the_course_of_the_month_and_opens_from_the_menu_button(gateway, tg):
    category = await new_category(gateway)
    await publish_course(gateway, category=category)
    top = await gateway.clients.catalog.get("/internal/courses/top")
    user, _ = await register(gateway, tg)

    sent = await tg.send_text(user, "📚 Каталог курсов")
    catalog = await tg.wait_for_reply(sent, has_text("Каталог курсов"))

    assert f"Курс месяца: {top['title']}" in catalog.text
    top_button = next(b for b in catalog.inline_buttons() if b["text"].startswith("🔥 Курс месяца"))
    await tg.press_button(user, catalog.message_id, top_button["callback_data"])
    card = await wait_for_edit(tg, catalog, has_text("Цена:"))
    assert top["title"] in card.text


async def test_an_english_speaking_learner_reads_the_catalog_in_english(gateway, tg):
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category)
    user, _ = await register(gateway, tg, language_code="en")

    sent = await tg.send_command(user, "catalog")
    catalog = await tg.wait_for_reply(sent, has_text("Course catalog"))
    await tg.press_button_by_text(user, catalog, f"Nail art {category}")
    page = await wait_for_edit(tg, catalog, has_text("page 1 of 1"))

    assert f"{course['title']} · Free" in {b["text"] for b in page.inline_buttons()}
    assert "⬅️ All fields" in {b["text"] for b in page.inline_buttons()}


async def test_someone_not_registered_is_asked_to_start(gateway, tg):
    stranger = TestUser.new("Гость")

    sent = await tg.send_command(stranger, "catalog")

    reply = await tg.wait_for_reply(sent)
    assert "/start" in reply.text
    assert "Каталог курсов" not in reply.text


async def test_a_new_category_reaches_the_bot_within_the_catalogs_max_age(gateway, tg, monkeypatch):
    """The bot keeps the catalog's answers as long as the catalog's `Cache-Control: max-age` says (2 s): the
    categories a learner saw a moment ago are shown again without asking, and the new one shows once that
    time is over. (Every other test's operator empties the bot's copy on each change: `CatalogEditor`.)"""
    cache = gateway.clients.catalog.cache
    now = [1_000.0]
    monkeypatch.setattr(cache, "_clock", lambda: now[0])
    cache.clear()
    monkeypatch.setattr(OPERATORS, "bot_catalog_cache", None)  # this operator's change is heard as a learner would
    user, _ = await register(gateway, tg)
    sent = await tg.send_command(user, "catalog")
    await tg.wait_for_reply(sent, has_text("Каталог курсов"))

    category = await new_category(gateway, title_ru="Свежая категория")
    now[0] += 1.9
    sent = await tg.send_command(user, "catalog")
    kept = await tg.wait_for_reply(sent, has_text("Каталог курсов"))
    now[0] += 0.2
    sent = await tg.send_command(user, "catalog")
    fresh = await tg.wait_for_reply(sent, has_text("Каталог курсов"))

    label = f"Свежая категория {category}"
    assert label not in {b["text"] for b in kept.inline_buttons()}
    assert label in {b["text"] for b in fresh.inline_buttons()}


async def new_long_category(gateway, length: int) -> tuple[str, str]:
    """A category whose slug is `length` characters (the catalog accepts 100), and its Russian title."""
    token = secrets.token_hex(4)
    slug = ("permanent-makeup-microblading-and-lip-blush-advanced-" + "x" * length)[: length - 9] + f"-{token}"
    title = f"Перманент {token}"
    await catalog_editor().post(
        "/internal/categories",
        json={"slug": slug, "title_ru": title, "title_en": f"Permanent {token}"},
        idempotency_key=unique("category"),
    )
    return slug, title


@pytest.mark.parametrize("length", [52, 100])
async def test_a_category_with_a_long_slug_opens_from_the_catalog_the_course_card_and_the_leaderboard(
    gateway, tg, length
):
    slug, title = await new_long_category(gateway, length)
    course = await publish_course(gateway, category=slug, lessons=2)
    await wait_until_progress_knows(gateway, course)
    user, learner = await register(gateway, tg)

    sent = await tg.send_command(user, "catalog")
    catalog = await tg.wait_for_reply(sent, has_text("Каталог курсов"))
    for button in catalog.inline_buttons():
        assert len(button["callback_data"].encode()) <= 64
        assert slug not in button["callback_data"]
    await tg.wait_for_callback_answer(await tg.press_button_by_text(user, catalog, title))
    page = await wait_for_edit(tg, catalog, has_text(title))
    assert "страница 1 из 1" in page.text

    await tg.wait_for_callback_answer(await tg.press_button_by_text(user, page, f"{course['title']} · Бесплатно"))
    card = await wait_for_edit(tg, catalog, has_text("Уроков: 2"))
    assert f"📂 {title}" in card.text
    await tg.wait_for_callback_answer(await tg.press_button_by_text(user, card, "⬅️ Назад"))
    back = await wait_for_edit(tg, catalog, has_text("страница 1 из 1"))
    assert title in back.text

    await study(gateway, learner, course, lessons=1)
    sent = await tg.send_command(user, "leaderboard")
    board = await tg.wait_for_reply(sent, has_text("Рейтинг · 🌍 Общий"))
    tab = next(b for b in board.inline_buttons() if title in b["text"])
    assert slug not in tab["callback_data"]
    await tg.wait_for_callback_answer(await tg.press_button(user, board.message_id, tab["callback_data"]))
    by_category = await wait_for_edit(tg, board, has_text(f"Рейтинг · 📂 {title}"))
    assert "Вы на 1 месте" in by_category.text
