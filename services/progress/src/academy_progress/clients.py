"""The users service as progress calls it: the learner's full name and current avatar, for the transcript
(issue 10). Progress keeps neither: both are read when a transcript is rendered and drawn on the PDF only.

One `UsersClient` per process, opened by `open_users_client` (a `ServiceDefinition.on_startup` hook) and
kept in `resources.extras`; it signs its calls as `progress` (the users service admits progress on the
avatar endpoint and on `GET /internal/users/{user_id}`, its `LearnerReader`).
"""

from __future__ import annotations

import httpx
from academy_runtime.auth import TokenCache
from academy_runtime.client import ServiceCallError, ServiceClient
from academy_runtime.errors import DependencyUnavailableError, LearnerNotFoundError, NotFoundError
from academy_runtime.resources import Resources
from academy_runtime.telemetry import inject_headers

from academy_progress.settings import ProgressSettings

USERS_EXTRA = "users"
AVATAR_CONTENT_TYPE = "image/webp"


class AvatarRefusedError(ValueError):
    """The users service answered with something progress does not draw: not `image/webp`, or over the size."""


class UsersClient(ServiceClient):
    """The users service: `GET /internal/users/{user_id}` (the full name) and
    `GET /internal/users/{user_id}/avatar?size=small` (image/webp bytes)."""

    async def full_name(self, user_id: int) -> str | None:
        """The learner's full name as the users service holds it now; None when they gave none.

        Only the name is taken from the answer (the rest of the profile is dropped at once), and it is never
        logged. Raises LearnerNotFoundError for a 404 (users no longer knows the learner: erased there, the
        erasure not yet heard of here) and DependencyUnavailableError when users cannot be reached, times
        out, fails, refuses progress or answers something that is not a learner.
        """
        try:
            learner = await self.get(f"/internal/users/{user_id}")
        except NotFoundError as exc:
            raise LearnerNotFoundError(user_id, f"learner {user_id} is not known to the users service") from exc
        except ServiceCallError as exc:  # 403 (progress not admitted yet), 422...: not the learner's doing
            raise DependencyUnavailableError(f"users answered {exc.status_code} for a learner") from exc
        except ValueError as exc:  # a 200 that is not JSON
            raise DependencyUnavailableError("users answered a learner that is not JSON") from exc
        name = learner.get("full_name") if isinstance(learner, dict) else None
        if name is not None and not isinstance(name, str):
            raise DependencyUnavailableError("users answered a learner without a readable full_name")
        return name or None

    async def small_avatar(self, user_id: int, *, max_bytes: int) -> bytes | None:
        """The learner's current avatar, small size, as WEBP bytes; None when they have none (404
        `avatar_not_found`, or no such learner). Raises DependencyUnavailableError when users cannot be
        reached, times out or fails (any other status), AvatarRefusedError for an answer that is not WEBP
        or is longer than `max_bytes` (read no further than that)."""
        headers = inject_headers({"authorization": f"Bearer {self.tokens.token_for(self.service)}"})
        try:
            async with self._http.stream(
                "GET", f"/internal/users/{user_id}/avatar", params={"size": "small"}, headers=headers
            ) as response:
                if response.status_code == 404:  # noqa: PLR2004 - the endpoint's "no avatar"
                    return None
                if response.status_code != 200:  # noqa: PLR2004
                    raise DependencyUnavailableError(f"users answered {response.status_code} for an avatar")
                content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if content_type != AVATAR_CONTENT_TYPE:
                    raise AvatarRefusedError(f"an avatar of type {content_type or 'none'!r}, not {AVATAR_CONTENT_TYPE}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise AvatarRefusedError(f"an avatar of more than {max_bytes} bytes")
                return bytes(body)
        except httpx.HTTPError as exc:
            raise DependencyUnavailableError(f"users is unreachable: {type(exc).__name__}") from exc


async def open_users_client(resources: Resources) -> None:
    """Start-up hook: the users client of this process (`users_client(resources)`)."""
    settings = resources.settings_as(ProgressSettings)
    resources.extras[USERS_EXTRA] = UsersClient(
        "users", settings.users_url, TokenCache.from_settings(settings), timeout_s=settings.users_timeout_s, retries=0
    )


def users_client(resources: Resources) -> UsersClient | None:
    """The process's users client; None when the process was opened without it (a test's own resources)."""
    client = resources.extras.get(USERS_EXTRA)
    return client if isinstance(client, UsersClient) else None
