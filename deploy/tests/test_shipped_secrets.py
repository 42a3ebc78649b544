"""Every secret that ships in the repository is refused with ENVIRONMENT=production (issue 9, part 5).

The values are collected from the files, not typed here: docker-compose.yml (each container's
environment with the `${VAR:-default}` defaults, and again with each env file's values), the env files
in deploy/ (`*.env`, `*.env.example`), every Secret and ConfigMap and container `env` under deploy/k8s,
and each service's settings defaults. A new placeholder in any of them that the detector in
`academy_runtime.placeholders` does not recognise fails here.
"""

from __future__ import annotations

import base64
import importlib
import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from academy_runtime.auth import ISSUERS, generate_signing_key
from academy_runtime.placeholders import placeholder_reason, shipped_defaults, url_password
from academy_runtime.settings import Environment, ServiceSettings
from pydantic import SecretStr, ValidationError

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SERVICES = {
    "users": "academy_users",
    "catalog": "academy_catalog",
    "progress": "academy_progress",
    "gamification": "academy_gamification",
    "billing": "academy_billing",
    "gateway-bot": "academy_gateway_bot",
}
# Names of variables that hold a credential (a variable ending in _URL counts when it carries a password).
SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASS|SHOP_ID)$")
# Names that match SECRET_NAME but hold no credential: the backup's object key in S3.
NOT_SECRET = frozenset({"DUMP_KEY"})
_COMPOSE_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")
_K8S_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")

Shipped = tuple[str, str, str]  # (where, variable, value)


def settings_classes() -> dict[str, type[ServiceSettings]]:
    classes = {}
    for service, package in SERVICES.items():
        module = importlib.import_module(f"{package}.settings")
        (cls,) = (
            value
            for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, ServiceSettings) and value is not ServiceSettings
        )
        classes[service] = cls
    return classes


def _env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def env_files() -> dict[str, dict[str, str]]:
    return {
        str(path.relative_to(ROOT)): _env_file(path)
        for path in sorted([*DEPLOY.glob("*.env"), *DEPLOY.glob("*.env.example"), *ROOT.glob(".env.example")])
    }


def _compose_value(value: str, variables: dict[str, str]) -> str:
    return _COMPOSE_VAR.sub(lambda m: variables.get(m[1]) or m[2] or "", value)


def _compose_environments() -> Iterator[tuple[str, dict[str, str]]]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    for name, service in compose["services"].items():
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.partition("=")[::2] for item in environment)
        yield name, {key: str(value) for key, value in environment.items()}


def _k8s_documents() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted((DEPLOY / "k8s").rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(document, dict) and "kind" in document:
                yield str(path.relative_to(ROOT)), document


def _containers(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = document.get("spec") or {}
    template = spec.get("jobTemplate", {}).get("spec", spec).get("template", {})
    pod = template.get("spec") or {}
    yield from pod.get("initContainers", []) or []
    yield from pod.get("containers", []) or []


def _compose_values() -> Iterator[Shipped]:
    """docker-compose.yml: each container's environment with the defaults, then with each env file's values."""
    variable_sets: dict[str, dict[str, str]] = {"defaults": {}, **env_files()}
    for source, variables in variable_sets.items():
        for name, environment in _compose_environments():
            for key, value in environment.items():
                yield f"docker-compose.yml {name} ({source})", key, _compose_value(value, variables)
    for source, variables in env_files().items():
        for key, value in variables.items():
            yield source, key, value


def _k8s_values() -> Iterator[Shipped]:
    """Secrets and ConfigMaps, and each container's env with $(VAR) taken from the base Secrets."""
    secret_values: dict[str, str] = {}
    documents = list(_k8s_documents())
    for where, document in documents:
        if document["kind"] in {"Secret", "ConfigMap"}:
            for key, value in {**(document.get("data") or {}), **(document.get("stringData") or {})}.items():
                yield f"{where} {document['kind']}/{document['metadata']['name']}", key, str(value)
                if document["kind"] == "Secret":
                    secret_values[key] = str(value)
    for where, document in documents:
        for container in _containers(document):
            env = container.get("env", []) or []
            references = {
                var["name"]: var["valueFrom"]["secretKeyRef"]["key"]
                for var in env
                if "secretKeyRef" in (var.get("valueFrom") or {})
            }
            for var in env:
                if "value" in var:
                    value = _K8S_VAR.sub(
                        lambda m: secret_values.get(references.get(m[1], m[1]), m[0]),  # noqa: B023 - used at once
                        str(var["value"]),
                    )
                    yield f"{where} {container['name']}", var["name"], value


def shipped_values() -> list[Shipped]:
    """Every (where, variable, value) a deploy file of the repository sets."""
    return [*_compose_values(), *_k8s_values()]


def secret_text(key: str, value: str) -> str | None:
    """What of a variable is secret: a URL's password, a credential-named variable's value, or None."""
    password = url_password(value)
    if password is not None:
        return password
    if SECRET_NAME.search(key) and key not in NOT_SECRET and value and not value.startswith("$"):
        return value
    return None


def shipped_secrets() -> list[Shipped]:
    seen: set[tuple[str, str]] = set()
    out = []
    for where, key, value in shipped_values():
        if secret_text(key, value) is not None and (key, value) not in seen:
            seen.add((key, value))
            out.append((where, key, value))
    return out


def test_the_collection_finds_the_known_placeholders() -> None:
    # A guard against a collector that silently finds nothing (the assertions below would pass vacuously).
    values = {value for _, _, value in shipped_secrets()}
    assert "CHANGE-ME" in values
    assert "dev-yookassa-secret-change-me" in values
    assert any("users-compose-pw" in value for value in values)
    assert any("users-compose-bus" in value for value in values)  # compose's per-service broker passwords
    assert any("CHANGE-ME@" in value for value in values)  # RABBITMQ_URL / REDIS_URL of the base Secret
    assert len(values) >= 20


@pytest.mark.parametrize(("where", "key", "value"), shipped_secrets(), ids=lambda item: str(item)[:60])
def test_every_shipped_secret_is_a_placeholder(where: str, key: str, value: str) -> None:
    text = secret_text(key, value)
    assert text is not None
    assert placeholder_reason(text) is not None, f"{key} in {where} escapes academy_runtime.placeholders"


def production_baseline(cls: type[ServiceSettings]) -> dict[str, Any]:
    """Settings a production pod could really run with: every secret random, every key generated."""
    signing = generate_signing_key()
    password = secrets.token_hex(16)
    values: dict[str, Any] = {
        "environment": Environment.PRODUCTION,
        "service_signing_key": SecretStr(signing.private_text()),
        "service_public_keys": {issuer: [generate_signing_key().public_text()] for issuer in ISSUERS},
        "operator_accounts": {"alice": {"roles": ["finance"]}},
        "database_url": f"postgresql+asyncpg://academy_x:{password}@postgres:5432/beauty_academy",
        "rabbitmq_url": f"amqp://academy:{secrets.token_hex(16)}@rabbitmq:5672/",
        "redis_url": f"redis://:{secrets.token_hex(16)}@redis:6379/0",
        "s3_access_key": secrets.token_hex(10).upper(),
        "s3_secret_key": SecretStr(secrets.token_urlsafe(30)),
    }
    optional = {
        # users: the personal-data keys (issue 10), 32 random bytes each
        "personal_data_keys": SecretStr(json.dumps({"k1": base64.b64encode(secrets.token_bytes(32)).decode()})),
        "phone_lookup_key": SecretStr(base64.b64encode(secrets.token_bytes(32)).decode()),
        "yookassa_shop_id": str(500_000 + secrets.randbelow(400_000)),
        "yookassa_secret_key": SecretStr("live_" + secrets.token_urlsafe(30)),
        "telegram_bot_token": SecretStr(f"{7_000_000_000 + secrets.randbelow(10**9)}:{secrets.token_urlsafe(26)}"),
        "telegram_webhook_secret": SecretStr(secrets.token_urlsafe(32)),
    }
    values.update({name: value for name, value in optional.items() if name in cls.model_fields})
    return values


def build(cls: type[ServiceSettings], values: dict[str, Any]) -> ServiceSettings:
    return cls(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize("service", SERVICES)
def test_production_runs_with_real_secrets(service: str) -> None:
    cls = settings_classes()[service]
    assert build(cls, production_baseline(cls)).environment == Environment.PRODUCTION


def _as_field_value(cls: type[ServiceSettings], field: str, value: str) -> Any:
    annotation = cls.model_fields[field].annotation
    return SecretStr(value) if annotation is SecretStr else value


def _refused(cls: type[ServiceSettings], field: str, value: str) -> str:
    values = {**production_baseline(cls), field: _as_field_value(cls, field, value)}
    with pytest.raises(ValidationError) as refused:
        build(cls, values)
    message = str(refused.value)
    assert field.upper() in message, message
    return message


def test_every_shipped_secret_of_a_setting_is_refused_in_production() -> None:
    """Each shipped value, alone among real secrets, stops every service that reads it, naming it."""
    classes = settings_classes()
    # DB_PASSWORD_<SERVICE> and the like reach a service inside DATABASE_URL.
    checked = 0
    for where, key, value in shipped_secrets():
        field = key.lower()
        if url_password(value) is None and not any(field in cls.model_fields for cls in classes.values()):
            value = f"postgresql+asyncpg://academy_x:{secret_text(key, value)}@postgres:5432/beauty_academy"  # noqa: PLW2901
            field = "database_url"
        for cls in classes.values():
            if field not in cls.model_fields:
                continue
            message = _refused(cls, field, value)
            assert value not in message or len(value) < 6, f"the error prints {key} from {where}"
            checked += 1
    assert checked >= 50


@pytest.mark.parametrize("service", SERVICES)
def test_every_secret_default_of_the_settings_is_refused_in_production(service: str) -> None:
    cls = settings_classes()[service]
    assert shipped_defaults(cls), "the settings' own defaults were not collected"
    for field, info in cls.model_fields.items():
        default = info.get_default(call_default_factory=True)
        if isinstance(default, SecretStr) and default.get_secret_value():
            _refused(cls, field, default.get_secret_value())
        elif isinstance(default, str) and (url_password(default) or SECRET_NAME.search(field.upper())):
            _refused(cls, field, default)


def test_the_error_names_the_setting_not_its_value() -> None:
    cls = settings_classes()["billing"]
    leaked = "dev-yookassa-secret-change-me"
    message = _refused(cls, "yookassa_secret_key", leaked)
    assert leaked not in message
    assert "YOOKASSA_SECRET_KEY" in message
    # pydantic prints the input of a failed model otherwise, every secret included.
    assert "input_value" not in message


def test_a_secret_of_a_new_setting_is_covered_without_a_list() -> None:
    class WithNewSecret(ServiceSettings):
        partner_api_token: SecretStr = SecretStr("partner-dev-token")

    values = production_baseline(WithNewSecret)
    with pytest.raises(ValidationError, match="PARTNER_API_TOKEN"):
        build(WithNewSecret, values)

    class WithUnmarkedDefault(ServiceSettings):
        partner_api_token: SecretStr = SecretStr("q8Zr1mW4")  # no marker: refused only as a shipped default

    values = production_baseline(WithUnmarkedDefault)
    with pytest.raises(ValidationError, match="PARTNER_API_TOKEN is the default"):
        build(WithUnmarkedDefault, values)
    assert build(WithUnmarkedDefault, {**values, "partner_api_token": SecretStr(secrets.token_hex(20))})
