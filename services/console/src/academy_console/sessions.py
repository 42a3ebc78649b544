"""Server-side sessions in Redis: a random id in a cookie, the session itself (who, since when, its CSRF
token) under a digest of that id.

OWASP's session management cheat sheet: the id is 256 random bits (`secrets.token_urlsafe(32)`), made anew
at sign-in (no fixation), sent in a cookie that is HttpOnly, SameSite=Strict, Secure outside development and
has no Expires (gone with the browser); the session ends after `SESSION_IDLE_S` without a request (the key's
TTL, renewed by each request) and `SESSION_ABSOLUTE_S` after sign-in whatever happens; signing out deletes it.
Redis holds SHA-256 of the id, not the id, so a copy of Redis's data signs nobody in.

CSRF (OWASP's CSRF cheat sheet, synchroniser token): each session has its own random token, which every form
carries in a hidden field and every POST must return; SameSite=Strict is the second layer. The sign-in form,
which comes before any session, uses a double-submit cookie instead (`LOGIN_CSRF_COOKIE`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import asdict, dataclass

from academy_runtime.resources import RedisClient

SESSION_COOKIE = "academy_console_session"
LOGIN_CSRF_COOKIE = "academy_console_login_csrf"


@dataclass(frozen=True)
class Session:
    """One operator's signed-in session. `created_at`/`last_seen_at`: seconds since the epoch."""

    operator: str
    csrf_token: str
    created_at: float
    last_seen_at: float


class SessionStore:
    """Sessions under `<REDIS_PREFIX>console:session:<sha256 of the id>`, JSON, with the idle TTL."""

    def __init__(self, redis: RedisClient, prefix: str, *, idle_s: int, absolute_s: int) -> None:
        self.redis = redis
        self.prefix = f"{prefix}console:session:"
        self.idle_s = idle_s
        self.absolute_s = absolute_s

    def _key(self, session_id: str) -> str:
        return self.prefix + hashlib.sha256(session_id.encode()).hexdigest()

    async def start(self, operator: str) -> tuple[str, Session]:
        """A new session for `operator`: (the id for the cookie, the session)."""
        session_id = secrets.token_urlsafe(32)
        now = time.time()
        session = Session(operator=operator, csrf_token=secrets.token_urlsafe(32), created_at=now, last_seen_at=now)
        await self.redis.set(self._key(session_id), json.dumps(asdict(session)), ex=self.idle_s)
        return session_id, session

    async def get(self, session_id: str | None) -> Session | None:
        """The live session of `session_id`, its idle time renewed; None when there is none, it idled out or
        it passed its absolute lifetime (then it is deleted)."""
        if not session_id or len(session_id) > 128:  # noqa: PLR2004 - ids are 43 characters
            return None
        key = self._key(session_id)
        raw = await self.redis.get(key)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            session = Session(**data)
        except (ValueError, TypeError):
            await self.redis.delete(key)
            return None
        now = time.time()
        if now - session.created_at >= self.absolute_s:
            await self.redis.delete(key)
            return None
        session = Session(session.operator, session.csrf_token, session.created_at, now)
        # Never past the absolute end: the key's TTL is the nearer of the two.
        ttl = max(1, min(self.idle_s, int(session.created_at + self.absolute_s - now)))
        await self.redis.set(key, json.dumps(asdict(session)), ex=ttl)
        return session

    async def end(self, session_id: str | None) -> None:
        """Delete the session (sign-out); nothing happens for an unknown id."""
        if session_id and len(session_id) <= 128:  # noqa: PLR2004
            await self.redis.delete(self._key(session_id))
