"""One settings base for every service and worker.

Values come from the environment (and an optional `.env`); every service adds its own fields by
subclassing. Secrets have development defaults so that `make run` works on a fresh machine, and those
defaults are refused anywhere else: a production pod that forgot a secret fails at start-up instead of
running with a key everybody knows.

`FORWARDED_ALLOW_IPS` (default `127.0.0.1`): the reverse proxies whose `X-Forwarded-For` and
`X-Forwarded-Proto` headers the API believes. Comma-separated addresses and CIDRs (`10.244.0.0/16,
127.0.0.1`); uvicorn runs with `proxy_headers=True, forwarded_allow_ips=<this>`. A request whose
connection comes from a listed address gets `request.client.host` = the right-most address of
`X-Forwarded-For` that is not itself a trusted proxy (the real sender, as the proxy saw it); any
other connection keeps its own peer address and its headers are ignored, so a client cannot claim
to be someone else by sending the header. Behind an ingress controller, list the controller pods'
addresses (and nothing wider): billing checks YooKassa's notifications by `request.client.host`, so
a missing entry refuses every real notification and a too-wide one lets any pod forge the sender.
`*` trusts every peer and is refused with ENVIRONMENT=production.
"""

from __future__ import annotations

from enum import StrEnum
from ipaddress import ip_network
from typing import Self, TypeVar

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from academy_runtime.placeholders import placeholder_settings

DEV_SERVICE_AUTH_SECRET = "dev-service-auth-secret-change-me-0123456789"  # noqa: S105 - refused outside development
DEV_S3_SECRET_KEY = "academy-dev-secret"  # noqa: S105 - refused outside development


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ServiceSettings(BaseSettings):
    """Settings shared by every Beauty Academy service (API and worker processes)."""

    # hide_input_in_errors: a refused setting must not print the input, which holds every secret.
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", env_file_encoding="utf-8", hide_input_in_errors=True
    )

    service_name: str = Field(default="service", description="Overridden by each service.")
    environment: Environment = Environment.DEVELOPMENT
    log_level: str = "INFO"

    # HTTP
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    worker_metrics_port: int = 0  # 0: the worker serves no metrics endpoint of its own
    # Reverse proxies whose X-Forwarded-* headers are believed (see the module docstring).
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Comma-separated addresses/CIDRs of trusted reverse proxies (uvicorn forwarded_allow_ips).",
    )

    # PostgreSQL: each service connects with its own role; `db_schema` is the schema it owns.
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/beauty_academy"
    db_schema: str = "public"
    db_pool_size: int = 10
    db_max_overflow: int = 10

    # RabbitMQ
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    events_exchange: str = "academy.events"
    queue_prefix: str = ""  # isolates test runs sharing one broker
    amqp_queue_type: str = "classic"  # "quorum" on a multi-node production broker
    # Test runs set this so that queues a crashed run could not delete vanish on their own (x-expires).
    queue_expires_ms: int = 0
    consumer_prefetch: int = 32
    consumer_max_attempts: int = 5
    consumer_retry_delays_ms: list[int] = Field(default_factory=lambda: [1_000, 5_000, 30_000, 120_000])

    # Outbox relay
    outbox_batch_size: int = 200
    outbox_poll_interval_s: float = 2.0  # safety net when a NOTIFY is missed
    outbox_retention_hours: int = 72

    # Redis
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "academy:"

    # S3 (MinIO in compose and Kubernetes, any S3 server locally)
    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: str = "academy-dev"
    s3_secret_key: SecretStr = SecretStr(DEV_S3_SECRET_KEY)
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    s3_bucket: str = "beauty-academy"

    # Service-to-service auth
    service_auth_secret: SecretStr = SecretStr(DEV_SERVICE_AUTH_SECRET)
    service_token_ttl_s: int = 300

    # Telemetry: OTLP/HTTP endpoint such as http://otel-collector:4318; empty disables export.
    otel_exporter_otlp_endpoint: str = ""

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        entries = [entry.strip() for entry in value.split(",")]
        for entry in entries:
            if entry != "*":
                ip_network(entry, strict=False)  # raises ValueError naming the bad entry
        return ",".join(entries)

    @property
    def trusted_proxies(self) -> list[str]:
        """FORWARDED_ALLOW_IPS as the list uvicorn's forwarded_allow_ips takes."""
        return self.forwarded_allow_ips.split(",")

    @model_validator(mode="after")
    def _refuse_proxy_wildcard_in_production(self) -> Self:
        if self.environment == Environment.PRODUCTION and "*" in self.trusted_proxies:
            raise ValueError(
                "FORWARDED_ALLOW_IPS=* lets any client choose its own address; list the ingress controller's "
                "addresses instead"
            )
        return self

    @model_validator(mode="after")
    def _refuse_default_secrets_outside_development(self) -> Self:
        if self.environment != Environment.DEVELOPMENT:
            defaults = {
                "SERVICE_AUTH_SECRET": self.service_auth_secret.get_secret_value() == DEV_SERVICE_AUTH_SECRET,
                "S3_SECRET_KEY": self.s3_secret_key.get_secret_value() == DEV_S3_SECRET_KEY,
            }
            leaked = sorted(name for name, is_default in defaults.items() if is_default)
            if leaked:
                raise ValueError(
                    f"{', '.join(leaked)} still hold the development default; set real secrets "
                    "(only ENVIRONMENT=development accepts them)"
                )
            if len(self.service_auth_secret.get_secret_value()) < 32:  # noqa: PLR2004
                raise ValueError("SERVICE_AUTH_SECRET must be at least 32 characters")
        return self

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Self:
        # Issue 9, part 5: every secret setting (SecretStr fields of this class and its subclasses,
        # credential-named fields, passwords inside URLs) against academy_runtime.placeholders.
        if self.environment == Environment.PRODUCTION:
            problems = placeholder_settings(self)
            if problems:
                raise ValueError(
                    "ENVIRONMENT=production refuses placeholder secrets: " + "; ".join(problems) + ". Set real "
                    "values (the deploy README's Secrets section); only ENVIRONMENT=development accepts these"
                )
        return self

    @property
    def is_development(self) -> bool:
        return self.environment == Environment.DEVELOPMENT

    def queue_name(self, purpose: str) -> str:
        """The durable queue of one (service, purpose) pair."""
        return f"{self.queue_prefix}{self.service_name}.{purpose}"


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def settings_as(settings: ServiceSettings, kind: type[SettingsT]) -> SettingsT:
    """`settings` typed as the service's own settings class (`settings_as(s, UsersSettings)`).

    Where the runtime hands a service its settings (resources, an event's context, a request), the type
    is the base class; this narrows it once, checked. TypeError when the settings are another class's,
    which is a wiring bug (a service started with another's definition), not a request's fault.
    """
    if not isinstance(settings, kind):
        raise TypeError(f"expected {kind.__name__}, the process runs with {type(settings).__name__}")
    return settings
