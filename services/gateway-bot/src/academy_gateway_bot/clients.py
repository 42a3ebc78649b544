"""The gateway's clients of the other services (signed as `gateway-bot`).

The users and billing services have typed clients: their answers are parsed into the pydantic models below (the
fields the bot uses; others are ignored, so a new field in users breaks nothing), and its refusals
arrive as the runtime's typed call errors (`RejectedCallError` for 422, `ConflictCallError` for 409,
…). The other services are reached through `ServiceClient`'s JSON methods.

Avatars travel as raw image bytes, which `ServiceClient` (JSON in, JSON out) does not carry: `UsersClient`
sends and reads those itself, with the same signed token, trace headers, idempotency key, retries and
error mapping (`ServiceClient._result`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import httpx
from academy_runtime.auth import TokenCache
from academy_runtime.client import ServiceClient, unreachable
from academy_runtime.errors import NotFoundError
from academy_runtime.http_cache import ResponseCache
from academy_runtime.telemetry import inject_headers
from pydantic import BaseModel, ConfigDict, TypeAdapter

from academy_gateway_bot.settings import GatewaySettings


class Account(BaseModel):
    """A learner as the users service answers (`LearnerOut`): who they are and how to reach them."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    telegram_id: int
    locale: str
    full_name: str | None = None
    # What the bot may keep and show of the name («Анна П.», derived by users): the full name is read
    # from users when a screen shows it, never stored here (issue 10).
    display_name: str | None = None
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


class Avatar(BaseModel):
    """One of a learner's avatars as users answers (`POST`/`GET .../avatars`): the processed image's
    media type, its size in pixels and bytes, and whether it is the current one."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    is_current: bool
    content_type: str
    width: int
    height: int
    size_bytes: int
    created_at: datetime


_AVATARS = TypeAdapter(list[Avatar])

AvatarSize = Literal["large", "small"]

# An avatar upload carries a photo of up to Telegram's 20 MB download limit, and users processes it
# (orientation, crop, two sizes) before it answers: more than the 5 s of an ordinary call.
AVATAR_UPLOAD_TIMEOUT_S = 60.0


class Erasure(BaseModel):
    """The users service's answer to an erasure (`POST .../erasure`)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    user_id: int
    erased_at: datetime


class UsersClient(ServiceClient):
    """The users service's internal API, typed. Raises `NotFoundError` only where "nobody" is not an
    answer; `RejectedCallError` (422) for a value users refuses (e.g. `invalid_phone`).

    Avatar refusals are `ServiceCallError`s whose `status_code`/`code` say why: 413 `payload_too_large`,
    415 or 422 for a file that is not an image, lies about its type, or has too many pixels."""

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

    # -- avatars -------------------------------------------------------------------------------------

    async def upload_avatar(self, user_id: int, image: bytes, content_type: str, *, idempotency_key: str) -> Avatar:
        """`POST /internal/users/{user_id}/avatars` with the image's bytes (`content_type`: image/jpeg,
        image/png or image/webp): it becomes the current avatar. The same key returns the same avatar."""
        response = await self._raw(
            "POST",
            f"/internal/users/{user_id}/avatars",
            content=image,
            headers={"content-type": content_type},
            idempotency_key=idempotency_key,
            timeout=AVATAR_UPLOAD_TIMEOUT_S,
        )
        return Avatar.model_validate(self._result(response))

    async def avatars(self, user_id: int) -> list[Avatar]:
        """The learner's avatars, newest first (the current one among them, if any)."""
        return _AVATARS.validate_python(await self.get(f"/internal/users/{user_id}/avatars"))

    async def restore_avatar(self, user_id: int, avatar_id: int) -> None:
        """`PUT .../avatars/current`: an earlier avatar becomes the current one again (a repeat is harmless).
        `NotFoundError` when the learner has no such avatar any more."""
        await self.put(f"/internal/users/{user_id}/avatars/current", json={"avatar_id": avatar_id})

    async def remove_current_avatar(self, user_id: int) -> bool:
        """`DELETE .../avatars/current`; False when there was none (404)."""
        try:
            await self.delete(f"/internal/users/{user_id}/avatars/current")
        except NotFoundError:
            return False
        return True

    async def current_avatar_image(self, user_id: int, size: AvatarSize) -> bytes | None:
        """The current avatar as image/webp bytes (`large` or `small`), or None when there is none."""
        return await self._image(f"/internal/users/{user_id}/avatar", size)

    async def avatar_image(self, user_id: int, avatar_id: int, size: AvatarSize) -> bytes | None:
        """One avatar of the history as image/webp bytes, or None when it is gone."""
        return await self._image(f"/internal/users/{user_id}/avatars/{avatar_id}/image", size)

    async def _image(self, path: str, size: AvatarSize) -> bytes | None:
        try:
            response = await self._raw("GET", path, params={"size": size})
        except NotFoundError:
            return None
        return response.content

    # -- the learner's rights (152-ФЗ art. 14: access; art. 9 §2, art. 21 §5: withdrawal and erasure) -----

    async def personal_data(self, user_id: int) -> dict[str, Any]:
        """`GET .../personal-data`: everything users stores about the learner (profile, avatars, the
        learner's audit entries), as users words it. Users records the export in its audit log."""
        answer: dict[str, Any] = await self.get(f"/internal/users/{user_id}/personal-data")
        return answer

    async def erase(self, user_id: int, *, reason: str, idempotency_key: str) -> Erasure | None:
        """`POST .../erasure`: users erases the learner and tells every service (`users.user_erased.v2`).
        None when the learner was erased already (404 `learner_not_found`)."""
        try:
            answer = await self.post(
                f"/internal/users/{user_id}/erasure", json={"reason": reason}, idempotency_key=idempotency_key
            )
        except NotFoundError:
            return None
        return Erasure.model_validate(answer)

    async def _raw(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """A call whose body or answer is not JSON; a successful response, else the typed call error.
        Retried like `ServiceClient.request`: GETs and keyed requests, on a transport error or a 502-504; never
        a body the server refused: users answers one over AVATAR_MAX_BYTES with 413 and `Connection: close`
        while the body is still coming, and aiohttp (ServiceClient's transport) reads that answer while it
        sends, so it is the typed 413 (`ServiceCallError`, code `payload_too_large`), not a transport error."""
        retryable = method == "GET" or idempotency_key is not None
        attempts = self.retries + 1 if retryable else 1
        for attempt in range(1, attempts + 1):
            sent = dict(headers or {})
            sent["authorization"] = f"Bearer {self.tokens.token_for(self.service)}"
            if idempotency_key:
                sent["idempotency-key"] = idempotency_key
            inject_headers(sent)
            try:
                response = await self._http.request(
                    method,
                    path,
                    content=content,
                    headers=sent,
                    params=dict(params or {}),
                    timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.TransportError as exc:
                if attempt < attempts:
                    await asyncio.sleep(0.2 * 2**attempt)
                    continue
                raise unreachable(self.service, exc) from exc
            if response.status_code in _RETRYABLE_STATUS and attempt < attempts:
                await asyncio.sleep(0.2 * 2**attempt)
                continue
            if not response.is_success:
                self._result(response)  # raises the typed error
            return response
        raise AssertionError("unreachable")  # pragma: no cover


_RETRYABLE_STATUS = frozenset({502, 503, 504})


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
        services running in the same process instead (integration tests).

        The catalog's client keeps the learner queries' answers for as long as the catalog lets callers
        (`Cache-Control: max-age`, `CATALOG_CLIENT_MAX_AGE_S`, 2 s by default): every screen of the catalog
        and of a lesson reads the categories, the course of the month or a course, and each is asked for
        once in that time per process, not once per learner (issue 11)."""
        tokens = TokenCache.from_settings(settings)
        transports = transports or {}

        def client(name: str, url: str) -> ServiceClient:
            return ServiceClient(name, url, tokens, transport=transports.get(name))

        return cls(
            users=UsersClient("users", settings.users_url, tokens, transport=transports.get("users")),
            catalog=ServiceClient(
                "catalog", settings.catalog_url, tokens, transport=transports.get("catalog"), cache=ResponseCache()
            ),
            progress=client("progress", settings.progress_url),
            gamification=client("gamification", settings.gamification_url),
            billing=BillingClient("billing", settings.billing_url, tokens, transport=transports.get("billing")),
        )

    async def aclose(self) -> None:
        for client in (self.users, self.catalog, self.progress, self.gamification, self.billing):
            await client.aclose()
