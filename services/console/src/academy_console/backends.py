"""The services' internal APIs, called as the signed-in operator.

Each call carries a token the console signs with the operators' key for that one service: `sub` = the
operator, `roles` = their account's roles, a few minutes long (OPERATOR_TOKEN_TTL_S), so every service checks
the roles itself and its audit log names `operator:<name>` (academy_runtime.auth). One
`academy_runtime.client.ServiceClient` per (operator, roles, service), kept while the process runs: its token
cache re-signs at half the lifetime, and its connection pool is reused.
"""

from __future__ import annotations

from typing import Any

from academy_runtime.auth import OperatorTokenCache, SigningKey
from academy_runtime.client import ServiceClient

from academy_console.settings import SERVICES, ConsoleSettings

MAX_CLIENTS = 256
"""Most clients kept (each a small connection pool): operators × services; the oldest closes beyond it."""


class Backends:
    """ServiceClients for the services of SERVICES, one per (operator, roles, service)."""

    def __init__(self, settings: ConsoleSettings, key: SigningKey) -> None:
        self.settings = settings
        self.key = key
        self._clients: dict[tuple[str, frozenset[str], str], ServiceClient] = {}

    async def client(self, operator: str, roles: frozenset[str], service: str) -> ServiceClient:
        """The client that calls `service` as `operator` with `roles` (non-empty). KeyError for an unknown
        service."""
        if service not in SERVICES:
            raise KeyError(service)
        key = (operator, roles, service)
        client = self._clients.get(key)
        if client is None:
            if len(self._clients) >= MAX_CLIENTS:
                oldest = next(iter(self._clients))
                await self._clients.pop(oldest).aclose()
            tokens = OperatorTokenCache(self.key, operator, sorted(roles), ttl_s=self.settings.operator_token_ttl_s)
            client = self._clients[key] = ServiceClient(
                service,
                self.settings.service_url(service),
                tokens,
                timeout_s=self.settings.service_timeout_s,
                retries=1,
            )
        return client

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


class Operator:
    """The signed-in person as the pages see them: name, roles, and their calls to the services."""

    def __init__(self, name: str, roles: frozenset[str], backends: Backends, csrf_token: str) -> None:
        self.name = name
        self.roles = roles
        self.backends = backends
        self.csrf_token = csrf_token

    def may(self, *roles: str) -> bool:
        """Whether the operator holds one of `roles`."""
        return bool(self.roles & set(roles))

    async def call(self, service: str, method: str, path: str, **kwargs: Any) -> Any:
        """`ServiceClient.request` on `service` as this operator (errors as ServiceClient raises them)."""
        client = await self.backends.client(self.name, self.roles, service)
        return await client.request(method, path, **kwargs)
