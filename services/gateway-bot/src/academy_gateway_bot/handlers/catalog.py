"""The catalog: categories (with the course of the month) and a category's courses, page by page.

A command or the menu button sends the catalog; its buttons edit that one message in place. A category's
button carries its reference (`callbacks.category_ref`), resolved here against the catalog's categories.
"""

from __future__ import annotations

from typing import Any

from academy_runtime.errors import NotFoundError
from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from academy_gateway_bot import keyboards
from academy_gateway_bot.callbacks import CatalogCb, category_for_ref
from academy_gateway_bot.clients import ServiceClients
from academy_gateway_bot.context import LearnerCtx
from academy_gateway_bot.i18n import _, button_filter
from academy_gateway_bot.screens import (
    Event,
    answer_callback,
    category_titles,
    course_title,
    escape,
    not_registered,
    show,
)

COURSES_PER_PAGE = 5


async def catalog_command(message: Message, learner: LearnerCtx | None, clients: ServiceClients) -> None:
    if learner is None:
        await not_registered(message)
        return
    await show_categories(message, clients)


async def catalog_button(
    callback: CallbackQuery, callback_data: CatalogCb, learner: LearnerCtx | None, clients: ServiceClients
) -> None:
    if learner is None:
        await not_registered(callback)
        return
    if callback_data.action == "categories":
        await show_categories(callback, clients)
    elif callback_data.action == "category":
        titles = await category_titles(clients)
        slug = category_for_ref(callback_data.category, titles)
        if slug is None:  # renamed or gone since the button was sent: the categories there are now
            await show_categories(callback, clients, titles)
        else:
            await show_category(callback, clients, slug, max(1, callback_data.page), titles)
    await answer_callback(callback)


async def show_categories(event: Event, clients: ServiceClients, titles: dict[str, str] | None = None) -> None:
    categories = titles if titles is not None else await category_titles(clients)
    top = await top_course(clients)
    if not categories and top is None:
        await show(event, _("catalog-empty"))
        return
    text = _("catalog-title")
    if top is not None:
        text += "\n\n" + _("catalog-top", title=escape(course_title(top)))
    await show(event, text, keyboards.catalog_home(categories, top))


async def top_course(clients: ServiceClients) -> dict[str, Any] | None:
    try:
        course: dict[str, Any] = await clients.catalog.get("/internal/courses/top")
    except NotFoundError:  # nothing published yet
        return None
    return course


async def show_category(
    event: Event, clients: ServiceClients, category: str, page: int, titles: dict[str, str] | None = None
) -> None:
    """One page of the courses of `category` (a slug; `titles`: the categories, when already read)."""
    titles = titles if titles is not None else await category_titles(clients)
    title = escape(titles.get(category, category))
    listing = await clients.catalog.get(
        "/internal/courses", params={"category": category, "page": page, "page_size": COURSES_PER_PAGE}
    )
    total = int(listing["total"])
    pages = max(1, -(-total // COURSES_PER_PAGE))
    if page > pages:  # the catalog shrank since the page was shown: go to the last one there is
        page = pages
        listing = await clients.catalog.get(
            "/internal/courses", params={"category": category, "page": page, "page_size": COURSES_PER_PAGE}
        )
    if total == 0:
        text = _("catalog-category-empty", category=title)
    else:
        text = _("catalog-category", category=title, total=total, page=page, pages=pages)
    await show(event, text, keyboards.category_page(listing["items"], category, page, pages))


async def page_counter_button(callback: CallbackQuery) -> None:
    """ "2/5" between the arrows only shows where the learner is; pressing it does nothing."""
    await answer_callback(callback)


def make_router() -> Router:
    """A fresh router each time: an aiogram router can belong to one dispatcher only."""
    router = Router(name="catalog")
    router.message.register(catalog_command, Command("catalog"))
    router.message.register(catalog_command, button_filter("menu-catalog"))
    router.callback_query.register(catalog_button, CatalogCb.filter(F.action != "noop"))
    router.callback_query.register(page_counter_button, CatalogCb.filter(F.action == "noop"))
    return router
