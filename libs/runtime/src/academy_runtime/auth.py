"""Service-to-service authentication: a short-lived HS256 token naming the calling service.

The caller signs `{"iss": <caller>, "aud": <callee>, "iat", "exp"}` with the shared secret; the
callee checks the signature, the expiry and that the audience is itself. A request without a token,
with a bad one, or with one meant for another service gets 401 before any handler runs.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request

from academy_runtime.errors import ForbiddenError, UnauthorizedError

_ALGORITHM = "HS256"
_LEEWAY_S = 10


def issue_service_token(secret: str, *, caller: str, audience: str, ttl_s: int = 300) -> str:
    now = int(time.time())
    return jwt.encode({"iss": caller, "aud": audience, "iat": now, "exp": now + ttl_s}, secret, _ALGORITHM)


def verify_service_token(secret: str, token: str, *, audience: str) -> str:
    """Return the calling service's name, or raise UnauthorizedError."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            audience=audience,
            leeway=_LEEWAY_S,
            options={"require": ["iss", "aud", "exp", "iat"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise UnauthorizedError("service token expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise UnauthorizedError(f"service token is not meant for {audience}") from exc
    except jwt.PyJWTError as exc:
        raise UnauthorizedError("invalid service token") from exc
    caller = claims.get("iss")
    if not isinstance(caller, str) or not caller:
        raise UnauthorizedError("service token names no caller")
    return caller


class TokenCache:
    """Re-uses a signed token until shortly before it expires (signing on every call is wasted work)."""

    def __init__(self, secret: str, caller: str, ttl_s: int = 300) -> None:
        self.secret = secret
        self.caller = caller
        self.ttl_s = ttl_s
        self._tokens: dict[str, tuple[str, float]] = {}

    def token_for(self, audience: str) -> str:
        cached = self._tokens.get(audience)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        token = issue_service_token(self.secret, caller=self.caller, audience=audience, ttl_s=self.ttl_s)
        self._tokens[audience] = (token, now + self.ttl_s / 2)
        return token


async def _service_caller(request: Request) -> str:
    # `async def` although nothing is awaited: a plain `def` dependency costs a thread-pool hop per request.
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise UnauthorizedError("missing service token (Authorization: Bearer <token>)")
    settings = request.app.state.resources.settings
    caller = verify_service_token(
        settings.service_auth_secret.get_secret_value(), token, audience=settings.service_name
    )
    request.state.caller = caller
    return caller


ServiceCaller = Annotated[str, Depends(_service_caller)]
"""The name of the authenticated calling service; declaring it makes an endpoint internal."""


def callers_from_settings(field: str, action: str) -> Any:
    """A dependency that admits only the callers listed in the service's setting `field` (a list of
    service names, e.g. `operator_callers`); others get 403 naming what they may not do."""

    async def check(request: Request, caller: ServiceCaller) -> str:
        allowed = getattr(request.app.state.resources.settings, field, None) or []
        if caller not in allowed:
            raise ForbiddenError(f"service {caller!r} may not {action}")
        return caller

    return Depends(check)


def require_callers(*allowed: str) -> object:
    """A dependency that also limits which services may call an endpoint."""

    async def check(caller: ServiceCaller) -> str:
        if caller not in allowed:
            raise ForbiddenError(f"service {caller!r} may not call this endpoint")
        return caller

    return Depends(check)
