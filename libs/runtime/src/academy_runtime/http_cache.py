"""A caller's private cache of another service's GET answers, fresh for as long as the callee says.

HTTP caching as RFC 9111 gives it to a private cache (one caller's, never shared between callers): a 200
answer to a GET whose `Cache-Control` carries `max-age=N` (N > 0) and neither `no-store` nor `no-cache` is
kept for N seconds (at most `max_age_s`, the caller's own bound) and served from memory meanwhile, without a
request. Anything else (another status, another method, no `max-age`) is not kept. The callee decides what may
be cached and for how long: the catalog marks its learner queries, which every bot screen reads, fresh for a
second or two (`CATALOG_CLIENT_MAX_AGE_S`), so a learner sees an operator's change that much later at most,
and a screen the bot shows fifty times a second asks the catalog once (issue 11: the catalog's answers were more
than half of the bot's calls to other services).

Entries are kept by path and query parameters (sorted), `max_entries` at most (the least recently used goes
first: parameters come from learners' buttons). An entry holds the answer's bytes: each hit is decoded again,
so a caller that changes what it got changes nobody else's copy.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import httpx

MAX_ENTRIES = 1024
"""How many answers a cache keeps at most."""
MAX_AGE_S = 60.0
"""The longest a cache keeps an answer, whatever its `max-age` says."""


def freshness_lifetime(cache_control: str) -> float | None:
    """Seconds a response with this `Cache-Control` header value may be served from a private cache: its
    `max-age` (RFC 9111 §5.2.2.1); None when it has none, a malformed one, or says `no-store` or `no-cache`
    (which ask for revalidation on every use: not kept at all here). Directive names are case-insensitive."""
    max_age: float | None = None
    for directive in cache_control.split(","):
        name, _, value = directive.strip().partition("=")
        name = name.strip().lower()
        if name in {"no-store", "no-cache"}:
            return None
        if name == "max-age":
            try:
                max_age = float(int(value.strip().strip('"')))
            except ValueError:
                return None
    return max_age


class ResponseCache:
    """GET answers of one callee, kept while fresh. Not thread-safe (one event loop)."""

    def __init__(
        self,
        *,
        max_entries: int = MAX_ENTRIES,
        max_age_s: float = MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.max_age_s = max_age_s
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        """Key -> (clock() it is stale at, the answer's bytes)."""

    @staticmethod
    def key(path: str, params: Mapping[str, Any] | None) -> str:
        """What names an answer: the path and the query parameters in a stable order."""
        if not params:
            return path
        return f"{path}?{httpx.QueryParams(sorted(params.items()))}"

    def get(self, key: str) -> bytes | None:
        """The fresh answer kept under `key`, or None (a stale one is dropped)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        stale_at, body = entry
        if stale_at <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return body

    def store(self, key: str, response: httpx.Response) -> bool:
        """Keep `response` (the answer to a GET) under `key` if the callee let it be cached; whether it was."""
        lifetime = freshness_lifetime(response.headers.get("cache-control", ""))
        if response.status_code != 200 or lifetime is None or lifetime <= 0 or not response.content:  # noqa: PLR2004
            return False
        self._entries[key] = (self._clock() + min(lifetime, self.max_age_s), response.content)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return True

    def clear(self) -> None:
        """Forget every answer (the next GET of each asks the callee)."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
