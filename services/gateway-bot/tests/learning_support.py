"""Test data for the learning screens: categories, published courses and registered learners, made through
the real services' APIs: the gateway's own clients for what the gateway does, and operators' clients
(`OPERATORS`: a catalog editor, a finance operator; set up by conftest) for the catalog and wallet funds."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from academy_gateway_bot.bot import BotRuntime
from academy_runtime.client import ServiceClient
from academy_runtime.errors import NotFoundError
from academy_runtime.http_cache import ResponseCache
from academy_tg_emulator.client import ChatMessage, EmulatorClient, TestUser


class CatalogEditor(ServiceClient):
    """The catalog's editor, whose every change the bot's next screen shows.

    The bot keeps the catalog's answers for `CATALOG_CLIENT_MAX_AGE_S` (2 s, `Cache-Control`), so a learner
    sees an operator's change that much later at most; tests make a course and open it in the bot at once, and
    do not wait that out: each change (any call but a GET) also empties the bot's copy. That the copy ends
    by itself is test_catalog_screens.py's `test_a_new_category_reaches_the_bot_within_the_catalogs_max_age`.
    """

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return await super().request(method, path, **kwargs)
        finally:
            if method.upper() != "GET" and OPERATORS.bot_catalog_cache is not None:
                OPERATORS.bot_catalog_cache.clear()


@dataclass
class Operators:
    """ServiceClients signed as operators (the gateway may not change the catalog or adjust wallets)."""

    catalog: ServiceClient | None = None  # an editor with the catalog-editor role
    billing: ServiceClient | None = None  # alice, with the finance role
    bot_catalog_cache: ResponseCache | None = None  # the bot's copy of the catalog's answers (conftest)

    def editor(self) -> ServiceClient:
        assert self.catalog is not None, "the operators fixture (conftest) sets the editor's client"
        return self.catalog

    def finance(self) -> ServiceClient:
        assert self.billing is not None, "the operators fixture (conftest) sets the finance client"
        return self.billing


OPERATORS = Operators()


def catalog_editor() -> ServiceClient:
    """The catalog as its editor calls it (create, edit, publish, archive)."""
    return OPERATORS.editor()


def finance() -> ServiceClient:
    """Billing as a finance operator calls it (adjustments, refunds)."""
    return OPERATORS.finance()


needs_s3 = pytest.mark.skipif(
    not os.environ.get("TEST_S3_ENDPOINT"), reason="the transcript needs an S3 server (TEST_S3_ENDPOINT)"
)


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def new_category(runtime: BotRuntime, title_ru: str = "Нейл-арт", title_en: str = "Nail art") -> str:
    """A category of this test alone, so counts and pages are the test's own."""
    slug = unique("t")
    await catalog_editor().post(
        "/internal/categories",
        json={"slug": slug, "title_ru": f"{title_ru} {slug}", "title_en": f"{title_en} {slug}"},
        idempotency_key=unique("category"),
    )
    return slug


async def publish_course(
    runtime: BotRuntime,
    *,
    category: str,
    title: str | None = None,
    lessons: int = 3,
    price: str = "0",
    free_lessons: tuple[int, ...] = (1,),
    duration_hours: int | None = 6,
    description: str | None = None,
    lesson_title: str = "Урок {n} курса {title}",
    lesson_description: str = "Что вы узнаете в уроке {n}",
    **fields: Any,
) -> dict[str, Any]:
    """A published course with `lessons` lessons (video and PDF links), the `free_lessons` open as previews.

    `lesson_title`/`lesson_description` are formatted with the lesson's `n` and the course's `title`;
    `fields` are more of the catalog's course fields (`full_description`, `cover_image_url`...)."""
    title = title or unique("Курс")
    key = secrets.token_hex(4)  # for the links: titles have spaces and Cyrillic
    course = await catalog_editor().post(
        "/internal/courses",
        json={
            "title": title,
            "description": description or f"Описание курса {title}",
            "category": category,
            "price": price,
            "duration_hours": duration_hours,
            **fields,
            "lessons": [
                {
                    "order": n,
                    "title": lesson_title.format(n=n, title=title),
                    "description": lesson_description.format(n=n, title=title),
                    "video_url": f"https://video.example.com/{key}/{n}.mp4",
                    "video_duration": 600,
                    "pdf_url": f"https://files.example.com/{key}/{n}.pdf",
                    "is_free": n in free_lessons,
                }
                for n in range(1, lessons + 1)
            ],
        },
        idempotency_key=unique("course"),
    )
    published: dict[str, Any] = await catalog_editor().post(
        f"/internal/courses/{course['id']}/publish", idempotency_key=unique("publish")
    )
    return published


async def wait_until_progress_knows(runtime: BotRuntime, course: dict[str, Any], timeout: float = 15.0) -> None:
    """Progress learns courses from catalog.course_published: wait for its projection."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            view = await runtime.clients.progress.get(f"/internal/learners/1/courses/{course['id']}")
        except NotFoundError:
            view = None
        if view is not None and view["total_lessons"] == len(course["lessons"]):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"progress never heard of course {course['id']}")
        await asyncio.sleep(0.1)


async def register(
    runtime: BotRuntime,
    tg: EmulatorClient,
    *,
    city: str = "Москва",
    language_code: str = "ru",
    full_name: str = "Анна Смирнова",
) -> tuple[TestUser, dict[str, Any]]:
    """A learner registered with the users service (as the registration conversation ends), chat opened."""
    user = TestUser.new("Анна", language_code=language_code)
    await tg.create_user(user)
    registration = await runtime.clients.users.post(
        "/internal/users/register",
        json={
            "telegram_id": user.id,
            "username": None,
            "locale": "ru" if language_code == "ru" else "en",
            "full_name": full_name,
            "phone": f"+7916{secrets.randbelow(10**7):07d}",
            "city": city,
            "consent": {"version": "2025-01", "accepted_at": datetime.now(UTC).isoformat()},
        },
        idempotency_key=unique("register"),
    )
    # The learner is in the chat with the bot (a bot may only write to a chat the learner started).
    sent = await tg.send_command(user, "start")
    await tg.wait_for_reply(sent)
    return user, registration["learner"]


async def learner_on_a_course(
    gateway: BotRuntime, tg: EmulatorClient, *, lessons: int = 1, completed: int = 1
) -> tuple[TestUser, dict[str, Any], dict[str, Any]]:
    """A registered learner enrolled (through progress, as the gateway calls it) on a new course of a new
    category with `lessons` paid lessons, the first `completed` of them completed: (user, learner, course)."""
    category = await new_category(gateway)
    course = await publish_course(gateway, category=category, lessons=lessons, free_lessons=())
    await wait_until_progress_knows(gateway, course)
    user, learner = await register(gateway, tg)
    await enrol_and_complete(gateway, learner, course, completed)
    return user, learner, course


def has_text(fragment: str) -> Callable[[ChatMessage], bool]:
    return lambda message: fragment in (message.content or "")


async def wait_for_edit(
    tg: EmulatorClient, message: ChatMessage, predicate: Callable[[ChatMessage], bool], timeout: float = 5.0
) -> ChatMessage:
    """The bot's message `message`, once an edit made it match `predicate`."""
    deadline = time.monotonic() + timeout
    while True:
        current = await tg.message(message.chat_id, message.message_id)
        if predicate(current):
            return current
        if time.monotonic() > deadline:
            raise TimeoutError(f"message {message.message_id} never matched; it is now: {current.summary()}")
        await asyncio.sleep(0.05)


def button_starting(message: ChatMessage, prefix: str) -> str:
    """The label of the message's button that starts with `prefix`."""
    for button in message.inline_buttons():
        if str(button.get("text", "")).startswith(prefix):
            return str(button["text"])
    raise KeyError(f"no button starting with {prefix!r}: {message.summary()}")


async def wait_for_offer(
    runtime: BotRuntime,
    user_id: int,
    course_id: int,
    predicate: Callable[[dict[str, Any]], bool] = lambda offer: bool(offer["on_sale"]),
    timeout: float = 15.0,
) -> dict[str, Any]:
    """Billing's offer of the course once it matches (billing learns prices from catalog events)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            offer: dict[str, Any] | None = await runtime.clients.billing.get(
                f"/internal/learners/{user_id}/offers/{course_id}"
            )
        except NotFoundError:
            offer = None
        if offer is not None and predicate(offer):
            return offer
        if time.monotonic() > deadline:
            raise TimeoutError(f"billing's offer of course {course_id} never matched; it is {offer}")
        await asyncio.sleep(0.1)


async def fund(runtime: BotRuntime, user_id: int, coins: int, reason: str = "test funds") -> dict[str, Any]:
    """Coins put on (or, negative, taken from) the learner's wallet as an operator's adjustment."""
    adjustment: dict[str, Any] = await finance().post(
        f"/internal/wallets/{user_id}/adjustments",
        json={"delta": coins, "reason": reason},
        idempotency_key=unique("adjust"),
    )
    return adjustment


async def archive_course(runtime: BotRuntime, course: dict[str, Any]) -> None:
    """The operator withdraws the course for good (catalog.course_archived)."""
    await catalog_editor().post(f"/internal/courses/{course['id']}/archive", idempotency_key=unique("archive"))


async def wait_for_progress(
    runtime: BotRuntime,
    user_id: int,
    course_id: int,
    predicate: Callable[[dict[str, Any] | None], bool],
    timeout: float = 15.0,
) -> dict[str, Any] | None:
    """Progress's view of the course for the learner (None: 404) once it matches `predicate` (progress
    learns the catalog's changes from its events)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            view: dict[str, Any] | None = await runtime.clients.progress.get(
                f"/internal/learners/{user_id}/courses/{course_id}"
            )
        except NotFoundError:
            view = None
        if predicate(view):
            return view
        if time.monotonic() > deadline:
            raise TimeoutError(f"progress's view of course {course_id} never matched; it is {view}")
        await asyncio.sleep(0.1)


async def enrol_and_complete(
    runtime: BotRuntime, learner: dict[str, Any], course: dict[str, Any], lessons: int
) -> None:
    """The learner enrolled on the (free) course, its first `lessons` lessons completed, through progress."""
    progress = runtime.clients.progress
    await progress.post(f"/internal/learners/{learner['id']}/enrolments", json={"course_id": course["id"]})
    for lesson in course["lessons"][:lessons]:
        await progress.post(f"/internal/learners/{learner['id']}/lessons/{lesson['id']}/complete", json={})


async def bot_messages(tg: EmulatorClient, user: TestUser, *, after: int = 0) -> list[ChatMessage]:
    """The bot's messages in the learner's chat (not deleted), oldest first."""
    return await tg.messages(user.id, include_deleted=False, after=after)


# The words of the catalog's screens a learner of the locale reads: its heading, its first page.
_CATALOG_WORDS = {"ru": ("Каталог курсов", "страница 1 из"), "en": ("Course catalog", "page 1 of")}


async def open_category_page(
    gateway: BotRuntime, tg: EmulatorClient, user: TestUser, category: str, *, locale: str = "ru"
) -> tuple[ChatMessage, ChatMessage]:
    """The catalog's message and the first page of the category it turned into, reached as a learner does:
    /catalog, then the category (named in the learner's `locale`)."""
    heading, first_page = _CATALOG_WORDS[locale]
    sent = await tg.send_command(user, "catalog")
    catalog = await tg.wait_for_reply(sent, has_text(heading))
    titles = await gateway.clients.catalog.get("/internal/categories")
    await tg.press_button_by_text(user, catalog, next(c[f"title_{locale}"] for c in titles if c["slug"] == category))
    page = await wait_for_edit(tg, catalog, has_text(first_page))
    return catalog, page


async def open_course_card(
    gateway: BotRuntime, tg: EmulatorClient, user: TestUser, category: str, course: dict[str, Any]
) -> ChatMessage:
    """The course's card, reached as a learner does: /catalog, the category, the course (the catalog's
    message turns into the card)."""
    catalog, page = await open_category_page(gateway, tg, user, category)
    label = next(b["text"] for b in page.inline_buttons() if b["text"].startswith(course["title"][:30]))
    await tg.press_button_by_text(user, page, label)
    return await wait_for_edit(tg, catalog, has_text("Уроков:"))
