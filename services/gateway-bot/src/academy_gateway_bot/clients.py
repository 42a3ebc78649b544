"""The gateway's clients of the other services (signed as `gateway-bot`).

The users and billing services have typed clients: their answers are parsed into the pydantic models below (the
fields the bot uses; others are ignored, so a new field in users breaks nothing), and its refusals
arrive as the runtime's typed call errors (`RejectedCallError` for 422, `ConflictCallError` for 409,
…). The other services are reached through `ServiceClient`'s JSON methods.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from academy_runtime.auth import TokenCache
from academy_runtime.client import ServiceClient
from academy_runtime.errors import NotFoundError
from pydantic import BaseModel, ConfigDict

from academy_gateway_bot.settings import GatewaySettings


class Account(BaseModel):
    """A learner as the users service answers (`LearnerOut`): who they are and how to reach them."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    telegram_id: int
    locale: str
    full_name: str | None = None
    city: str | None = None
    phone: str | None = None
    consent_personal_data: bool = False
    time_zone: str | None = None
    time_zone_source: str | None = None
    revision: int = 0


class Registration(BaseModel):
    """The users service's answer to a registration (`RegistrationOut`)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    learner: Account
    created: bool


class UsersClient(ServiceClient):
    """The users service's internal API, typed. Raises `NotFoundError` only where "nobody" is not an
    answer; `RejectedCallError` (422) for a value users refuses (e.g. `invalid_phone`)."""

    async def find_by_telegram(self, telegram_id: int) -> Account | None:
        """The account of this Telegram user, or None when they never registered."""
        try:
            return Account.model_validate(await self.get(f"/internal/users/by-telegram/{telegram_id}"))
        except NotFoundError:
            return None

    async def account(self, user_id: int) -> Account:
        """The learner `user_id`; raises `NotFoundError` when there is none (erased, or a wrong id)."""
        return Account.model_validate(await self.get(f"/internal/users/{user_id}"))

    async def register(self, registration: Mapping[str, Any], *, idempotency_key: str) -> Registration:
        """`POST /internal/users/register` (consent, name, phone in E.164, city, locale)."""
        answer = await self.post("/internal/users/register", json=dict(registration), idempotency_key=idempotency_key)
        return Registration.model_validate(answer)

    async def change(self, user_id: int, changes: Mapping[str, Any], *, idempotency_key: str) -> Account:
        """`PATCH /internal/users/{user_id}` with the fields to change (name, city, locale, time zone)."""
        answer = await self.patch(f"/internal/users/{user_id}", json=dict(changes), idempotency_key=idempotency_key)
        return Account.model_validate(answer)


class StarsInvoice(BaseModel):
    """A Telegram Stars invoice billing prepared (`POST .../stars-invoices`): what `sendInvoice` needs."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    title: str
    description: str
    payload: str
    amount: int  # Stars (XTR has no fractional unit)


class WalletPurchase(BaseModel):
    """A course bought with coins (`POST .../purchases`): the coins taken and the balance left."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    coins: int
    balance: int


class TopUp(BaseModel):
    """A YooKassa top-up created (`POST .../top-ups`): where the learner pays, and the coins it buys."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    confirmation_url: str
    coins: int | None = None


class PreCheckoutVerdict(BaseModel):
    """Billing's answer to Telegram's pre-checkout query: take the Stars, or the reason not to."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    ok: bool
    reason: str | None = None


class StarsPaymentOutcome(BaseModel):
    """What billing did with a successful Stars payment: `course_purchased`, `topped_up` or `refunded`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    outcome: str
    course_id: int | None = None
    coins: int | None = None
    balance: int | None = None


class BillingClient(ServiceClient):
    """The billing service's internal API for the bot, typed. Refusals arrive as typed call errors whose
    `code` names the reason (`insufficient_funds`, `price_changed`, `already_owned`, `not_on_sale`,
    `stars_top_up_disabled`, `no_receipt_contact`, …)."""

    async def stars_invoice(
        self, user_id: int, order: Mapping[str, Any], *, locale: str, idempotency_key: str
    ) -> StarsInvoice:
        """An invoice for a course (`{"purpose": "course", "course_id"}`) or a top-up (`{"purpose":
        "top_up", "stars"}`), its texts in `locale`."""
        answer = await self.post(
            f"/internal/learners/{user_id}/stars-invoices",
            json=dict(order),
            params={"locale": locale},
            idempotency_key=idempotency_key,
        )
        return StarsInvoice.model_validate(answer)

    async def buy_with_coins(
        self, user_id: int, course_id: int, coins_price: int, *, idempotency_key: str
    ) -> WalletPurchase:
        """Charge the wallet `coins_price` (the price the learner saw) for the course."""
        answer = await self.post(
            f"/internal/learners/{user_id}/purchases",
            json={"course_id": course_id, "coins_price": coins_price},
            idempotency_key=idempotency_key,
        )
        return WalletPurchase.model_validate(answer)

    async def top_up(self, user_id: int, amount_rub: int, *, idempotency_key: str) -> TopUp:
        """A YooKassa payment of `amount_rub` whole roubles that credits coins once it succeeds."""
        answer = await self.post(
            f"/internal/learners/{user_id}/top-ups", json={"amount_rub": amount_rub}, idempotency_key=idempotency_key
        )
        return TopUp.model_validate(answer)

    async def pre_checkout(self, facts: Mapping[str, Any]) -> PreCheckoutVerdict:
        """Whether Telegram may take the Stars of this pre-checkout query (payload, user, currency, amount)."""
        return PreCheckoutVerdict.model_validate(await self.post("/internal/stars/pre-checkout", json=dict(facts)))

    async def record_stars_payment(self, facts: Mapping[str, Any]) -> StarsPaymentOutcome:
        """Report a `successful_payment`; idempotent on Telegram's charge id (the key is derived from it)."""
        answer = await self.post(
            "/internal/stars/payments",
            json=dict(facts),
            idempotency_key=f"stars-payment:{facts['telegram_payment_charge_id']}",
        )
        return StarsPaymentOutcome.model_validate(answer)

    async def set_confirm_purchases(self, user_id: int, *, confirm: bool) -> None:
        """Whether a coins purchase asks «Подтвердить покупку?» first."""
        await self.put(f"/internal/wallets/{user_id}/settings", json={"confirm_purchases": confirm})


@dataclass
class ServiceClients:
    users: UsersClient
    catalog: ServiceClient
    progress: ServiceClient
    gamification: ServiceClient
    billing: BillingClient

    @classmethod
    def from_settings(
        cls, settings: GatewaySettings, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None
    ) -> ServiceClients:
        """Clients of the services at their configured URLs; `transports` (by service name) reach
        services running in the same process instead (integration tests)."""
        tokens = TokenCache.from_settings(settings)
        transports = transports or {}

        def client(name: str, url: str) -> ServiceClient:
            return ServiceClient(name, url, tokens, transport=transports.get(name))

        return cls(
            users=UsersClient("users", settings.users_url, tokens, transport=transports.get("users")),
            catalog=client("catalog", settings.catalog_url),
            progress=client("progress", settings.progress_url),
            gamification=client("gamification", settings.gamification_url),
            billing=BillingClient("billing", settings.billing_url, tokens, transport=transports.get("billing")),
        )

    async def aclose(self) -> None:
        for client in (self.users, self.catalog, self.progress, self.gamification, self.billing):
            await client.aclose()
