"""The gateway's clients of the other services (signed as `gateway-bot`)."""

from __future__ import annotations

from dataclasses import dataclass

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
    def from_settings(cls, settings: GatewaySettings) -> ServiceClients:
        tokens = TokenCache(settings.service_auth_secret.get_secret_value(), settings.service_name)
        return cls(
            users=ServiceClient("users", settings.users_url, tokens),
            catalog=ServiceClient("catalog", settings.catalog_url, tokens),
            progress=ServiceClient("progress", settings.progress_url, tokens),
            gamification=ServiceClient("gamification", settings.gamification_url, tokens),
            billing=ServiceClient("billing", settings.billing_url, tokens),
        )

    async def aclose(self) -> None:
        for client in (self.users, self.catalog, self.progress, self.gamification, self.billing):
            await client.aclose()
