"""FORWARDED_ALLOW_IPS: behind a trusted reverse proxy `request.client.host` is the real sender, and nobody
else can choose it by sending X-Forwarded-For.

The API is served by the real uvicorn with the options `academy-<service> api` uses, on a free port of
127.0.0.1; clients connect from 127.0.0.1 (a trusted proxy) or 127.0.0.2 (any other peer: the whole of
127.0.0.0/8 is the loopback interface on Linux).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from academy_runtime import cli
from academy_runtime.settings import ServiceSettings
from academy_runtime.testing import real_service_keys_env
from fastapi import FastAPI, Request
from pydantic import ValidationError

from .conftest import test_service
from .helpers import under_uvicorn

YOOKASSA = "185.71.76.5"  # inside one of YooKassa's published notification networks
PROXY = "127.0.0.1"
STRANGER = "127.0.0.2"


def _whoami_app() -> FastAPI:
    app = FastAPI()

    @app.get("/whoami")
    async def whoami(request: Request) -> dict[str, Any]:
        return {"host": request.client.host if request.client else None, "scheme": request.url.scheme}

    return app


def _settings(**values: Any) -> ServiceSettings:
    return ServiceSettings(_env_file=None, **values)


@asynccontextmanager
async def serving(settings: ServiceSettings) -> AsyncIterator[str]:
    """The app under the real uvicorn, configured exactly as the `api` command configures it."""
    options = cli.api_server_options(settings, host="127.0.0.1", port=0)
    async with under_uvicorn(_whoami_app(), **options) as port:
        yield f"http://127.0.0.1:{port}"


async def whoami(base_url: str, source: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        response = await client.get("/whoami", headers=headers or {})
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


async def test_a_trusted_proxy_passes_on_the_real_sender() -> None:
    async with serving(_settings(forwarded_allow_ips=PROXY)) as url:
        seen = await whoami(url, PROXY, {"X-Forwarded-For": YOOKASSA, "X-Forwarded-Proto": "https"})
    assert seen == {"host": YOOKASSA, "scheme": "https"}


async def test_an_untrusted_peer_cannot_claim_another_address() -> None:
    async with serving(_settings(forwarded_allow_ips=PROXY)) as url:
        seen = await whoami(url, STRANGER, {"X-Forwarded-For": YOOKASSA, "X-Forwarded-Proto": "https"})
    assert seen == {"host": STRANGER, "scheme": "http"}


async def test_without_the_header_the_peer_is_the_client() -> None:
    async with serving(_settings(forwarded_allow_ips=PROXY)) as url:
        assert (await whoami(url, PROXY))["host"] == PROXY
        assert (await whoami(url, STRANGER))["host"] == STRANGER


async def test_a_forged_entry_before_the_proxy_s_own_is_ignored() -> None:
    """A proxy that appends (ingress-nginx with use-forwarded-headers) passes on what the client sent
    followed by the address it saw: the right-most untrusted entry wins, not the client's claim."""
    async with serving(_settings(forwarded_allow_ips=PROXY)) as url:
        seen = await whoami(url, PROXY, {"X-Forwarded-For": f"{YOOKASSA}, 203.0.113.9"})
    assert seen["host"] == "203.0.113.9"


async def test_a_network_of_proxies_and_a_chain_through_them() -> None:
    """CIDRs are accepted; a chain LB → ingress controller (both trusted) still yields the sender."""
    async with serving(_settings(forwarded_allow_ips="127.0.0.0/30, 10.0.0.0/8")) as url:
        seen = await whoami(url, STRANGER, {"X-Forwarded-For": f"{YOOKASSA}, 10.1.2.3"})
        assert seen["host"] == YOOKASSA
        seen = await whoami(url, PROXY, {"X-Forwarded-For": f"{YOOKASSA}, 10.1.2.3"})
        assert seen["host"] == YOOKASSA


async def test_the_default_trusts_only_the_loopback_address() -> None:
    settings = _settings()
    assert settings.forwarded_allow_ips == "127.0.0.1"
    async with serving(settings) as url:
        assert (await whoami(url, STRANGER, {"X-Forwarded-For": YOOKASSA}))["host"] == STRANGER


def test_the_setting_is_read_from_the_environment_and_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.244.0.0/16, 127.0.0.1")
    settings = ServiceSettings(_env_file=None)
    assert settings.trusted_proxies == ["10.244.0.0/16", "127.0.0.1"]
    for bad in ("ingress-nginx", "10.0.0.0/33", ""):
        with pytest.raises(ValidationError, match="forwarded_allow_ips"):
            _settings(forwarded_allow_ips=bad)
    assert _settings(forwarded_allow_ips="*").trusted_proxies == ["*"]  # development: anything goes


def test_production_refuses_to_trust_every_peer() -> None:
    keys = real_service_keys_env()
    secrets = {
        "service_signing_key": keys["SERVICE_SIGNING_KEY"],
        "service_public_keys": json.loads(keys["SERVICE_PUBLIC_KEYS"]),
        "operator_accounts": json.loads(keys["OPERATOR_ACCOUNTS"]),
        "s3_secret_key": "real-s3-secret",
        # Production refuses every placeholder, the defaults included (academy_runtime.placeholders).
        "s3_access_key": "AKIA7Q2PRODKEY",
        "rabbitmq_url": "amqp://users:9c1f0e7d5a@rabbitmq:5672/",
    }
    with pytest.raises(ValidationError, match=r"FORWARDED_ALLOW_IPS=\*"):
        _settings(environment="production", forwarded_allow_ips="127.0.0.1,*", **secrets)
    assert _settings(environment="production", forwarded_allow_ips="10.244.0.0/16", **secrets).trusted_proxies


def test_the_api_command_runs_uvicorn_with_these_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """`academy-<service> api` hands uvicorn.run proxy_headers and FORWARDED_ALLOW_IPS, nothing looser."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.244.0.0/16")
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    main: Callable[[list[str] | None], None] = cli.service_main(lambda: test_service)
    main(["api", "--port", "18999"])
    (options,) = calls
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == ["10.244.0.0/16"]
    assert options["port"] == 18999
