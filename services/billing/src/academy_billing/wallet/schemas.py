from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

TransactionType = Literal["topup", "purchase", "refund", "reward", "adjustment"]

MAX_COINS_PER_CHANGE = 1_000_000_000  # far above any real change; stops a typo from minting billions


class WalletOut(BaseModel):
    user_id: int
    coins: int = Field(description="Current balance; 0 for a learner who never had a wallet change.")
    low_balance_threshold: int
    is_low: bool = Field(description="True when the balance is at or below the threshold.")
    confirm_purchases: bool = Field(
        default=True, description="The learner's setting: confirm before a course is charged to the wallet."
    )
    updated_at: datetime | None = Field(description="Time of the last change; null when there was none.")


class WalletTransactionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    amount: int = Field(description="Coins added (positive) or taken (negative).")
    type: TransactionType
    description: str
    balance_after: int
    payment_id: int | None
    reference: str = Field(description="What the change is for; unique, so a change is applied once.")
    created_at: datetime


class WalletChange(BaseModel):
    """The outcome of a credit or debit: the ledger row, and whether this call applied it."""

    transaction: WalletTransactionOut
    applied: bool = Field(description="False when the reference had already been applied (a replay).")


class TransactionPage(BaseModel):
    items: list[WalletTransactionOut] = Field(description="Newest first.")
    next_before_id: int | None = Field(
        description="Pass as `before_id` to get the next (older) page; null on the last page."
    )


class AdjustWallet(BaseModel):
    """Command: an operator credits (positive `delta`) or debits (negative) a learner's wallet.

    Who asked is the operator token's `sub`, recorded in the transaction's description; the body names no
    one (a name in the body could differ from the token's)."""

    model_config = ConfigDict(extra="forbid")

    delta: int = Field(
        ge=-MAX_COINS_PER_CHANGE,
        le=MAX_COINS_PER_CHANGE,
        description="Signed coins; not zero.",
        json_schema_extra={"not": {"const": 0}},
    )
    # At least 3 characters once the spaces around are stripped (`_meaningful`), as a pattern for the schema.
    reason: str = Field(
        min_length=3,
        max_length=300,
        pattern=r"\S[\s\S]+\S",
        description="Why, as the learner's history will show it.",
    )

    @field_validator("delta")
    @classmethod
    def _nonzero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("an adjustment changes the balance: delta must not be 0")
        return value

    @field_validator("reason")
    @classmethod
    def _meaningful(cls, value: str) -> str:
        stripped = value.strip()
        if len(stripped) < 3:  # noqa: PLR2004
            raise ValueError("give a reason of at least 3 characters")
        return stripped


class AdjustmentOut(BaseModel):
    transaction: WalletTransactionOut
    applied: bool
    balance: int = Field(description="Balance right after the adjustment.")


class WalletAuditOut(BaseModel):
    """Whether a wallet's cached balance agrees with its ledger."""

    user_id: int
    balance: int = Field(description="The wallet's stored balance.")
    ledger_sum: int = Field(description="Sum of the wallet's transactions.")
    transactions: int
    broken_links: int = Field(
        description="Transactions whose balance_after does not equal the running sum of the ledger up to them."
    )
    consistent: bool
