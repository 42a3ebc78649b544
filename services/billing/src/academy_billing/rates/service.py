"""Exchange rates: Stars and coins per unit of a currency, set by operators, with defaults from settings.

Every paid course has a Stars price (Telegram sells digital goods in a bot for Stars only) and a coins
price (the wallet): the catalog's own price when the course is priced in that unit, else the price
converted at the rate and rounded up to a whole Star or coin, so a conversion never sells below price.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Literal

from academy_contracts.primitives import TELEGRAM_STARS
from academy_runtime.errors import ValidationFailedError
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from academy_billing.models import CURRENCIES, CoursePrice, ExchangeRate
from academy_billing.prices.repository import CoursePriceRepository
from academy_billing.settings import BillingSettings

RateSource = Literal["operator", "default"]


@dataclass(frozen=True)
class Rate:
    """Stars and coins per one unit of `currency` (one rouble, one dollar, one Star)."""

    currency: str
    stars_per_unit: Decimal
    coins_per_unit: Decimal
    source: RateSource


def default_rate(settings: BillingSettings, currency: str) -> Rate:
    """The rate from settings for a currency an operator has not priced."""
    if currency == "RUB":
        return Rate(currency, settings.default_stars_per_rub, Decimal(settings.coins_per_rub), "default")
    if currency == "USD":
        return Rate(currency, settings.default_stars_per_usd, settings.default_coins_per_usd, "default")
    if currency == TELEGRAM_STARS:
        return Rate(currency, Decimal(1), settings.default_coins_per_star, "default")
    raise ValidationFailedError(f"billing takes {', '.join(CURRENCIES)}, not {currency!r}")


async def rate_for(session: AsyncSession, settings: BillingSettings, currency: str) -> Rate:
    """The operator's rate for `currency`, else the default one. Raises ValidationFailedError for a
    currency billing does not take."""
    row = await session.get(ExchangeRate, currency)
    if row is None:
        return default_rate(settings, currency)
    return Rate(row.currency, row.stars_per_unit, row.coins_per_unit, "operator")


async def all_rates(session: AsyncSession, settings: BillingSettings) -> list[Rate]:
    return [await rate_for(session, settings, currency) for currency in CURRENCIES]


async def set_rate(
    session: AsyncSession, *, currency: str, stars_per_unit: Decimal, coins_per_unit: Decimal, updated_by: str
) -> Rate:
    """Store an operator's rate (a Star is always one Star: XTR's `stars_per_unit` must be 1)."""
    if currency not in CURRENCIES:
        raise ValidationFailedError(f"billing takes {', '.join(CURRENCIES)}, not {currency!r}")
    if currency == TELEGRAM_STARS and stars_per_unit != 1:
        raise ValidationFailedError("a Star is worth one Star: stars_per_unit of XTR must be 1")
    values = {
        "currency": currency,
        "stars_per_unit": stars_per_unit,
        "coins_per_unit": coins_per_unit,
        "updated_by": updated_by,
    }
    statement = insert(ExchangeRate).values(values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[ExchangeRate.currency], set_={**values, "updated_at": func.now()}
        )
    )
    return Rate(currency, stars_per_unit, coins_per_unit, "operator")


def _whole_up(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def whole_down(value: Decimal) -> int:
    """Coins credited for money are rounded down: a top-up never mints a fraction of a coin."""
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


@dataclass(frozen=True)
class CoursePricing:
    """What a paid course costs in each way it can be paid."""

    course_id: int
    title: str
    price: Decimal
    currency: str
    stars_price: int
    coins_price: int


async def course_pricing(session: AsyncSession, settings: BillingSettings, course: CoursePrice) -> CoursePricing:
    """The Stars and coins prices of an on-sale, paid course (`course.price > 0`)."""
    assert course.price is not None
    assert course.currency is not None
    assert course.title is not None
    rate = await rate_for(session, settings, course.currency)
    stars = course.stars_price if course.stars_price is not None else _whole_up(course.price * rate.stars_per_unit)
    return CoursePricing(
        course_id=course.course_id,
        title=course.title,
        price=course.price,
        currency=course.currency,
        stars_price=max(1, stars),
        coins_price=max(1, _whole_up(course.price * rate.coins_per_unit)),
    )


async def course_on_sale(session: AsyncSession, course_id: int) -> CoursePrice | None:
    """The price projection of a course, or None when billing has never heard of it."""
    return await CoursePriceRepository(session).by_course(course_id)
