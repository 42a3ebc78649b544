"""Issue 9 §2 and §3: per-issuer keys, one audience, a short life, callers named per endpoint, operators."""

from __future__ import annotations

import json
import math
import time
from types import SimpleNamespace
from typing import Annotated, Any

import httpx
import jwt
import pytest
from academy_runtime.auth import (
    LEEWAY_S,
    OPERATORS_ISSUER,
    Caller,
    OperatorAccount,
    PublicKeySet,
    SigningKey,
    VerifiedTokens,
    accepts,
    admit_operator,
    dev_signing_key,
    generate_signing_key,
    issue_operator_token,
    issue_service_token,
    verify_token,
)
from academy_runtime.errors import UnauthorizedError, install_error_handlers
from academy_runtime.settings import ServiceSettings
from academy_runtime.testing import real_service_keys_env
from fastapi import FastAPI
from pydantic import ValidationError

ISSUERS = ("gateway-bot", "progress", "billing", OPERATORS_ISSUER)


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {issuer: generate_signing_key() for issuer in ISSUERS}


@pytest.fixture(scope="module")
def trusted(keys: dict[str, SigningKey]) -> PublicKeySet:
    return PublicKeySet.from_texts({issuer: [key.public_text()] for issuer, key in keys.items()})


def _raw_token(key: SigningKey, claims: dict[str, Any], *, kid: str | None = None) -> str:
    return jwt.encode(claims, key.private_key, algorithm="EdDSA", headers={"kid": kid or key.kid})


def test_a_service_token_names_its_issuer(keys, trusted):
    token = issue_service_token(keys["gateway-bot"], caller="gateway-bot", audience="billing")
    assert verify_token(trusted, token, audience="billing") == Caller(service="gateway-bot")


def test_a_token_signed_by_another_services_key_is_refused(keys, trusted):
    """progress holds its own key only: claiming to be the gateway with it fails (any iss was accepted
    with the shared secret)."""
    forged = _raw_token(
        keys["progress"],
        {"iss": "gateway-bot", "aud": "billing", "iat": int(time.time()), "exp": int(time.time()) + 60},
    )
    with pytest.raises(UnauthorizedError, match="not one of 'gateway-bot'"):
        verify_token(trusted, forged, audience="billing")
    # The same with the gateway's key id in the header: the signature does not verify.
    forged = _raw_token(
        keys["progress"],
        {"iss": "gateway-bot", "aud": "billing", "iat": int(time.time()), "exp": int(time.time()) + 60},
        kid=keys["gateway-bot"].kid,
    )
    with pytest.raises(UnauthorizedError, match="Signature verification failed"):
        verify_token(trusted, forged, audience="billing")


def test_an_unknown_issuer_is_refused(trusted):
    stranger = generate_signing_key()
    with pytest.raises(UnauthorizedError, match="unknown issuer 'e2e'"):
        verify_token(trusted, issue_service_token(stranger, caller="e2e", audience="billing"), audience="billing")


def test_an_expired_token_is_refused(keys, trusted):
    now = int(time.time())
    expired = _raw_token(
        keys["gateway-bot"], {"iss": "gateway-bot", "aud": "billing", "iat": now - 400, "exp": now - 100}
    )
    with pytest.raises(UnauthorizedError, match="expired"):
        verify_token(trusted, expired, audience="billing")


def test_a_ten_year_token_is_refused(keys, trusted):
    now = int(time.time())
    ten_years = _raw_token(
        keys["gateway-bot"], {"iss": "gateway-bot", "aud": "billing", "iat": now, "exp": now + 10 * 365 * 86400}
    )
    with pytest.raises(UnauthorizedError, match="longer than 300 s"):
        verify_token(trusted, ten_years, audience="billing")
    with pytest.raises(ValueError, match=r"1\.\.300"):
        issue_service_token(keys["gateway-bot"], caller="gateway-bot", audience="billing", ttl_s=3600)


def test_a_token_issued_in_the_future_is_refused(keys, trusted):
    now = int(time.time())
    future = _raw_token(
        keys["gateway-bot"], {"iss": "gateway-bot", "aud": "billing", "iat": now + 120, "exp": now + 300}
    )
    with pytest.raises(UnauthorizedError, match="future"):
        verify_token(trusted, future, audience="billing")


@pytest.mark.parametrize("audience", [["billing", "users"], ["billing"]])
def test_a_token_must_name_exactly_one_audience(keys, trusted, audience):
    now = int(time.time())
    token = _raw_token(keys["gateway-bot"], {"iss": "gateway-bot", "aud": audience, "iat": now, "exp": now + 60})
    with pytest.raises(UnauthorizedError, match="exactly one audience"):
        verify_token(trusted, token, audience="billing")


def test_a_token_for_another_service_is_refused(keys, trusted):
    token = issue_service_token(keys["gateway-bot"], caller="gateway-bot", audience="users")
    with pytest.raises(UnauthorizedError, match="not meant for billing"):
        verify_token(trusted, token, audience="billing")


@pytest.mark.parametrize("missing", ["iat", "exp", "aud"])
def test_every_claim_is_required(keys, trusted, missing):
    now = int(time.time())
    claims = {"iss": "gateway-bot", "aud": "billing", "iat": now, "exp": now + 60}
    del claims[missing]
    with pytest.raises(UnauthorizedError):
        verify_token(trusted, _raw_token(keys["gateway-bot"], claims), audience="billing")


def test_an_hs256_token_is_refused(trusted):
    now = int(time.time())
    token = jwt.encode({"iss": "gateway-bot", "aud": "billing", "iat": now, "exp": now + 60}, "x" * 40, "HS256")
    with pytest.raises(UnauthorizedError, match="EdDSA"):
        verify_token(trusted, token, audience="billing")


def test_an_operator_token_carries_the_person_and_roles(keys, trusted):
    token = issue_operator_token(
        keys[OPERATORS_ISSUER], operator="alice", roles=["finance"], audience="billing", ttl_s=8 * 3600
    )
    caller = verify_token(trusted, token, audience="billing")
    assert (caller.service, caller.operator, caller.roles) == (OPERATORS_ISSUER, "alice", frozenset({"finance"}))
    assert abs(caller.issued_at - time.time()) < 60
    assert caller.actor == "operator:alice"


@pytest.mark.parametrize(
    ("sub", "roles"),
    [
        ("a" * 65, ["finance"]),  # past the audit columns (a 500 from billing before)
        ("ali\x00ce", ["finance"]),  # NUL: PostgreSQL refuses it in text
        ("ali\nce", ["finance"]),
        (" alice", ["finance"]),
        ("operator:alice", ["finance"]),
        ("alice", ["admin"]),  # a role nobody defined
        ("alice", []),
        ("", ["finance"]),
        # A person's full name and phone as the name: it would land in the audit log as the actor.
        ("Прасковья Второва +79161234598", ["finance"]),
        ("praskovya+79161234598", ["finance"]),
        ("p.vtorova79161234598", ["finance"]),
        ("Alice", ["finance"]),
        ("alice smith", ["finance"]),
    ],
    ids=[
        "long",
        "nul",
        "newline",
        "space",
        "colon",
        "unknown-role",
        "no-role",
        "empty",
        "full-name-and-phone",
        "plus-phone",
        "digits-of-a-phone",
        "capital",
        "inner-space",
    ],
)
def test_a_signed_operator_token_breaking_the_naming_rules_is_refused(keys, trusted, sub, roles):
    """The key signs what it is given; the callee applies the same rules as the command that issues."""
    now = int(time.time())
    claims = {"iss": OPERATORS_ISSUER, "sub": sub, "roles": roles, "aud": "billing", "iat": now, "exp": now + 60}
    with pytest.raises(UnauthorizedError, match="invalid operator token"):
        verify_token(trusted, _raw_token(keys[OPERATORS_ISSUER], claims), audience="billing")


@pytest.mark.parametrize("name", ["alice", "o.petrova", "support-7", "a_b"])
def test_logins_are_operator_names(keys, trusted, name):
    token = issue_operator_token(keys[OPERATORS_ISSUER], operator=name, roles=["support"], audience="billing")
    assert verify_token(trusted, token, audience="billing").actor == f"operator:{name}"


def test_an_operator_name_that_is_no_login_cannot_be_issued_either(keys):
    with pytest.raises(ValueError, match="a login"):
        issue_operator_token(
            keys[OPERATORS_ISSUER], operator="Прасковья Второва +79161234598", roles=["support"], audience="users"
        )


def test_an_operator_token_is_bounded_too(keys, trusted):
    now = int(time.time())
    claims = {"iss": OPERATORS_ISSUER, "sub": "alice", "roles": ["finance"], "aud": "billing", "iat": now}
    with pytest.raises(UnauthorizedError, match="longer than 43200 s"):
        verify_token(trusted, _raw_token(keys[OPERATORS_ISSUER], {**claims, "exp": now + 86400}), audience="billing")
    with pytest.raises(ValueError, match="unknown operator roles"):
        issue_operator_token(keys[OPERATORS_ISSUER], operator="alice", roles=["root"], audience="billing")


def test_a_service_key_cannot_sign_an_operator_token(keys, trusted):
    token = issue_operator_token(keys["gateway-bot"], operator="mallory", roles=["finance"], audience="billing")
    with pytest.raises(UnauthorizedError, match="not one of 'operators'"):
        verify_token(trusted, token, audience="billing")


def test_several_keys_per_issuer_allow_rotation(keys):
    new_key = generate_signing_key()
    rotating = PublicKeySet.from_texts({"gateway-bot": [keys["gateway-bot"].public_text(), new_key.public_text()]})
    for key in (keys["gateway-bot"], new_key):
        token = issue_service_token(key, caller="gateway-bot", audience="billing")
        assert verify_token(rotating, token, audience="billing").service == "gateway-bot"


# -- settings ---------------------------------------------------------------------------------------


def test_development_runs_on_derived_keys():
    settings = ServiceSettings(_env_file=None, service_name="billing")
    assert settings.signing_key() == dev_signing_key("billing")
    token = issue_service_token(dev_signing_key("gateway-bot"), caller="gateway-bot", audience="billing")
    assert verify_token(settings.public_key_set(), token, audience="billing").service == "gateway-bot"


@pytest.mark.parametrize("environment", ["test", "production"])
def test_outside_development_the_keys_must_be_real(monkeypatch, environment):
    monkeypatch.setenv("ENVIRONMENT", environment)
    monkeypatch.setenv("S3_SECRET_KEY", "real-s3-secret")
    monkeypatch.setenv("S3_ACCESS_KEY", "real-s3-access")
    monkeypatch.setenv("RABBITMQ_URL", "amqp://academy-users:real-broker-password@rabbitmq:5672/")
    with pytest.raises(ValidationError, match="SERVICE_SIGNING_KEY is empty"):
        ServiceSettings(_env_file=None)
    real = real_service_keys_env()
    monkeypatch.setenv("SERVICE_SIGNING_KEY", real["SERVICE_SIGNING_KEY"])
    with pytest.raises(ValidationError, match="SERVICE_PUBLIC_KEYS is empty"):
        ServiceSettings(_env_file=None)
    monkeypatch.setenv("SERVICE_PUBLIC_KEYS", real["SERVICE_PUBLIC_KEYS"])
    if environment == "production":
        with pytest.raises(ValidationError, match="OPERATOR_ACCOUNTS is not set"):
            ServiceSettings(_env_file=None)
        monkeypatch.setenv("OPERATOR_ACCOUNTS", "{}")
    assert ServiceSettings(_env_file=None).signing_key().kid
    # A development key, as the signer's key or among the trusted ones, is refused.
    monkeypatch.setenv("SERVICE_SIGNING_KEY", dev_signing_key("users").private_text())
    with pytest.raises(ValidationError, match="SERVICE_SIGNING_KEY is a development key"):
        ServiceSettings(_env_file=None)
    monkeypatch.setenv("SERVICE_SIGNING_KEY", real["SERVICE_SIGNING_KEY"])
    public = json.loads(real["SERVICE_PUBLIC_KEYS"])
    public["gateway-bot"].append(dev_signing_key("gateway-bot").public_text())
    monkeypatch.setenv("SERVICE_PUBLIC_KEYS", json.dumps(public))
    with pytest.raises(ValidationError, match="trusts the development key of gateway-bot"):
        ServiceSettings(_env_file=None)


@pytest.mark.parametrize(
    ("name", "value"),
    [("SERVICE_SIGNING_KEY", "CHANGE-ME"), ("SERVICE_PUBLIC_KEYS", '{"users": ["CHANGE-ME"]}')],
)
def test_a_placeholder_key_is_refused_at_start_up(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=r"neither PEM nor base64 DER|not a"):
        ServiceSettings(_env_file=None)


def test_pem_keys_are_read_too():
    from cryptography.hazmat.primitives import serialization

    key = generate_signing_key()
    pem = key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    assert SigningKey.from_text(pem).kid == key.kid
    assert PublicKeySet.from_texts({"users": [public_pem]}).key_ids() == {key.kid}


# -- the endpoint dependency ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(keys: dict[str, SigningKey]) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    settings = ServiceSettings(
        _env_file=None,
        service_name="billing",
        service_public_keys={issuer: [key.public_text()] for issuer, key in keys.items()},
    )
    app.state.resources = SimpleNamespace(settings=settings)

    @app.post("/internal/adjustments")
    async def adjust(caller: Annotated[Caller, accepts(roles=("finance",))]) -> dict[str, str]:
        return {"actor": caller.actor}

    @app.get("/internal/wallet")
    async def wallet(caller: Annotated[Caller, accepts("gateway-bot", roles=("support",))]) -> dict[str, str]:
        return {"actor": caller.actor}

    return app


async def _call(app: FastAPI, method: str, path: str, token: str | None) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return await client.request(method, path, headers=headers)


async def test_a_caller_not_listed_gets_403_saying_who_may(app, keys):
    token = issue_service_token(keys["gateway-bot"], caller="gateway-bot", audience="billing")
    response = await _call(app, "POST", "/internal/adjustments", token)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "service 'gateway-bot' may not call POST /internal/adjustments; it admits operators with role finance"
    )
    assert (await _call(app, "GET", "/internal/wallet", token)).json() == {"actor": "gateway-bot"}


async def test_an_operator_without_the_role_gets_403(app, keys):
    support = issue_operator_token(keys[OPERATORS_ISSUER], operator="bob", roles=["support"], audience="billing")
    response = await _call(app, "POST", "/internal/adjustments", support)
    assert response.status_code == 403
    assert "operator 'bob' (roles: support)" in response.json()["error"]["message"]
    finance = issue_operator_token(keys[OPERATORS_ISSUER], operator="alice", roles=["finance"], audience="billing")
    response = await _call(app, "POST", "/internal/adjustments", finance)
    assert response.json() == {"actor": "operator:alice"}


async def test_no_token_is_401_in_the_house_shape(app):
    response = await _call(app, "GET", "/internal/wallet", None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthorized"


def test_the_openapi_document_has_the_bearer_scheme(app):
    document = app.openapi()
    scheme = document["components"]["securitySchemes"]["ServiceOrOperatorToken"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    assert document["paths"]["/internal/wallet"]["get"]["security"] == [{"ServiceOrOperatorToken": []}]


# -- operator accounts ------------------------------------------------------------------------------


def test_an_operators_token_holds_only_the_roles_their_account_still_has(keys, trusted):
    token = issue_operator_token(
        keys[OPERATORS_ISSUER], operator="alice", roles=["finance", "support"], audience="billing"
    )
    caller = verify_token(trusted, token, audience="billing")
    accounts = {"alice": OperatorAccount(roles=frozenset({"support"}))}
    assert admit_operator(caller, accounts).roles == {"support"}
    assert admit_operator(caller, None).roles == {"finance", "support"}  # unset: development and test


def test_an_operator_without_an_account_or_with_a_revoked_token_is_refused(keys, trusted):
    token = issue_operator_token(keys[OPERATORS_ISSUER], operator="mallory", roles=["finance"], audience="billing")
    caller = verify_token(trusted, token, audience="billing")
    with pytest.raises(UnauthorizedError, match="'mallory' has no account"):
        admit_operator(caller, {"alice": OperatorAccount(roles=frozenset({"finance"}))})
    revoked = {"mallory": OperatorAccount(roles=frozenset({"finance"}), tokens_not_before=int(time.time()) + 1)}
    with pytest.raises(UnauthorizedError, match="revoked"):
        admit_operator(caller, revoked)
    service = Caller(service="gateway-bot")
    assert admit_operator(service, {}) is service


def test_operator_accounts_name_known_roles_only():
    with pytest.raises(ValidationError, match="unknown operator roles"):
        OperatorAccount(roles=frozenset({"root"}))


async def test_an_endpoint_applies_the_accounts(keys):
    app = FastAPI()
    install_error_handlers(app)
    settings = ServiceSettings(
        _env_file=None,
        service_name="billing",
        service_public_keys={issuer: [key.public_text()] for issuer, key in keys.items()},
        operator_accounts={"alice": {"roles": ["support"]}},
    )
    app.state.resources = SimpleNamespace(settings=settings)

    @app.post("/internal/adjustments")
    async def adjust(caller: Annotated[Caller, accepts(roles=("finance",))]) -> dict[str, str]:
        return {"actor": caller.actor}

    # alice's token says finance, but her account no longer holds it; bob has no account at all.
    alice = issue_operator_token(keys[OPERATORS_ISSUER], operator="alice", roles=["finance"], audience="billing")
    assert (await _call(app, "POST", "/internal/adjustments", alice)).status_code == 403
    bob = issue_operator_token(keys[OPERATORS_ISSUER], operator="bob", roles=["finance"], audience="billing")
    response = await _call(app, "POST", "/internal/adjustments", bob)
    assert response.status_code == 401
    assert "no account" in response.json()["error"]["message"]


def test_an_empty_variable_is_an_unset_one(monkeypatch):
    """docker compose passes `${SERVICE_PUBLIC_KEYS:-}` as an empty string; JSON settings cannot parse it."""
    for name in ("SERVICE_PUBLIC_KEYS", "OPERATOR_ACCOUNTS", "SERVICE_SIGNING_KEY"):
        monkeypatch.setenv(name, "")
    settings = ServiceSettings(_env_file=None)
    assert (settings.service_public_keys, settings.operator_accounts) == ({}, None)


# -- verified tokens (one verification per token, not per request) ----------------------------------


def _counting_verify(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from academy_runtime import auth

    calls: list[str] = []
    real = auth.verify_token

    def counting(keys: PublicKeySet, token: str, **kwargs: Any) -> Caller:
        calls.append(token)
        return real(keys, token, **kwargs)

    monkeypatch.setattr(auth, "verify_token", counting)
    return calls


def test_a_verified_token_is_remembered_until_it_expires(keys, trusted, monkeypatch):
    calls = _counting_verify(monkeypatch)
    tokens = VerifiedTokens()
    token = issue_service_token(keys["gateway-bot"], caller="gateway-bot", audience="billing", ttl_s=60)

    first = tokens.verify(trusted, token, audience="billing")
    second = tokens.verify(trusted, token, audience="billing")

    assert first == second == Caller(service="gateway-bot")
    assert calls == [token]
    # Past exp + LEEWAY_S it is verified anew (here with a clock moved on, so the token still passes).
    assert first.expires_at == int(jwt.decode(token, options={"verify_signature": False})["exp"])
    tokens.verify(trusted, token, audience="billing", now=first.expires_at + LEEWAY_S)
    assert calls == [token, token]


def test_an_expired_token_is_refused_although_it_was_remembered(keys, trusted):
    tokens = VerifiedTokens()
    # Valid for one or two more seconds by the clock: until exp + LEEWAY_S.
    exp = math.ceil(time.time()) + 1 - LEEWAY_S
    token = _raw_token(keys["gateway-bot"], {"iss": "gateway-bot", "aud": "billing", "iat": exp - 60, "exp": exp})
    assert tokens.verify(trusted, token, audience="billing").service == "gateway-bot"
    time.sleep(exp + LEEWAY_S + 0.1 - time.time())
    with pytest.raises(UnauthorizedError, match="token expired"):
        tokens.verify(trusted, token, audience="billing")
    assert len(tokens) == 0


def test_a_remembered_token_is_checked_again_for_other_keys_or_another_audience(keys, trusted, monkeypatch):
    tokens = VerifiedTokens()
    token = issue_service_token(keys["gateway-bot"], caller="gateway-bot", audience="billing")
    tokens.verify(trusted, token, audience="billing")

    # The gateway's key was removed from SERVICE_PUBLIC_KEYS (another key set): refused.
    rotated = PublicKeySet.from_texts({"progress": [keys["progress"].public_text()]})
    with pytest.raises(UnauthorizedError, match="unknown issuer 'gateway-bot'"):
        tokens.verify(rotated, token, audience="billing")
    tokens.verify(trusted, token, audience="billing")
    with pytest.raises(UnauthorizedError, match="not meant for progress"):
        tokens.verify(trusted, token, audience="progress")


def test_only_valid_tokens_are_remembered_and_at_most_max_entries(keys, trusted):
    tokens = VerifiedTokens(max_entries=2)
    with pytest.raises(UnauthorizedError):
        tokens.verify(trusted, "not.a.token", audience="billing")
    assert len(tokens) == 0
    for ttl_s in (10, 20, 30):
        tokens.verify(
            trusted,
            issue_service_token(keys["gateway-bot"], caller="gateway-bot", audience="billing", ttl_s=ttl_s),
            audience="billing",
        )
    assert len(tokens) == 2


async def test_an_endpoint_verifies_a_token_once_and_still_applies_revocation(keys, monkeypatch):
    """The app remembers the verified token across requests; what the operator's account says (roles,
    `tokens_not_before`) is applied on every request all the same."""
    calls = _counting_verify(monkeypatch)
    app = FastAPI()
    install_error_handlers(app)
    settings = ServiceSettings(
        _env_file=None,
        service_name="billing",
        service_public_keys={issuer: [key.public_text()] for issuer, key in keys.items()},
        operator_accounts={"alice": {"roles": ["finance"]}},
    )
    app.state.resources = SimpleNamespace(settings=settings)

    @app.post("/internal/adjustments")
    async def adjust(caller: Annotated[Caller, accepts(roles=("finance",))]) -> dict[str, str]:
        return {"actor": caller.actor}

    alice = issue_operator_token(keys[OPERATORS_ISSUER], operator="alice", roles=["finance"], audience="billing")
    assert (await _call(app, "POST", "/internal/adjustments", alice)).json() == {"actor": "operator:alice"}
    assert (await _call(app, "POST", "/internal/adjustments", alice)).status_code == 200
    assert calls == [alice]

    # A lost laptop: every token alice was issued so far is void, at once.
    revoked = {"alice": OperatorAccount(roles=frozenset({"finance"}), tokens_not_before=int(time.time()) + 1)}
    app.state.resources = SimpleNamespace(settings=settings.model_copy(update={"operator_accounts": revoked}))
    response = await _call(app, "POST", "/internal/adjustments", alice)
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]
    # Her role taken away: 403 for the same remembered token.
    demoted = {"alice": OperatorAccount(roles=frozenset({"support"}))}
    app.state.resources = SimpleNamespace(settings=settings.model_copy(update={"operator_accounts": demoted}))
    assert (await _call(app, "POST", "/internal/adjustments", alice)).status_code == 403
