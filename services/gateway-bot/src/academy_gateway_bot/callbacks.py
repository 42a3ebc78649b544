"""Callback data of the inline keyboards (aiogram factories): short prefixes, within Telegram's 64 bytes.

Callback data is 1-64 bytes, so it carries ids, pages, amounts and choices from a fixed list, never text an
operator or a learner typed (a category slug is up to 100 characters, a city too): a category travels as
its `CategoryRef`, a short digest of its slug that the handler resolves against the catalog's categories;
the learner's city is read from the learner. tests/test_callback_data.py packs every factory here with each
field at its widest and refuses a field of free text.

`fresh` asks for the screen as a new message instead of editing the one the button is under: the
buttons of notifications use it, so opening a lesson does not overwrite the congratulation.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import Annotated, Literal, Self

from academy_runtime.ids import INT32_MAX, INT64_MAX
from aiogram.filters.callback_data import CallbackData
from pydantic import Field, StringConstraints

CatalogAction = Literal["categories", "category", "noop"]
CourseAction = Literal["card", "enrol", "lessons", "continue"]
LessonAction = Literal["open", "done"]
MyCoursesAction = Literal["list", "transcript"]
LeaderboardScope = Literal["overall", "city", "category"]
RemindersAction = Literal["off", "on"]
BuyAction = Literal["stars", "coins", "confirm"]
WalletAction = Literal["show", "older", "newer", "confirm_on", "confirm_off"]
TopUpAction = Literal["menu", "rub", "custom", "stars_menu", "stars"]
ProfileAction = Literal["card", "photo", "photos", "data", "erase"]
AvatarAction = Literal["confirm", "decline", "restore", "remove", "page"]
ErasureAction = Literal["confirm", "cancel"]
AnnouncementsAction = Literal["off", "on"]

# 60 bits of SHA-256: two of a few hundred categories share a reference with a chance of about 1e-13.
CATEGORY_REF_LENGTH = 10
CategoryRef = Annotated[str, StringConstraints(max_length=CATEGORY_REF_LENGTH, pattern=r"^[A-Za-z0-9_-]*$")]
"""A category in callback data: `category_ref(slug)`, or "" for none. Never the slug itself."""

# The catalog serves at most page 10 000 of a listing.
CatalogPage = Annotated[int, Field(ge=0, le=10_000)]

# Ids as the services take them (academy_runtime.ids): a forged or mangled id (`ava:restore:-1`, one past
# 2**31 - 1) fails the factory's validation, so its filter does not match and the press is answered as any
# button of an old screen is («устарела», handlers/fallback.py), never sent to a service that would refuse it.
Id = Annotated[int, Field(ge=1, le=INT32_MAX)]
IdOrNone = Annotated[int, Field(ge=0, le=INT32_MAX)]
AvatarPage = Annotated[int, Field(ge=0, le=1_000)]
"""A page of «Мои фото» (10 avatars each): far more pages than anyone keeps photos."""
"""An id, or 0 where the button names none (the avatar offer's Yes/No)."""
BigIdOrNone = Annotated[int, Field(ge=0, le=INT64_MAX)]
"""A 64-bit id (billing's transactions), or 0 for none."""
Amount = Annotated[int, Field(ge=0, le=INT32_MAX)]


def category_ref(slug: str) -> str:
    """The category's reference in callback data: the same for the same slug in every process and release,
    so a button sent long ago still opens its category."""
    digest = hashlib.sha256(slug.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:CATEGORY_REF_LENGTH]


def category_for_ref(ref: str, slugs: Iterable[str]) -> str | None:
    """The slug among `slugs` (the catalog's categories) that `ref` stands for; None when no category has it
    (renamed since the button was sent). A button sent before references carried the slug itself, which
    still opens its category when the slug was short enough to be read as a reference."""
    if not ref:
        return None
    candidates = list(slugs)
    for slug in candidates:
        if category_ref(slug) == ref:
            return slug
    return ref if ref in candidates else None


class CatalogCb(CallbackData, prefix="cat"):
    """The catalog: its category list, or one page of a category's courses."""

    action: CatalogAction
    category: CategoryRef = ""
    page: CatalogPage = 1


class CourseCb(CallbackData, prefix="crs"):
    """A course: its card, enrolment, lesson list, or "continue" (the next lesson).

    `category`/`page` remember the catalog page the learner came from, for the Back button (`category` is
    the category's reference, handed on to the card's keyboard as it came).
    """

    action: CourseAction
    course_id: Id
    category: CategoryRef = ""
    page: CatalogPage = 0
    fresh: bool = False


class LessonCb(CallbackData, prefix="lsn"):
    action: LessonAction
    course_id: Id
    lesson_id: Id
    fresh: bool = False


class MyCoursesCb(CallbackData, prefix="my"):
    action: MyCoursesAction
    fresh: bool = False


class AchievementsCb(CallbackData, prefix="ach"):
    fresh: bool = False


class LeaderboardCb(CallbackData, prefix="lb"):
    """A leaderboard tab: overall, the learner's city (read from the learner), or a category (its reference)."""

    scope: LeaderboardScope
    category: CategoryRef = ""


class LeaderboardVisibilityCb(CallbackData, prefix="lbv"):
    """Appear on the leaderboards anonymously (`anonymous`) or by name again; `scope`/`category` are the tab
    the button is under, shown again after the change."""

    anonymous: bool
    scope: LeaderboardScope
    category: CategoryRef = ""


class RemindersCb(CallbackData, prefix="rem"):
    action: RemindersAction


class BuyCb(CallbackData, prefix="buy"):
    """Paying for a course: a Stars invoice, or coins from the wallet (`coins` = the price the learner saw,
    so a price that changed since is refused rather than charged); `confirm` is the confirmation tap."""

    action: BuyAction
    course_id: Id
    coins: Amount = 0


class WalletCb(CallbackData, prefix="wal"):
    """The balance screen: its first page, an older page (`ref` = billing's `before_id`), a newer page
    (`ref` = the id of the newest transaction shown), and the purchase-confirmation setting."""

    action: WalletAction
    ref: BigIdOrNone = 0
    fresh: bool = False


class TopUpCb(CallbackData, prefix="top"):
    """Top-up: the amounts (`amount` = coins a course still needs, 0 = none), one amount in roubles
    (`amount` roubles), a typed amount, the Stars amounts, one amount in Stars (`amount` stars)."""

    action: TopUpAction
    amount: Amount = 0
    fresh: bool = False


class ProfileCb(CallbackData, prefix="prf"):
    """The profile's buttons: the card (as a new message), «Сменить фото» (the chat waits for a photo),
    «Мои фото» (the avatar history), «Мои данные» (the export), «Отозвать согласие / удалить аккаунт»."""

    action: ProfileAction


class AvatarCb(CallbackData, prefix="ava"):
    """Avatars: Yes/No under «Сделать это фото аватаром?» (the photo is found by the message the buttons are
    under), go back to an earlier avatar (`avatar_id`), delete the current one (`avatar_id`: the one the
    screen showed as current, so a stale screen cannot delete a newer avatar), show a `page` of the history
    («⬅️ Старше» / «Новее ➡️»)."""

    action: AvatarAction
    avatar_id: IdOrNone = 0
    page: AvatarPage = 0

    @classmethod
    def unpack(cls, value: str) -> Self:
        """As `CallbackData.unpack`; a button sent before the history had pages (`ava:restore:5`) is page 0."""
        if value.count(cls.__separator__) == len(cls.model_fields) - 1:
            value += f"{cls.__separator__}0"
        return super().unpack(value)


# The erasure question's one-time reference (`handlers/privacy.py`): 48 random bits as 8 URL-safe characters,
# "" on buttons sent before questions had one.
QuestionRef = Annotated[str, StringConstraints(max_length=12, pattern=r"^[A-Za-z0-9_-]*$")]


class ErasureCb(CallbackData, prefix="era"):
    """The erasure confirmation: erase, or keep everything. `user_id`: the account the question was asked
    for, so a button left from an earlier account never erases the learner's new one; `question`: the
    question's one-time reference, kept in the chat's FSM data until the question is answered (either
    button consumes it), so a confirmation pressed after «Нет», or under an older question, erases nothing."""

    action: ErasureAction
    user_id: Id
    question: QuestionRef = ""


class AnnouncementsCb(CallbackData, prefix="ann"):
    """Under an operator's announcement (a broadcast, issue 12): stop announcements (`off`), or take them
    again (`on`, under the answer to `off`)."""

    action: AnnouncementsAction
