"""Callback data of the inline keyboards (aiogram factories): short prefixes, within Telegram's 64 bytes.

`fresh` asks for the screen as a new message instead of editing the one the button is under: the
buttons of notifications use it, so opening a lesson does not overwrite the congratulation.
"""

from __future__ import annotations

from typing import Literal

from aiogram.filters.callback_data import CallbackData

CatalogAction = Literal["categories", "category", "noop"]
CourseAction = Literal["card", "enrol", "lessons", "continue"]
LessonAction = Literal["open", "done"]
MyCoursesAction = Literal["list", "transcript"]
LeaderboardScope = Literal["overall", "city", "category"]
RemindersAction = Literal["off", "on"]
BuyAction = Literal["stars", "coins", "confirm"]
WalletAction = Literal["show", "older", "newer", "confirm_on", "confirm_off"]
TopUpAction = Literal["menu", "rub", "custom", "stars_menu", "stars"]


class CatalogCb(CallbackData, prefix="cat"):
    """The catalog: its category list, or one page of a category's courses."""

    action: CatalogAction
    category: str = ""
    page: int = 1


class CourseCb(CallbackData, prefix="crs"):
    """A course: its card, enrolment, lesson list, or "continue" (the next lesson).

    `category`/`page` remember the catalog page the learner came from, for the Back button.
    """

    action: CourseAction
    course_id: int
    category: str = ""
    page: int = 0
    fresh: bool = False


class LessonCb(CallbackData, prefix="lsn"):
    action: LessonAction
    course_id: int
    lesson_id: int
    fresh: bool = False


class MyCoursesCb(CallbackData, prefix="my"):
    action: MyCoursesAction
    fresh: bool = False


class AchievementsCb(CallbackData, prefix="ach"):
    fresh: bool = False


class LeaderboardCb(CallbackData, prefix="lb"):
    scope: LeaderboardScope
    category: str = ""


class RemindersCb(CallbackData, prefix="rem"):
    action: RemindersAction


class BuyCb(CallbackData, prefix="buy"):
    """Paying for a course: a Stars invoice, or coins from the wallet (`coins` = the price the learner saw,
    so a price that changed since is refused rather than charged); `confirm` is the confirmation tap."""

    action: BuyAction
    course_id: int
    coins: int = 0


class WalletCb(CallbackData, prefix="wal"):
    """The balance screen: its first page, an older page (`ref` = billing's `before_id`), a newer page
    (`ref` = the id of the newest transaction shown), and the purchase-confirmation setting."""

    action: WalletAction
    ref: int = 0
    fresh: bool = False


class TopUpCb(CallbackData, prefix="top"):
    """Top-up: the amounts (`amount` = coins a course still needs, 0 = none), one amount in roubles
    (`amount` roubles), a typed amount, the Stars amounts, one amount in Stars (`amount` stars)."""

    action: TopUpAction
    amount: int = 0
    fresh: bool = False
