"""Points, level, streak and achievements (gamification), and the leaderboards: overall, my city, a category."""

from __future__ import annotations

from typing import Any

from academy_runtime.errors import NotFoundError
from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from academy_gateway_bot import keyboards
from academy_gateway_bot.callbacks import AchievementsCb, LeaderboardCb, LeaderboardVisibilityCb, category_for_ref
from academy_gateway_bot.clients import ServiceClients
from academy_gateway_bot.context import LearnerCtx
from academy_gateway_bot.i18n import _, button_filter, current_locale
from academy_gateway_bot.screens import (
    Event,
    answer_callback,
    category_titles,
    escape,
    format_date,
    not_registered,
    show,
)

LEADERBOARD_SIZE = 10
# Locked achievements shown with their progress: the closest few, not the whole rule table.
LOCKED_SHOWN = 5
MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}


async def achievements_command(message: Message, learner: LearnerCtx | None, clients: ServiceClients) -> None:
    if learner is None:
        await not_registered(message)
        return
    await show_achievements(message, learner, clients, edit=False)


async def achievements_button(
    callback: CallbackQuery, callback_data: AchievementsCb, learner: LearnerCtx | None, clients: ServiceClients
) -> None:
    if learner is None:
        await not_registered(callback)
        return
    await show_achievements(callback, learner, clients, edit=not callback_data.fresh)
    await answer_callback(callback)


def localized(item: dict[str, Any], field: str) -> str:
    """`title` is Russian; `title_en` the English one, when there is one."""
    locale = current_locale()
    if locale != "ru" and item.get(f"{field}_en"):
        return str(item[f"{field}_en"])
    return str(item.get(field) or "")


async def show_achievements(event: Event, learner: LearnerCtx, clients: ServiceClients, *, edit: bool) -> None:
    locale = learner.locale
    points = await clients.gamification.get(f"/internal/learners/{learner.user_id}/points")
    achievements = (await clients.gamification.get(f"/internal/learners/{learner.user_id}/achievements"))["items"]
    next_level_points = points.get("next_level_points")
    if next_level_points is None:
        next_line = _("ach-top-level")
    else:
        to_go = points.get("points_to_next_level", next_level_points - points["total_points"])
        next_line = _("ach-to-next-level", points=max(0, to_go))
    streak = points.get("streak_days", 0)
    text = _(
        "ach-summary",
        points=points["total_points"],
        level=points["level"],
        level_title=escape(points.get(f"level_title_{locale}") or points.get("level_title_ru") or ""),
        next=next_line,
        streak=_("ach-streak-days", days=streak) if streak else _("ach-streak-none"),
        lessons=points.get("lessons_completed", 0),
        courses=points.get("courses_completed", 0),
    )
    unlocked = sorted((a for a in achievements if a["unlocked"]), key=lambda a: a.get("earned_at") or "")
    locked = [a for a in achievements if not a["unlocked"]]
    # The nearest goals first: the largest share of the condition already reached.
    locked.sort(key=lambda a: -(a.get("progress") or 0) / max(1, a.get("condition_value") or 1))
    if unlocked:
        text += "\n\n" + _("ach-unlocked-header", count=len(unlocked))
        for achievement in unlocked:
            title = escape(localized(achievement, "title"))
            text += "\n" + _("ach-unlocked-line", title=title, date=format_date(achievement.get("earned_at")))
    else:
        text += "\n\n" + _("ach-none")
    if locked:
        text += "\n\n" + _("ach-locked-header")
        for achievement in locked[:LOCKED_SHOWN]:
            target = achievement.get("condition_value") or 1
            text += "\n" + _(
                "ach-locked-line",
                title=escape(localized(achievement, "title")),
                progress=min(achievement.get("progress") or 0, target),
                target=target,
            )
    await show(event, text, keyboards.achievements(), edit=edit)


async def leaderboard_command(message: Message, learner: LearnerCtx | None, clients: ServiceClients) -> None:
    if learner is None:
        await not_registered(message)
        return
    await show_leaderboard(message, learner, clients, LeaderboardCb(scope="overall"), edit=False)


async def leaderboard_button(
    callback: CallbackQuery, callback_data: LeaderboardCb, learner: LearnerCtx | None, clients: ServiceClients
) -> None:
    if learner is None:
        await not_registered(callback)
        return
    await show_leaderboard(callback, learner, clients, callback_data, edit=True)
    await answer_callback(callback)


async def leaderboard_visibility_button(
    callback: CallbackQuery,
    callback_data: LeaderboardVisibilityCb,
    learner: LearnerCtx | None,
    clients: ServiceClients,
) -> None:
    """Appear on the leaderboards as «Участник №…» instead of the display name, or by name again; the tab
    the button is under comes back with the change."""
    if learner is None:
        await not_registered(callback)
        return
    try:
        await clients.gamification.put(
            f"/internal/learners/{learner.user_id}/leaderboard-visibility",
            json={"anonymous": callback_data.anonymous},
        )
    except NotFoundError:
        # Gamification has not heard of the registration yet (it comes by event): a moment later it has.
        await answer_callback(callback, _("lb-visibility-not-ready"), alert=True)
        return
    tab = LeaderboardCb(scope=callback_data.scope, category=callback_data.category)
    await show_leaderboard(callback, learner, clients, tab, edit=True)
    await answer_callback(callback, _("lb-now-anonymous" if callback_data.anonymous else "lb-now-named"))


async def learner_categories(clients: ServiceClients, learner: LearnerCtx) -> dict[str, str]:
    """The categories of the learner's courses (slug → title), latest enrolment first."""
    courses = await clients.progress.get(f"/internal/learners/{learner.user_id}/courses")
    courses.sort(key=lambda c: c["enrolled_at"], reverse=True)
    titles = await category_titles(clients)
    slugs = dict.fromkeys(c["category"] for c in courses if c.get("category"))
    return {slug: titles.get(slug, slug) for slug in slugs}


async def tab_category(clients: ServiceClients, ref: str, categories: dict[str, str]) -> tuple[str, str] | None:
    """The slug and title of the category a tab's reference stands for: one of the learner's `categories`,
    else any of the catalog's; None when no category has it (renamed since the tab was sent)."""
    slug = category_for_ref(ref, categories)
    if slug is not None:
        return slug, categories[slug]
    every_category = await category_titles(clients)
    slug = category_for_ref(ref, every_category)
    return (slug, every_category[slug]) if slug is not None else None


async def show_leaderboard(
    event: Event, learner: LearnerCtx, clients: ServiceClients, tab: LeaderboardCb, *, edit: bool
) -> None:
    categories = await learner_categories(clients, learner)
    scope = tab.scope
    category = await tab_category(clients, tab.category, categories) if scope == "category" else None
    if (scope == "city" and not learner.city) or (scope == "category" and category is None):
        scope = "overall"
    params: dict[str, Any] = {"scope": scope, "user_id": learner.user_id, "limit": LEADERBOARD_SIZE}
    if scope == "city":
        params["city"] = learner.city
        scope_title = _("lb-scope-city", city=escape(learner.city))
    elif scope == "category" and category is not None:
        slug, title = category
        params["category"] = slug
        scope_title = _("lb-scope-category", category=escape(title))
    else:
        scope_title = _("lb-scope-overall")
    board = await clients.gamification.get("/internal/leaderboards", params=params)
    text = _("lb-title", scope=scope_title) + "\n"
    anonymous = bool(board.get("me_anonymous"))
    if anonymous:
        text += "\n" + _("lb-you-are-anonymous") + "\n"
    top = board.get("top") or []
    text += "".join(entry_line(entry, learner) for entry in top) or ("\n" + _("lb-empty"))
    me = board.get("me")
    if me is None:
        text += "\n\n" + _("lb-me-none")
    else:
        text += "\n\n" + _("lb-me", rank=me["rank"], points=me["points"])
        in_top = any(entry["user_id"] == learner.user_id for entry in top)
        neighbours = [n for n in board.get("neighbours") or [] if n["user_id"] != learner.user_id]
        if neighbours and not in_top:
            around = sorted([*neighbours, me], key=lambda entry: entry["rank"])
            text += ("\n\n" + _("lb-neighbours")) + "".join(entry_line(entry, learner) for entry in around)
    current_category = category[0] if category is not None else ""
    markup = keyboards.leaderboard_tabs(
        scope, current_category, city=learner.city, categories=categories, anonymous=anonymous
    )
    await show(event, text, markup, edit=edit)


def entry_line(entry: dict[str, Any], learner: LearnerCtx) -> str:
    """One place of the board: the display name («Анна П.»), or «Участник №<rank>» for a learner who chose
    to appear anonymously (or has no name); the learner's own line in bold, marked «вы» when anonymous."""
    mine = entry["user_id"] == learner.user_id
    if entry.get("display_name"):
        name = escape(entry["display_name"])
    else:
        name = _("lb-anonymous-you" if mine else "lb-anonymous", rank=entry["rank"])
    if mine:
        name = f"<b>{name}</b>"
    place = MEDALS.get(entry["rank"], f"{entry['rank']}.")
    return "\n" + _("lb-entry", place=place, name=name, points=entry["points"])


def make_router() -> Router:
    """A fresh router each time: an aiogram router can belong to one dispatcher only."""
    router = Router(name="achievements")
    router.message.register(achievements_command, Command("achievements"))
    router.message.register(achievements_command, button_filter("menu-achievements"))
    router.message.register(leaderboard_command, Command("leaderboard"))
    router.callback_query.register(achievements_button, AchievementsCb.filter())
    router.callback_query.register(leaderboard_button, LeaderboardCb.filter())
    router.callback_query.register(leaderboard_visibility_button, LeaderboardVisibilityCb.filter())
    return router
