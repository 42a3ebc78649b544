"""JSON logs, one object a line, with the trace and span ids of the current OpenTelemetry span, and no
personal data: names, phones and credentials are redacted from messages, extras and tracebacks alike.

Architecture brief, "Personal data": logs carry no personal values. Issue 9: a traceback wrote a learner's
name and phone in clear text (SQLAlchemy's `[parameters: ...]`; engines now hide them too, see db.py).
What is redacted, wherever it appears in the text of a record (message, extras, traceback):

- phone numbers libphonenumber recognises as valid in any notation (read as Russian when written
  without a country code), and anything in E.164 form;
- Telegram bot tokens (`<bot id>:<35 characters>`), JWTs, `Bearer <token>`, `Basic <token>`;
- values of fields that hold personal data or secrets (`full_name`, `phone`, `first_name`, `token`...)
  written as `name=value`, `'name': value` or `"name": "value"` (reprs, JSON, kwargs), and of extras
  with those names;
- the values the database and the validators quote back: `[parameters: ...]`, `query argument $1: ...`,
  `Key (column)=(value)`, `input_value=...`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

import phonenumbers
from opentelemetry import trace

_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {"message", "asctime"}


REDACTED = "[redacted]"

PERSONAL_FIELDS = frozenset(
    {
        "full_name", "first_name", "last_name", "name", "username", "phone", "phone_number", "email",
        "city", "address", "birth_date", "contact", "vcard", "token", "access_token", "bot_token",
        "authorization", "password", "secret", "secret_key", "api_key", "signing_key", "cookie",
    }
)  # fmt: skip
"""Field names whose values are redacted in extras and in `name=value` text (lower case)."""

_FIELD_NAMES = "|".join(sorted(PERSONAL_FIELDS, key=len, reverse=True))
_PATTERNS = [
    # credentials
    (re.compile(r"(?<!\d)\d{5,12}:[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])"), REDACTED),  # Telegram bot token
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),  # JWT
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE), rf"\1 {REDACTED}"),
    # values the database and validators quote back
    (re.compile(r"\[parameters: .*?\]$", re.MULTILINE), f"[parameters: {REDACTED}]"),
    (re.compile(r"(query argument \$\d+: ).*?(?=\s\(|$)", re.MULTILINE), rf"\1{REDACTED}"),
    (re.compile(r"(Key \([^)]*\)=\().*?(\) )"), rf"\1{REDACTED}\2"),
    (re.compile(r"(input_value=)('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^,\s\]]+)"), rf"\1{REDACTED}"),
    # name=value, 'name': value, "name": "value"
    (
        re.compile(
            rf"""(?i)(?<![A-Za-z0-9_])(['"]?)({_FIELD_NAMES})\1(\s*[=:]\s*)"""
            r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s,)}\]]+)"""
        ),
        rf"\1\2\1\3{REDACTED}",
    ),
    (re.compile(r"\+\d[\d ()-]{7,18}\d"), REDACTED),  # E.164 and international notation
]
_DIGITS = re.compile(r"\d")
_MIN_PHONE_DIGITS = 7


def redact(text: str) -> str:
    """`text` with personal data and credentials replaced by `[redacted]` (see the module's docstring)."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    if len(_DIGITS.findall(text)) >= _MIN_PHONE_DIGITS:
        # libphonenumber's matcher finds numbers in any national notation (8 912 345-67-89, (912) 345 67 89)
        # and leaves dates, ids and durations alone.
        found = phonenumbers.PhoneNumberMatcher(text, "RU", leniency=phonenumbers.Leniency.VALID)
        for match in sorted(found, key=lambda m: m.start, reverse=True):
            text = text[: match.start] + REDACTED + text[match.end :]
    return text


def redact_value(key: str, value: Any) -> Any:
    """An extra's value as it may be logged: redacted whole for a personal field, else its text redacted."""
    if key.lower() in PERSONAL_FIELDS:
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value("", item) for item in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact(str(value))


class RedactingFilter(logging.Filter):
    """Redacts a record in place (message, extras, traceback) for handlers that do not format through
    `JsonFormatter` (a test's caplog, a third-party handler)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        for key, value in list(record.__dict__.items()):
            if key not in _RESERVED and not key.startswith("_"):
                record.__dict__[key] = redact_value(key, value)
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line; every text in it redacted (`redact`), tracebacks included."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            entry["trace_id"] = format(span_context.trace_id, "032x")
            entry["span_id"] = format(span_context.span_id, "016x")
        entry.update(
            {k: redact_value(k, v) for k, v in record.__dict__.items() if k not in _RESERVED and not k.startswith("_")}
        )
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exc"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route every logger (ours, uvicorn's, aio-pika's) through one JSON handler on stderr, which
    redacts personal data and credentials (`JsonFormatter`)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # The access log duplicates our request metrics and spans; keep it for warnings only.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # aiogram.event: a line per update handled ("Update id=... is handled. Duration N ms"), which the
    # update's span and academy_bot_updates_total already give; 50 updates a second wrote 50 lines.
    for noisy in ("aiormq", "aio_pika", "httpx", "httpcore", "aiogram.event"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
