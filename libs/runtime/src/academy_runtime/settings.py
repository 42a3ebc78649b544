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

Service keys (issue 9 §2, see `academy_runtime.auth`): `SERVICE_SIGNING_KEY` is this service's own
Ed25519 private key (PKCS#8, PEM or base64 DER on one line), with which it signs the tokens of its
calls; `SERVICE_PUBLIC_KEYS` is JSON, issuer → list of public keys (SubjectPublicKeyInfo, PEM or base64
DER), the only keys whose tokens it accepts (`{"gateway-bot": ["MCowBQYDK2VwAyEA..."], "operators":
[...]}`; several keys per issuer while one rotates). `academy-platform keys generate --out DIR` writes
both. With ENVIRONMENT=development and either left empty, the development keys are used (derived from
each issuer's name, the same on every machine, so `make run` needs no key files); any other environment
refuses an empty value and every development key, as signing key or as trusted public key.

Redis (`REDIS_URL`, `REDIS_PREFIX`, `REDIS_CLUSTER`): `REDIS_CLUSTER=true` makes `REDIS_URL` name one node of
a Redis Cluster (`redis://node-1:6379`, any node: the client discovers the others and follows the slots'
moves), and `Resources.open` then creates `redis.asyncio.cluster.RedisCluster` instead of `Redis`; the rate
limiter uses the `limits` library's cluster storage (`async+redis+cluster://`). A cluster has only database
0, so a URL naming another is refused. Every key the platform writes keeps the keys one operation touches on
one slot (hash tags, `{...}` in the key: the gateway's per-learner keys by the learner, a leaderboard and
its rebuild's staging copy by the board, the send windows together), so nothing else changes.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from ipaddress import ip_network
from typing import Self, TypeVar
from urllib.parse import urlsplit

from limits import parse_many
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from academy_runtime.auth import (
    SERVICE_TOKEN_MAX_LIFETIME_S,
    OperatorAccount,
    PublicKeySet,
    SigningKey,
    dev_key_ids,
    dev_public_keys,
    dev_signing_key,
    public_key_set,
)
from academy_runtime.placeholders import placeholder_settings

DEV_S3_SECRET_KEY = "academy-dev-secret"  # noqa: S105 - refused outside development


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ServiceSettings(BaseSettings):
    """Settings shared by every Beauty Academy service (API and worker processes)."""

    # hide_input_in_errors: a refused setting must not print the input, which holds every secret.
    # env_ignore_empty: `KEY=` means "not set" (docker compose passes `${KEY:-}` as an empty string, and
    # JSON settings such as SERVICE_PUBLIC_KEYS cannot parse one).
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", env_file_encoding="utf-8", hide_input_in_errors=True, env_ignore_empty=True
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
    # Who published an event (academy_runtime.bus): service S connects as RabbitMQ user
    # `<BUS_USER_PREFIX><S>`, and consumers require a message's broker-validated `user_id` to be the user of
    # the service its routing key names. False only where every service shares one broker user (a test
    # broker without per-service users); refused with ENVIRONMENT=production.
    bus_user_prefix: str = "academy-"
    bus_verify_publisher: bool = True
    # Largest event body in bytes: producers refuse to publish more, consumers dead-letter more unparsed.
    max_event_bytes: int = Field(default=256 * 1024, gt=1024)

    @model_validator(mode="after")
    def _verify_publishers_in_production(self) -> Self:
        if self.environment == Environment.PRODUCTION and not self.bus_verify_publisher:
            raise ValueError(
                "BUS_VERIFY_PUBLISHER=false lets any broker user publish any service's events; give each service "
                "its own RabbitMQ user (academy-platform provision-bus) instead"
            )
        return self

    # Outbox relay
    outbox_batch_size: int = 200
    outbox_poll_interval_s: float = 2.0  # safety net when a NOTIFY is missed
    outbox_retention_hours: int = 72

    # Redis
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "academy:"
    redis_cluster: bool = Field(
        default=False, description="REDIS_URL names a node of a Redis Cluster (see the module docstring)."
    )
    # Connections per process (per node of a cluster). On one server a caller waits up to
    # REDIS_POOL_TIMEOUT_S for a free connection instead of failing at once (redis-py's own pool raises
    # MaxConnectionsError: under the bot bench's backlog updates failed that way).
    redis_max_connections: int = Field(default=100, gt=0)
    redis_pool_timeout_s: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _cluster_has_database_zero_only(self) -> Self:
        if self.redis_cluster:
            database = urlsplit(self.redis_url).path.strip("/")
            if database not in ("", "0"):
                raise ValueError(
                    f"REDIS_CLUSTER=true and REDIS_URL names database {database!r}: a Redis Cluster has only "
                    "database 0 (drop the /N from the URL, or keep deployments apart with REDIS_PREFIX)"
                )
        return self

    # S3 (MinIO in compose and Kubernetes, any S3 server locally)
    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: str = "academy-dev"
    s3_secret_key: SecretStr = SecretStr(DEV_S3_SECRET_KEY)
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    s3_bucket: str = "beauty-academy"

    # Service-to-service auth (see the module docstring and academy_runtime.auth)
    service_signing_key: SecretStr = Field(
        default=SecretStr(""),
        description="This service's Ed25519 private key (PKCS#8 PEM or base64 DER); empty: the development key.",
    )
    service_public_keys: dict[str, list[str]] = Field(
        default_factory=dict,
        description="JSON: issuer → public keys it may sign with; empty: every issuer's development key.",
    )
    service_token_ttl_s: int = Field(default=SERVICE_TOKEN_MAX_LIFETIME_S, gt=0, le=SERVICE_TOKEN_MAX_LIFETIME_S)
    # Operators' accounts (issue 9 §3): JSON, name → {"roles": [...], "tokens_not_before": <epoch s>}. A token
    # of a person without an account is refused, its roles are cut to the account's, and tokens issued
    # before `tokens_not_before` are void. Unset: the token's roles are trusted (development and test
    # only; production refuses to start without it, `{}` meaning "no operators").
    operator_accounts: dict[str, OperatorAccount] | None = Field(
        default=None, description="JSON: operator name → {roles, tokens_not_before}; unset trusts tokens' roles."
    )

    # The largest request body of the HTTP API, in bytes (academy_runtime.bodylimit): 413 beyond it.
    max_request_body_bytes: int = Field(default=1024 * 1024, gt=0)

    # Rate limits of the HTTP API (academy_runtime.ratelimit), shared by the replicas through Redis.
    # `limits` notation; "a;b" applies both (a burst and a sustained rate). Per kind of caller: a
    # service is a trusted peer whose one identity carries all its users' traffic (the gateway-bot's
    # calls are every learner's), an operator is one person, the public one address.
    rate_limit_enabled: bool = True
    rate_limit_service: str = Field(
        default="1000/second;30000/minute", description="Per calling service (all its replicas together)."
    )
    rate_limit_operator: str = Field(default="20/second;600/minute", description="Per operator (a person).")
    rate_limit_public: str = Field(
        default="50/second;1200/minute", description="Per source address, requests without a valid token."
    )
    rate_limit_callers: dict[str, str] = Field(
        default_factory=dict,
        description="JSON: caller actor (`gateway-bot`, `operator:alice`) → limit replacing its kind's.",
    )
    rate_limit_routes: dict[str, str] = Field(
        default_factory=dict, description="JSON: route template → limit replacing the above on that route."
    )
    rate_limit_redis_timeout_s: float = Field(default=0.25, gt=0)
    rate_limit_fail_open_s: float = Field(
        default=5.0, ge=0, description="After a Redis failure, serve unchecked this long before trying again."
    )

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

    @field_validator("rate_limit_service", "rate_limit_operator", "rate_limit_public")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        _parse_rate_limit(value)
        return value

    @field_validator("rate_limit_routes", "rate_limit_callers")
    @classmethod
    def _route_limits_parse(cls, value: dict[str, str]) -> dict[str, str]:
        for limit in value.values():
            _parse_rate_limit(limit)
        return value

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
                "S3_SECRET_KEY": self.s3_secret_key.get_secret_value() == DEV_S3_SECRET_KEY,
            }
            leaked = sorted(name for name, is_default in defaults.items() if is_default)
            if leaked:
                raise ValueError(
                    f"{', '.join(leaked)} still hold the development default; set real secrets "
                    "(only ENVIRONMENT=development accepts them)"
                )
        return self

    @model_validator(mode="after")
    def _service_keys_read_and_are_not_development_keys(self) -> Self:
        # Parsed here so that a malformed key stops the process at start-up, not at its first request.
        signing_key = self.signing_key()
        key_set = self.public_key_set()
        if self.environment == Environment.DEVELOPMENT:
            return self
        generate = "generate real ones with `academy-platform keys generate --out <dir>`"
        if not self.service_signing_key.get_secret_value().strip():
            raise ValueError(f"SERVICE_SIGNING_KEY is empty (only ENVIRONMENT=development has a default); {generate}")
        if not self.service_public_keys:
            raise ValueError(f"SERVICE_PUBLIC_KEYS is empty (only ENVIRONMENT=development has a default); {generate}")
        development = dev_key_ids()
        if signing_key.kid in development:
            raise ValueError(f"SERVICE_SIGNING_KEY is a development key, which anyone can compute; {generate}")
        trusted_dev = sorted(
            issuer for issuer, by_kid in key_set.keys.items() if any(kid in development for kid in by_kid)
        )
        if trusted_dev:
            raise ValueError(f"SERVICE_PUBLIC_KEYS trusts the development key of {', '.join(trusted_dev)}; {generate}")
        if self.environment == Environment.PRODUCTION and self.operator_accounts is None:
            raise ValueError(
                "OPERATOR_ACCOUNTS is not set: list the operators and their roles "
                '(\'{"alice": {"roles": ["finance"]}}\'; \'{}\' for none) so that a valid signature alone admits nobody'
            )
        return self

    def signing_key(self) -> SigningKey:
        """The key this process signs its tokens with: SERVICE_SIGNING_KEY, or in development when it is
        empty the service's development key. ValueError when the text is not an Ed25519 private key."""
        text = self.service_signing_key.get_secret_value()
        if not text.strip():
            return dev_signing_key(self.service_name)
        return _cached_signing_key(text)

    def public_key_set(self) -> PublicKeySet:
        """The keys whose tokens this service accepts: SERVICE_PUBLIC_KEYS, or when it is empty every
        issuer's development key (refused outside development by the validator above)."""
        return public_key_set(self.service_public_keys or dev_public_keys())

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


@lru_cache(maxsize=16)
def _cached_signing_key(text: str) -> SigningKey:
    return SigningKey.from_text(text)


def _parse_rate_limit(text: str) -> None:
    """ValueError unless `text` is `limits` notation ("100/second;3000/minute"), one limit at least."""
    try:
        if parse_many(text):
            return
    except ValueError:
        pass
    raise ValueError(f"{text!r} is not a rate limit such as '100/second;3000/minute'")


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
