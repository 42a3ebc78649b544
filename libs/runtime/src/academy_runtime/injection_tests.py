"""Injection payloads for the services' security tests (issue 9: "security tests ... injection payloads").

Each service's `tests/test_injection.py` sends these texts into every text input its endpoints take
(path and query parameters, body fields, the Idempotency-Key header) and asserts, with these helpers:
never a 5xx; a text the API accepts comes back verbatim (stored as sent, neither run nor escaped); a
filter with LIKE wildcards matches literally; nothing else changed (the service's tables all exist and
hold the rows they held).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

import httpx
from sqlalchemy import func, select

from academy_runtime.fields import REFUSED_CATEGORIES
from academy_runtime.resources import Resources
from academy_runtime.service import ServiceDefinition

# Texts with no leading or trailing whitespace: text fields strip it, and a stripped text is not "altered".
PAYLOADS: dict[str, str] = {
    "sql_or": "' OR '1'='1",
    "sql_drop": "'); DROP TABLE users; --",
    "sql_drop_quoted": '"; DROP TABLE "users"; --',
    "sql_sleep": "1; SELECT pg_sleep(5)",
    "sql_union": "1 UNION SELECT usename, passwd FROM pg_shadow --",
    "sql_comment": "admin'--",
    "sql_param": "$1",
    "sql_dollar_quote": "$$; DROP TABLE users; $$",
    "like_percent": "%",
    "like_underscore": "_",
    "like_mixed": "a%b_c%",
    "backslash": "C:\\path\\to\\x \\' \\\\ \\%",
    "html_script": "<script>alert(1)</script>",
    "html_bold": "<b>bold</b>",
    "html_entity": "Tom &amp; Jerry & co &lt;",
    "html_attr": '"><img src=x onerror=alert(1)>',
    "format_attr": "{0.__class__}",
    "format_named": "{title}{coins!r}",
    "format_percent": "%s%n%x%d",
    "path_traversal": "../../etc/passwd",
    "path_traversal_encoded": "..%2F..%2Fetc%2Fpasswd",
    "json_like": '{"$gt": ""}',
    "redis_glob": "*",
    "key_separator": "a:b:*",
    "rtl_override": "abc\u202etxt.exe",
    "emoji": "Маникюр 💅🏽 👩‍🎨",
    "zero_width": "zero\u200bwidth\u200d\ufeffjoin",
    "crlf_inside": "line\r\nX-Injected: 1",
    "long": "ж" * 10_000,
}
"""Name → text. `long` is over every short field's limit (a 422 there) and inside the long texts'."""

HEADER_INJECTION = "key\r\nX-Injected: 1"
"""An Idempotency-Key that would add a header if it were written into a response unescaped."""

PATH_PAYLOADS: dict[str, str] = {
    name: text for name, text in PAYLOADS.items() if name not in {"long", "crlf_inside"} and "/" not in text
} | {"path_traversal": "..%2F..%2Fetc%2Fpasswd", "int_sql": "1 OR 1=1", "int_sleep": "1;SELECT pg_sleep(5)"}
"""Texts for a path segment (an id): sent URL-encoded, each must be a 4xx (ids are integers)."""


def quoted(text: str) -> str:
    """`text` as one path segment (every reserved character escaped)."""
    from urllib.parse import quote

    return quote(text, safe="")


def assert_not_server_error(response: httpx.Response, what: str) -> None:
    """A 2xx or a 4xx: never a 5xx, never a redirect somewhere else."""
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:500]}"  # noqa: PLR2004
    assert "x-injected" not in response.headers, f"{what}: a header was injected: {dict(response.headers)}"


def accepted(response: httpx.Response) -> bool:
    return 200 <= response.status_code < 300  # noqa: PLR2004


def refused_as_input(response: httpx.Response, what: str) -> None:
    """A 4xx (invalid input, not found, conflict), and nothing worse."""
    assert 400 <= response.status_code < 500, f"{what}: {response.status_code} {response.text[:500]}"  # noqa: PLR2004


async def table_counts(resources: Resources, service: ServiceDefinition) -> dict[str, int]:
    """Rows of each of the service's tables (a table dropped by an injection fails here)."""
    counts: dict[str, int] = {}
    async with resources.sessionmaker() as session:
        for table in service.metadata.sorted_tables:
            counts[f"{table.schema}.{table.name}"] = (
                await session.execute(select(func.count()).select_from(table))
            ).scalar_one()
    return counts


async def assert_tables_intact(
    resources: Resources, service: ServiceDefinition, before: dict[str, int], *, may_grow: Iterable[str] = ()
) -> dict[str, int]:
    """Every table still exists; those not in `may_grow` (names without the schema) hold as many rows as
    `before`, those in it at least as many. Returns the counts now."""
    after = await table_counts(resources, service)
    grow = set(may_grow)
    changed = {
        name: (before[name], count)
        for name, count in after.items()
        if (count < before[name]) or (count != before[name] and name.split(".", 1)[1] not in grow)
    }
    assert not changed, f"rows changed (before, after): {changed}"
    return after


def fits(text: str, min_length: int = 1, max_length: int = 10_000, *, one_line: bool = False) -> bool:
    """Whether a field of these limits must accept `text` (it is refused only for its length, and for a
    `one_line` field, one typed with `academy_runtime.fields.NoControlCharacters`, for a control or
    format character: `crlf_inside`, `rtl_override`, `zero_width`)."""
    if one_line and any(unicodedata.category(char) in REFUSED_CATEGORIES for char in text):
        return False
    return min_length <= len(text) <= max_length


def mismatches(sent: dict[str, str], got: dict[str, Any]) -> list[str]:
    """Fields of `got` that are not exactly what was `sent`."""
    return [
        f"{field}: sent {value!r:.80}, got {got.get(field)!r:.80}"
        for field, value in sent.items()
        if got.get(field) != value
    ]


__all__ = [
    "HEADER_INJECTION",
    "PATH_PAYLOADS",
    "PAYLOADS",
    "accepted",
    "assert_not_server_error",
    "assert_tables_intact",
    "fits",
    "mismatches",
    "quoted",
    "refused_as_input",
    "table_counts",
]
