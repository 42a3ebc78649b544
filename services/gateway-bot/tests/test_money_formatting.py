"""Coins in words and typed top-up amounts (pure functions)."""

import pytest
from academy_gateway_bot.handlers.wallet import parse_amount
from academy_gateway_bot.i18n import use_locale
from academy_gateway_bot.screens import format_coins


@pytest.mark.parametrize(
    ("coins", "case", "expected"),
    [
        (1, "nom", "1 монета"),
        (3, "nom", "3 монеты"),
        (11, "nom", "11 монет"),
        (21, "acc", "21 монету"),
        (1500, "nom", "1 500 монет"),
        (1, "gen", "1 монеты"),
        (2, "gen", "2 монет"),
        (-490, "nom", "-490 монет"),
    ],
)
def test_coins_in_russian(coins: int, case: str, expected: str) -> None:
    with use_locale("ru"):
        assert format_coins(coins, case=case) == expected


def test_coins_in_english() -> None:
    with use_locale("en"):
        assert format_coins(1) == "1 coin"
        assert format_coins(1500) == "1,500 coins"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("500", (500, None)),
        ("1 500 ₽", (1500, None)),
        ("700 руб.", (700, None)),
        ("500.00", (500, None)),
        ("0", (0, None)),
        ("-5", (None, "topup-negative")),
        ("−300", (None, "topup-negative")),
        ("12,50", (None, "topup-not-whole")),
        ("пятьсот", (None, "topup-not-a-number")),
        ("", (None, "topup-not-a-number")),
        ("5e3", (None, "topup-not-a-number")),
        ("+200", (200, None)),
        ("1" * 5000, (None, "topup-too-large")),  # more digits than int() converts: it raised
        ("12," + "5" * 5000, (None, "topup-not-a-number")),
    ],
)
def test_typed_amounts(typed: str, expected: tuple[int | None, str | None]) -> None:
    assert parse_amount(typed) == expected
