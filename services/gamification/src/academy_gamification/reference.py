"""The reference data every event reads: the levels and the active achievement rules, cached in the process.

Both tables are filled by migrations (the seed's `levels` and `achievements`) and change with a release, not
with traffic; reading them on every event was 3 of the 30 SQL statements a completed lesson cost (pipeline
bench). A process keeps what it read for `REFERENCE_TTL_S`, so a rule switched off by hand in the database
reaches every worker within that time without a restart. The rows are kept as plain frozen values: ORM
instances outlive neither their session nor its commit.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.ext.asyncio import AsyncSession

from academy_gamification.models import Achievement, Level

REFERENCE_TTL_S = 60.0


@dataclass(frozen=True, slots=True)
class LevelRow:
    """One row of `levels`: reached with `min_points` points or more."""

    level: int
    min_points: int
    title_ru: str
    title_en: str


@dataclass(frozen=True, slots=True)
class AchievementRule:
    """One active row of `achievements`: unlocked when `condition_type` reaches `condition_value`."""

    id: int
    code: str
    title: str
    title_en: str | None
    description: str
    description_en: str | None
    points: int
    condition_type: str
    condition_value: int
    category: str | None


@dataclass(frozen=True, slots=True)
class ReferenceData:
    """`levels` by `min_points` ascending, active `rules` by id."""

    levels: tuple[LevelRow, ...]
    rules: tuple[AchievementRule, ...]
    loaded_at: float


# Per engine (a test process may run several services' stacks, each on its own database); weakly, so a
# disposed engine takes its entry with it. Keyed by the object: rendering its URL cost a string per event.
_cache: weakref.WeakKeyDictionary[Engine, ReferenceData] = weakref.WeakKeyDictionary()


async def reference_data(session: AsyncSession) -> ReferenceData:
    """The levels and active rules, read at most once per `REFERENCE_TTL_S` per database and process."""
    key = session.get_bind().engine
    cached = _cache.get(key)
    now = time.monotonic()
    if cached is not None and now - cached.loaded_at < REFERENCE_TTL_S:
        return cached
    levels = await session.execute(
        select(Level.level, Level.min_points, Level.title_ru, Level.title_en).order_by(Level.min_points)
    )
    rules = await session.scalars(select(Achievement).where(Achievement.is_active).order_by(Achievement.id))
    loaded = ReferenceData(
        levels=tuple(LevelRow(*row) for row in levels),
        rules=tuple(_rule(rule) for rule in rules),
        loaded_at=now,
    )
    if loaded.levels:  # an empty table is a database being set up: ask again next time
        _cache[key] = loaded
    return loaded


def _rule(rule: Achievement) -> AchievementRule:
    return AchievementRule(
        id=rule.id,
        code=rule.code,
        title=rule.title,
        title_en=rule.title_en,
        description=rule.description,
        description_en=rule.description_en,
        points=rule.points,
        condition_type=rule.condition_type,
        condition_value=rule.condition_value,
        category=rule.category,
    )


def forget_reference_data() -> None:
    """Drop what this process cached (tests that change the reference tables)."""
    _cache.clear()
