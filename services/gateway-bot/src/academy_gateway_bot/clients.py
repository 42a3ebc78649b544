"""The gateway's clients of the other services (signed as `gateway-bot`).

The users service has a typed client: its answers are parsed into the pydantic models below (the
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


@dataclass
class ServiceClients:
    users: UsersClient
    catalog: ServiceClient
    progress: ServiceClient
    gamification: ServiceClient
    billing: ServiceClient

    @classmethod
    def from_settings(
        cls, settings: GatewaySettings, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None
    ) -> ServiceClients:
        """Clients of the services at their configured URLs; `transports` (by service name) reach
        services running in the same process instead (integration tests)."""
        tokens = TokenCache(settings.service_auth_secret.get_secret_value(), settings.service_name)
        transports = transports or {}

        def client(name: str, url: str) -> ServiceClient:
            return ServiceClient(name, url, tokens, transport=transports.get(name))

        return cls(
            users=UsersClient("users", settings.users_url, tokens, transport=transports.get("users")),
            catalog=client("catalog", settings.catalog_url),
            progress=client("progress", settings.progress_url),
            gamification=client("gamification", settings.gamification_url),
            billing=client("billing", settings.billing_url),
        )

    async def aclose(self) -> None:
        for client in (self.users, self.catalog, self.progress, self.gamification, self.billing):
            await client.aclose()
