"""The gateway's clients of the other services (signed as `gateway-bot`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from academy_runtime.auth import TokenCache
from academy_runtime.client import ServiceClient

from academy_gateway_bot.settings import GatewaySettings


@dataclass
class ServiceClients:
    users: ServiceClient
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
            users=client("users", settings.users_url),
            catalog=client("catalog", settings.catalog_url),
            progress=client("progress", settings.progress_url),
            gamification=client("gamification", settings.gamification_url),
            billing=client("billing", settings.billing_url),
        )

    async def aclose(self) -> None:
        for client in (self.users, self.catalog, self.progress, self.gamification, self.billing):
            await client.aclose()
