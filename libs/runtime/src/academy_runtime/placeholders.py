"""Which secret settings still hold a placeholder: what production refuses to start with (issue 9, part 5).

A value is a placeholder when it is

- the default of a secret setting of the settings class itself (every `SecretStr` default, and the
  password inside a URL default such as `amqp://guest:guest@...`): such a value ships in the
  repository, so everybody knows it. This is collected from the class, so a secret a service adds
  later is covered without a list to keep;
- or it carries a marker of the values people write when they mean "fill this in" or "local only"
  (`CHANGE-ME`, `changeme`, `replace-me`, `placeholder`, `example`, `compose`, a `dev` word as in
  `dev-…` or `academy-dev`, `guest`, `TEST-TOKEN`, `0123456789`, a run of x's) or is one of the
  well-known weak words (`password`, `secret`, `admin`, `test`...).

The markers cover every value shipped in docker-compose.yml, deploy/k8s and the env examples;
deploy/tests/test_shipped_secrets.py collects those values from the files and fails when one of
them is not refused, so a new default in a deploy file needs no edit here unless it escapes every
marker.

Which settings are secret: `SecretStr` fields, `str` fields whose name ends like a credential
(`_key`, `_token`, `_secret`, `_password`, `_shop_id`), and the password of any `str` field that is a
URL with credentials (DATABASE_URL, RABBITMQ_URL, REDIS_URL...). Errors name the setting (its
environment variable) and the rule, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, SecretStr

_MARKER = re.compile(
    r"change[-_ .]?me|replace[-_ .]?me|placeholder|example|compose|guest|test[-_ ]?token|0123456789|x{6,}"
    r"|(?:^|[^a-z0-9])dev(?:[^a-z0-9]|$)",
    re.IGNORECASE,
)
_WEAK_WORDS = frozenset(
    {
        "academy",  # the project's name, compose's MinIO user and S3 access key
        "admin",
        "changeit",
        "default",
        "letmein",
        "minio",
        "minioadmin",
        "pass",
        "password",
        "postgres",
        "qwerty",
        "root",
        "secret",
        "test",
        "token",
        "123456",
    }
)
_CREDENTIAL_NAME = re.compile(r"(?:^|_)(?:key|token|secret|password|passwd|shop_id)$")


def placeholder_reason(value: str, *, shipped: frozenset[str] = frozenset()) -> str | None:
    """Why `value` is a placeholder (a short phrase naming the rule, not the value), or None.

    `shipped`: values known to ship in the repository (a settings class's own defaults). An empty value
    is not a placeholder here: whether a secret may be empty is each setting's own rule.
    """
    if not value:
        return None
    if value in shipped:
        return "is the default that ships in the repository"
    if value.strip().lower() in _WEAK_WORDS:
        return "is a well-known weak word"
    if _MARKER.search(value):
        # The rule, not the text that matched: the message must not print any part of the value.
        return "looks like a placeholder (a marker such as change-me, example, compose, dev, guest)"
    return None


def url_password(value: str) -> str | None:
    """The password inside a URL (`scheme://user:password@host/...`), percent-decoded; None when the
    value is not a URL or carries no password."""
    if "://" not in value or "@" not in value:
        return None
    try:
        password = urlsplit(value).password
    except ValueError:
        return None
    return unquote(password) if password else None


def _secret_candidates(field_name: str, value: object) -> Iterator[tuple[str, str]]:
    """(what, text) pairs to check for one setting: its secret value, or the password of its URL."""
    if isinstance(value, SecretStr):
        yield "", value.get_secret_value()
    elif isinstance(value, str):
        password = url_password(value)
        if password is not None:
            yield "'s password", password
        elif _CREDENTIAL_NAME.search(field_name):
            yield "", value


@cache
def shipped_defaults(settings_class: type[BaseModel]) -> frozenset[str]:
    """Every secret default a settings class ships: `SecretStr` defaults, credential-named `str`
    defaults and the passwords inside URL defaults (collected from the class's fields)."""
    values: set[str] = set()
    for name, info in settings_class.model_fields.items():
        default = info.get_default(call_default_factory=True)
        values.update(text for _, text in _secret_candidates(name, default) if text)
    return frozenset(values)


def placeholder_settings(settings: BaseModel) -> list[str]:
    """The secret settings of `settings` that hold a placeholder, as messages naming the environment
    variable and the rule (`"RABBITMQ_URL's password is a well-known weak word"`), sorted; empty when
    none does. Never includes a value."""
    shipped = shipped_defaults(type(settings))
    problems = []
    for name in type(settings).model_fields:
        for what, text in _secret_candidates(name, getattr(settings, name)):
            reason = placeholder_reason(text, shipped=shipped)
            if reason is not None:
                problems.append(f"{name.upper()}{what} {reason}")
    return sorted(problems)
