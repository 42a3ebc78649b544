"""The console's settings: the shared runtime's (environment, Redis, proxies, telemetry, OPERATOR_ACCOUNTS) plus
the services' addresses, the operators' signing key and the session's lifetimes.

OPERATOR_SIGNING_KEY: the operators' Ed25519 private key (PKCS#8, PEM or base64 DER), the one
`academy-platform operator-token` signs with. The console signs a token with it for every call it makes on an
operator's behalf (a few minutes, one service, the account's roles), so each service still checks the roles
and writes `operator:<name>` in its audit log. Empty: the development key, with ENVIRONMENT=development only.
The console signs as no service, so SERVICE_SIGNING_KEY / SERVICE_PUBLIC_KEYS are not asked of it.

OPERATOR_ACCOUNTS: as the services read it, with a `password_hash` per person who may sign in (see
`academy-platform operator-password`). With ENVIRONMENT=development and no account holding a hash, the
account `dev` (every role) signs in with CONSOLE_DEV_PASSWORD (`make run` makes one and prints it).
"""

from __future__ import annotations

from typing import Self

from academy_runtime.auth import (
    OPERATOR_ROLES,
    OPERATORS_ISSUER,
    OperatorAccount,
    SigningKey,
    dev_key_ids,
    dev_signing_key,
    hash_operator_password,
)
from academy_runtime.placeholders import placeholder_settings
from academy_runtime.settings import Environment, ServiceSettings
from pydantic import Field, SecretStr, model_validator

DEV_OPERATOR = "dev"
"""The development account's name (ENVIRONMENT=development, no OPERATOR_ACCOUNTS with passwords)."""

UNUSED_SECRET_SETTINGS = ("DATABASE_URL", "RABBITMQ_URL", "S3_", "SERVICE_SIGNING_KEY")
"""Secret settings of the base class the console never uses (no database, broker, S3 or service key)."""

SERVICES = ("users", "catalog", "progress", "gamification", "billing", "gateway-bot")
"""The services the console calls, by SERVICE_NAME (each one's token audience)."""


class ConsoleSettings(ServiceSettings):
    """Settings of the operators' console (environment variables of the same names, upper case)."""

    service_name: str = "console"
    http_port: int = 8107

    users_url: str = "http://127.0.0.1:8101"
    catalog_url: str = "http://127.0.0.1:8102"
    progress_url: str = "http://127.0.0.1:8103"
    gamification_url: str = "http://127.0.0.1:8104"
    billing_url: str = "http://127.0.0.1:8105"
    gateway_bot_url: str = "http://127.0.0.1:8106"
    service_timeout_s: float = Field(default=10.0, gt=0, description="Seconds a call to a service may take.")

    operator_signing_key: SecretStr = Field(
        default=SecretStr(""), description="The operators' Ed25519 private key; empty: the development key."
    )
    operator_token_ttl_s: int = Field(
        default=300, ge=30, le=900, description="Lifetime of each token the console signs for a call, in seconds."
    )

    session_idle_s: int = Field(default=30 * 60, ge=60, description="A session unused this long ends (seconds).")
    session_absolute_s: int = Field(
        default=12 * 3600, ge=300, le=24 * 3600, description="A session ends this long after sign-in (seconds)."
    )
    login_rate_limit_name: str = Field(
        default="5/minute;30/hour", description="Sign-in attempts per operator name (`limits` notation)."
    )
    login_rate_limit_address: str = Field(
        default="20/minute;200/hour",
        description="Sign-in attempts per source address (several people may share an office's address).",
    )
    cookie_secure: bool | None = Field(
        default=None, description="Secure cookies; unset: on everywhere but ENVIRONMENT=development (plain HTTP)."
    )
    console_dev_password: SecretStr = Field(
        default=SecretStr(""), description="Development only: the password of the `dev` account (every role)."
    )

    def service_url(self, service: str) -> str:
        """The base URL of `service` (a SERVICE_NAME of SERVICES); KeyError for another name."""
        urls = {
            "users": self.users_url,
            "catalog": self.catalog_url,
            "progress": self.progress_url,
            "gamification": self.gamification_url,
            "billing": self.billing_url,
            "gateway-bot": self.gateway_bot_url,
        }
        return urls[service]

    @property
    def secure_cookies(self) -> bool:
        return self.cookie_secure if self.cookie_secure is not None else not self.is_development

    def operators_key(self) -> SigningKey:
        """OPERATOR_SIGNING_KEY, or in development when it is empty the development operators key."""
        text = self.operator_signing_key.get_secret_value()
        if not text.strip():
            return dev_signing_key(OPERATORS_ISSUER)
        return SigningKey.from_text(text)

    def accounts(self) -> dict[str, OperatorAccount]:
        """The accounts that may sign in: OPERATOR_ACCOUNTS, plus in development the `dev` account when
        CONSOLE_DEV_PASSWORD is set and no account has a password of its own."""
        accounts = dict(self.operator_accounts or {})
        dev_password = self.console_dev_password.get_secret_value()
        if self.is_development and dev_password and not any(a.password_hash for a in accounts.values()):
            accounts[DEV_OPERATOR] = _dev_account(dev_password)
        return accounts

    # Replaces the base class's check of SERVICE_SIGNING_KEY / SERVICE_PUBLIC_KEYS (same name, so pydantic runs
    # this one instead): the console signs only as the operators, never as a service.
    @model_validator(mode="after")
    def _service_keys_read_and_are_not_development_keys(self) -> Self:
        key = self.operators_key()  # a malformed key stops the process at start-up
        if self.environment == Environment.DEVELOPMENT:
            return self
        if not self.operator_signing_key.get_secret_value().strip():
            raise ValueError("OPERATOR_SIGNING_KEY is empty (only ENVIRONMENT=development has a default)")
        if key.kid in dev_key_ids():
            raise ValueError("OPERATOR_SIGNING_KEY is the development key, which anyone can compute")
        if self.console_dev_password.get_secret_value():
            raise ValueError("CONSOLE_DEV_PASSWORD is for ENVIRONMENT=development only")
        if self.environment == Environment.PRODUCTION and self.operator_accounts is None:
            raise ValueError("OPERATOR_ACCOUNTS is not set: nobody could sign in to the console")
        return self

    # The console stores nothing in S3: the base class's refusal of the development S3 secret does not apply.
    @model_validator(mode="after")
    def _refuse_default_secrets_outside_development(self) -> Self:
        return self

    # The base class's refusal of placeholder secrets, for the settings the console uses: it has no database,
    # broker or S3 client, so their defaults (which it never connects with) are not its secrets.
    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Self:
        if self.environment == Environment.PRODUCTION:
            problems = [
                problem for problem in placeholder_settings(self) if not problem.startswith(UNUSED_SECRET_SETTINGS)
            ]
            if problems:
                raise ValueError(
                    "ENVIRONMENT=production refuses placeholder secrets: " + "; ".join(problems) + ". Set real "
                    "values; only ENVIRONMENT=development accepts these"
                )
        return self


_DEV_ACCOUNTS: dict[str, OperatorAccount] = {}


def _dev_account(password: str) -> OperatorAccount:
    """The `dev` account for `password` (hashed once per process: argon2id costs ~50 ms a hash)."""
    account = _DEV_ACCOUNTS.get(password)
    if account is None:
        account = _DEV_ACCOUNTS[password] = OperatorAccount(
            roles=frozenset(OPERATOR_ROLES), password_hash=hash_operator_password(password)
        )
    return account
