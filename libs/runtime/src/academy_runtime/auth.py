"""Who is calling: per-issuer Ed25519 keys, short-lived tokens with one audience, callers named per endpoint.

Issue 9 (§2, §3) and the architecture brief ("a short-lived token signed with the caller's own private
key, verified with its public key, one audience, and a list of accepted callers per endpoint";
"operators are people with their own identity and roles, not services").

Issuers
    Each service signs its outgoing tokens with its own private key (`SERVICE_SIGNING_KEY`). Operators are
    one more issuer, `operators`, whose private key only the `academy-platform operator-token` command
    holds. A callee holds public keys only (`SERVICE_PUBLIC_KEYS`: issuer → list of public keys), so no
    service can sign as another.

Tokens (JWT, `alg` = `EdDSA`, header `kid` = the signing key's id, see `key_id`)
    service:  `{"iss": "gateway-bot", "aud": "billing", "iat": <s>, "exp": <s>}`, exp − iat ≤ 300 s
    operator: `{"iss": "operators", "sub": "alice", "roles": ["finance"], "aud": "billing", "iat", "exp"}`,
              exp − iat ≤ 12 h
    `aud` is one string equal to the callee's name (a list, even one naming the callee, is refused);
    `iat` may be at most `LEEWAY_S` in the future. Anything else (unknown issuer, unknown `kid`, a
    signature by another issuer's key, expired, too long-lived) is 401 before a handler runs.

Callers per endpoint
    `accepts("gateway-bot", roles=("support",))` is the dependency an endpoint declares: a service not
    named, or an operator without one of the roles, gets 403 saying who may call it. Its OpenAPI
    security scheme is HTTP bearer (`ServiceOrOperatorToken`), so `/docs` can authorise with either
    kind of token.

Key text
    A private key is PKCS#8, either PEM or its DER in base64 on one line; a public key is
    SubjectPublicKeyInfo, PEM or base64 DER (what `academy-platform keys generate` writes). A key id is
    derived from the public key, so keys rotate by adding the new public key next to the old one,
    moving the signer to the new private key, then removing the old public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from fastapi.security.base import SecurityBase
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BaseModel, ConfigDict, Field, field_validator

from academy_runtime.errors import ForbiddenError, UnauthorizedError

if TYPE_CHECKING:
    from academy_runtime.settings import ServiceSettings

ALGORITHM = "EdDSA"
LEEWAY_S = 10
"""Clock skew tolerated between hosts, in seconds (on `exp` and on an `iat` in the future)."""
SERVICE_TOKEN_MAX_LIFETIME_S = 300
"""Longest a service token may live (exp − iat), in seconds: the brief's "short-lived"."""
OPERATOR_TOKEN_MAX_LIFETIME_S = 12 * 3600
"""Longest an operator token may live, in seconds: one working shift; a person asks again next day."""

OPERATORS_ISSUER = "operators"
"""The `iss` of every operator token; its key belongs to the operator-token command, not a service."""
SERVICE_ISSUERS = ("users", "catalog", "progress", "gamification", "billing", "gateway-bot")
ISSUERS = (*SERVICE_ISSUERS, OPERATORS_ISSUER)
OPERATOR_ROLES = ("catalog-editor", "support", "finance", "auditor", "broadcaster", "operations")
"""catalog-editor: courses, lessons, communities; support: learners' profiles and payments (read);
finance: refunds, adjustments, exchange rates, reconciliation; auditor: the users service's audit log
of who read or changed learners' personal data (issue 10); broadcaster: announcements to segments of
learners (issue 12); operations: dead letters (list, inspect, re-drive) and the platform's plumbing."""

_DEV_KEY_SEED = b"beauty-academy development signing key:"


class InvalidKeyError(ValueError):
    """Key text that is not an Ed25519 key in a form this module reads."""


def key_id(public_key: Ed25519PublicKey) -> str:
    """The key's id (`kid`): base64url of SHA-256 over the 32 raw public-key bytes, first 16 characters.

    Derived, never configured, so the id cannot disagree with the key it names.
    """
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest()).decode()[:16]


def _der(text: str, kind: str) -> bytes:
    body = text.strip()
    if body.startswith("-----BEGIN"):
        lines = [line for line in body.splitlines() if line and not line.startswith("-----")]
        body = "".join(lines)
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidKeyError(f"{kind} is neither PEM nor base64 DER") from exc


@dataclass(frozen=True)
class SigningKey:
    """An issuer's Ed25519 private key and its `kid`."""

    private_key: Ed25519PrivateKey
    kid: str

    @classmethod
    def from_private_key(cls, private_key: Ed25519PrivateKey) -> SigningKey:
        return cls(private_key, key_id(private_key.public_key()))

    @classmethod
    def from_text(cls, text: str) -> SigningKey:
        """Read PKCS#8 PEM or base64 DER; InvalidKeyError (a ValueError) when it is not an Ed25519 private key."""
        try:
            key = serialization.load_der_private_key(_der(text, "the private key"), password=None)
        except (ValueError, TypeError) as exc:
            raise InvalidKeyError("the private key is not a PKCS#8 key without a password") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise InvalidKeyError("the private key is not an Ed25519 key")
        return cls.from_private_key(key)

    def private_text(self) -> str:
        """PKCS#8 DER in base64, one line (fits an environment variable)."""
        der = self.private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return base64.b64encode(der).decode()

    def public_text(self) -> str:
        """SubjectPublicKeyInfo DER in base64, one line: what `SERVICE_PUBLIC_KEYS` lists."""
        return public_key_text(self.private_key.public_key())


def public_key_text(public_key: Ed25519PublicKey) -> str:
    """SubjectPublicKeyInfo DER in base64, one line."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def parse_public_key(text: str) -> Ed25519PublicKey:
    """Read SubjectPublicKeyInfo PEM or base64 DER; InvalidKeyError (a ValueError) for anything else."""
    try:
        key = serialization.load_der_public_key(_der(text, "a public key"))
    except (ValueError, TypeError) as exc:
        raise InvalidKeyError("a public key is not a SubjectPublicKeyInfo key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidKeyError("a public key is not an Ed25519 key")
    return key


def generate_signing_key() -> SigningKey:
    """A fresh random Ed25519 key (for `academy-platform keys generate` and the test platform)."""
    return SigningKey.from_private_key(Ed25519PrivateKey.generate())


@lru_cache(maxsize=len(ISSUERS) * 2)
def dev_signing_key(issuer: str) -> SigningKey:
    """The development key of `issuer`, derived from its name, the same on every machine.

    Lets `make run` work on a fresh machine with no key files; everybody can compute it, so settings
    refuse it (and its public key) unless ENVIRONMENT=development.
    """
    seed = hashlib.sha256(_DEV_KEY_SEED + issuer.encode()).digest()
    return SigningKey.from_private_key(Ed25519PrivateKey.from_private_bytes(seed))


def dev_public_keys() -> dict[str, list[str]]:
    """`SERVICE_PUBLIC_KEYS` of development: every issuer's development public key."""
    return {issuer: [dev_signing_key(issuer).public_text()] for issuer in ISSUERS}


def dev_key_ids() -> frozenset[str]:
    """The ids of every development key (what production refuses to sign with or to trust)."""
    return frozenset(dev_signing_key(issuer).kid for issuer in ISSUERS)


@dataclass(frozen=True)
class PublicKeySet:
    """The public keys a callee trusts: issuer → {kid → key}. Several keys per issuer allow rotation."""

    keys: Mapping[str, Mapping[str, Ed25519PublicKey]]

    @classmethod
    def from_texts(cls, texts: Mapping[str, Iterable[str]]) -> PublicKeySet:
        """From `SERVICE_PUBLIC_KEYS`' shape, `{"billing": ["MCowBQYDK2VwAyEA..."], ...}`; ValueError naming
        the issuer whose key does not read."""
        keys: dict[str, dict[str, Ed25519PublicKey]] = {}
        for issuer, issuer_texts in texts.items():
            for text in issuer_texts:
                try:
                    key = parse_public_key(text)
                except InvalidKeyError as exc:
                    raise InvalidKeyError(f"SERVICE_PUBLIC_KEYS[{issuer!r}]: {exc}") from exc
                keys.setdefault(issuer, {})[key_id(key)] = key
        return cls(keys)

    def key_ids(self) -> frozenset[str]:
        return frozenset(kid for by_kid in self.keys.values() for kid in by_kid)


@lru_cache(maxsize=64)
def _cached_key_set(frozen: tuple[tuple[str, tuple[str, ...]], ...]) -> PublicKeySet:
    return PublicKeySet.from_texts(dict(frozen))


def public_key_set(texts: Mapping[str, Iterable[str]]) -> PublicKeySet:
    """`PublicKeySet.from_texts`, parsed once per distinct mapping (requests share it)."""
    return _cached_key_set(tuple(sorted((issuer, tuple(keys)) for issuer, keys in texts.items())))


@dataclass(frozen=True)
class Caller:
    """The authenticated sender of a request: a service, or an operator with roles.

    `service` is the token's `iss` for a service; for an operator it is `operators`, and `operator` is
    the person (`sub`). `actor` is what audit records name: `billing`, `operator:alice`.
    """

    service: str
    operator: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    issued_at: float = 0.0  # the token's `iat`, seconds since the epoch
    # The token's `exp` (seconds since the epoch), when it came from `verify_token`: how long
    # `VerifiedTokens` may remember it. Not part of who the caller is (equality ignores it).
    expires_at: float = field(default=0.0, compare=False)

    @property
    def actor(self) -> str:
        return f"operator:{self.operator}" if self.operator is not None else self.service

    @property
    def is_operator(self) -> bool:
        return self.operator is not None


def _encode(key: SigningKey, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})


def issue_service_token(
    key: SigningKey, *, caller: str, audience: str, ttl_s: int = SERVICE_TOKEN_MAX_LIFETIME_S
) -> str:
    """A token saying `caller` calls `audience`, valid `ttl_s` seconds (≤ SERVICE_TOKEN_MAX_LIFETIME_S)."""
    if not 0 < ttl_s <= SERVICE_TOKEN_MAX_LIFETIME_S:
        raise ValueError(f"a service token lives 1..{SERVICE_TOKEN_MAX_LIFETIME_S} s, not {ttl_s}")
    now = int(time.time())
    return _encode(key, {"iss": caller, "aud": audience, "iat": now, "exp": now + ttl_s})


OPERATOR_NAME_MAX_LENGTH = 64
"""Longest operator name, in characters: it is written into audit columns (`operator:<name>`, 100 wide)."""
OPERATOR_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]*$")
"""The house pattern of an operator's name: a login (`alice`, `o.petrova`, `support-7`), lowercase ASCII
letters, digits and `._-`, a letter first. It becomes the audit log's actor (`operator:<name>`), which
must hold no personal value: no space, `+`, `:`, capital or letter outside ASCII."""
OPERATOR_NAME_MAX_DIGITS = 4
"""At most this many digits in an operator's name: a phone number (7 digits or more) cannot be one."""


def operator_name_problem(name: str) -> str | None:
    """Why `name` cannot be an operator's name (None when it can): 1..64 characters of OPERATOR_NAME_PATTERN
    with at most OPERATOR_NAME_MAX_DIGITS digits (a login, never a person's full name or phone: it lands in
    audit records as `operator:<name>`, and `:` would split that). The same rule for issuing and for
    accepting (`verify_token`), so a correctly signed token with another name is a 401, whether or not
    OPERATOR_ACCOUNTS is set, not a name in the audit log or a database error."""
    if not name or len(name) > OPERATOR_NAME_MAX_LENGTH:
        return f"an operator's name is 1..{OPERATOR_NAME_MAX_LENGTH} characters"
    if not OPERATOR_NAME_PATTERN.fullmatch(name) or sum(ch.isdigit() for ch in name) > OPERATOR_NAME_MAX_DIGITS:
        return (
            "an operator's name is a login: lowercase ASCII letters, digits and '._-', a letter first, at most "
            f"{OPERATOR_NAME_MAX_DIGITS} digits (no space, '+', ':', capital or other letters: it goes into "
            "the audit log, which holds no personal value)"
        )
    return None


def issue_operator_token(
    key: SigningKey, *, operator: str, roles: Iterable[str], audience: str, ttl_s: int = 3600
) -> str:
    """An operator's token for one service: `sub` = the person, `roles` ⊆ OPERATOR_ROLES, valid `ttl_s`
    seconds (≤ OPERATOR_TOKEN_MAX_LIFETIME_S). ValueError for an empty name, an unknown role or a lifetime
    out of range."""
    role_list = sorted(set(roles))
    unknown = sorted(set(role_list) - set(OPERATOR_ROLES))
    if unknown:
        raise ValueError(f"unknown operator roles {unknown}; known: {', '.join(OPERATOR_ROLES)}")
    if not role_list:
        raise ValueError("an operator token needs at least one role")
    if (problem := operator_name_problem(operator)) is not None:
        raise ValueError(problem)
    if not 0 < ttl_s <= OPERATOR_TOKEN_MAX_LIFETIME_S:
        raise ValueError(f"an operator token lives 1..{OPERATOR_TOKEN_MAX_LIFETIME_S} s, not {ttl_s}")
    now = int(time.time())
    return _encode(
        key,
        {"iss": OPERATORS_ISSUER, "sub": operator, "roles": role_list, "aud": audience, "iat": now, "exp": now + ttl_s},
    )


def _trusted_key(keys: PublicKeySet, token: str) -> tuple[str, Ed25519PublicKey]:
    """The issuer a token claims and the one key of that issuer its `kid` names (401 otherwise)."""
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise UnauthorizedError("invalid token: not a JWT") from exc
    if header.get("alg") != ALGORITHM:
        raise UnauthorizedError(f"invalid token: algorithm must be {ALGORITHM}")
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise UnauthorizedError("invalid token: it names no issuer (iss)")
    issuer_keys = keys.keys.get(issuer)
    if not issuer_keys:
        raise UnauthorizedError(f"invalid token: unknown issuer {issuer!r}")
    public_key = issuer_keys.get(str(header.get("kid")))
    if public_key is None:
        raise UnauthorizedError(f"invalid token: key id {header.get('kid')!r} is not one of {issuer!r}'s keys")
    if not isinstance(unverified.get("aud"), str):
        raise UnauthorizedError("invalid token: aud must be exactly one audience")
    return issuer, public_key


def _check_lifetime(issuer: str, claims: dict[str, Any], now: float) -> None:
    issued_at, expires = claims["iat"], claims["exp"]
    if not isinstance(issued_at, int | float) or not isinstance(expires, int | float):
        raise UnauthorizedError("invalid token: iat and exp must be numbers")
    if issued_at > now + LEEWAY_S:
        raise UnauthorizedError("token issued in the future (iat)")
    max_lifetime = OPERATOR_TOKEN_MAX_LIFETIME_S if issuer == OPERATORS_ISSUER else SERVICE_TOKEN_MAX_LIFETIME_S
    if expires - issued_at > max_lifetime:
        raise UnauthorizedError(f"token lives longer than {max_lifetime} s (exp − iat)")


def _operator(claims: dict[str, Any]) -> Caller:
    operator, roles = claims.get("sub"), claims.get("roles")
    if not isinstance(operator, str) or operator_name_problem(operator) is not None:
        raise UnauthorizedError(
            f"invalid operator token: sub must name the operator ({operator_name_problem(str(operator))})"
        )
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise UnauthorizedError("invalid operator token: roles must be a list of strings")
    unknown = sorted(set(roles) - set(OPERATOR_ROLES))
    if unknown or not roles:
        raise UnauthorizedError(f"invalid operator token: roles must be among {', '.join(OPERATOR_ROLES)}")
    return Caller(service=OPERATORS_ISSUER, operator=operator, roles=frozenset(roles), issued_at=claims["iat"])


PASSWORD_HASH_PREFIX = "$argon2id$"  # noqa: S105 - a format prefix, not a password
"""Every operator's password hash is argon2id in the PHC string format (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`):
the variant RFC 9106 and OWASP's password storage cheat sheet recommend."""
OPERATOR_PASSWORD_MIN_LENGTH = 12
"""Shortest password `academy-platform operator-password` hashes, in characters (NIST SP 800-63B asks ≥ 8; a
console that reaches every learner's personal data asks more)."""


class OperatorAccount(BaseModel):
    """One person's operator account (an entry of OPERATOR_ACCOUNTS, `{"alice": {"roles": ["finance"]}}`).

    `roles`: what the person may hold (⊆ OPERATOR_ROLES); a token's roles are cut down to these, so a
    role taken away stops working at once, whatever tokens were issued. `tokens_not_before`: seconds
    since the epoch; every token of this person issued earlier is void (a lost laptop: set it to now).
    `password_hash` (optional): the argon2id hash of the person's console password, from
    `academy-platform operator-password --name alice`; an account without one cannot sign in to the
    operators' console (issue 12), and keeps working with `academy-platform operator-token` as before.
    Changing or removing the hash ends nothing already signed in: set `tokens_not_before` to now for that
    (the console checks it against each session's start).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    roles: frozenset[str]
    tokens_not_before: int = Field(default=0, ge=0)
    password_hash: str | None = Field(default=None, repr=False, max_length=512)

    @field_validator("password_hash")
    @classmethod
    def _argon2id_hash(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(PASSWORD_HASH_PREFIX):
            raise ValueError(
                "password_hash must be an argon2id hash ($argon2id$...) from `academy-platform operator-password`"
            )
        return value

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: frozenset[str]) -> frozenset[str]:
        unknown = sorted(roles - set(OPERATOR_ROLES))
        if unknown:
            raise ValueError(f"unknown operator roles {unknown}; known: {', '.join(OPERATOR_ROLES)}")
        return roles


@lru_cache(maxsize=1)
def _password_hasher() -> Any:
    from argon2 import PasswordHasher

    # argon2-cffi's defaults are RFC 9106's second recommended option (t=3, m=64 MiB, p=4).
    return PasswordHasher()


def hash_operator_password(password: str) -> str:
    """The argon2id hash (PHC string, `$argon2id$...`) of an operator's console password, with a fresh
    random salt. ValueError when the password is shorter than OPERATOR_PASSWORD_MIN_LENGTH characters or
    holds a NUL character."""
    if len(password) < OPERATOR_PASSWORD_MIN_LENGTH:
        raise ValueError(f"a password has at least {OPERATOR_PASSWORD_MIN_LENGTH} characters")
    if "\x00" in password:
        raise ValueError("a password cannot hold the NUL character")
    text: str = _password_hasher().hash(password)
    return text


_DUMMY_HASH: list[str] = []


def verify_operator_password(account: OperatorAccount | None, password: str) -> bool:
    """Whether `password` is `account`'s console password. An unknown person (None) or an account without a
    hash is verified against a dummy hash all the same, so the time taken does not tell which names exist
    (OWASP authentication cheat sheet). Never raises for a wrong or malformed password."""
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _password_hasher()
    if account is None or account.password_hash is None:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(hasher.hash("not a password of anyone"))
        stored, known = _DUMMY_HASH[0], False
    else:
        stored, known = account.password_hash, True
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    return known


def admit_operator(caller: Caller, accounts: Mapping[str, OperatorAccount] | None) -> Caller:
    """`caller` as its operator account allows: the roles of the token that the account still holds.

    `accounts` None (OPERATOR_ACCOUNTS unset, development and test only) trusts the token's roles.
    A service caller is returned as it is. Raises UnauthorizedError when the person has no account or
    the token was issued before the account's `tokens_not_before` (revoked).
    """
    if not caller.is_operator or accounts is None:
        return caller
    account = accounts.get(caller.operator or "")
    if account is None:
        raise UnauthorizedError(f"operator {caller.operator!r} has no account (OPERATOR_ACCOUNTS)")
    if caller.issued_at < account.tokens_not_before:
        raise UnauthorizedError(f"operator {caller.operator!r}: tokens issued before this time were revoked")
    return replace(caller, roles=caller.roles & account.roles)


def verify_token(keys: PublicKeySet, token: str, *, audience: str, now: float | None = None) -> Caller:
    """Return who signed `token` for `audience`, or raise UnauthorizedError saying what is wrong.

    Checks, in order: the header names `EdDSA` and a `kid`; the unverified `iss` is a known issuer and
    the `kid` one of its keys (so a key of one issuer cannot sign for another); `aud` is a single string;
    the signature; `iss`, `aud`, `iat`, `exp` present; `aud` equal to `audience`; not expired and `iat`
    not in the future (± LEEWAY_S); exp − iat within the issuer's maximum lifetime; for an operator,
    `sub` and `roles` well formed. `now` (seconds since the epoch) is for tests of the clock.
    """
    issuer, public_key = _trusted_key(keys, token)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            public_key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            leeway=LEEWAY_S,
            options={"require": ["iss", "aud", "exp", "iat"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise UnauthorizedError("token expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise UnauthorizedError(f"token is not meant for {audience}") from exc
    except jwt.ImmatureSignatureError as exc:
        raise UnauthorizedError("token issued in the future (iat)") from exc
    except jwt.PyJWTError as exc:
        raise UnauthorizedError(f"invalid token: {exc}") from exc
    _check_lifetime(issuer, claims, time.time() if now is None else now)
    caller = _operator(claims) if issuer == OPERATORS_ISSUER else Caller(service=issuer)
    return replace(caller, expires_at=claims["exp"])


VERIFIED_TOKENS_MAX = 1024
"""Most tokens `VerifiedTokens` remembers: far more than the callers of one service hold at a time (a
service re-signs its token for a callee every few minutes, an operator a few times a shift)."""


@dataclass(frozen=True)
class _Verified:
    keys: PublicKeySet
    audience: str
    caller: Caller


class VerifiedTokens:
    """The tokens an app verified, by their exact text, until they expire: `verify_token` once per
    token rather than once per request (a caller sends the same token for minutes; three JWT decodings
    and an Ed25519 verification were the dearest step of a cached catalog read).

    A token is served from here only while it would still pass `verify_token`: against the same
    `PublicKeySet` object (settings' keys; a key removed from SERVICE_PUBLIC_KEYS is another set) and
    audience, and before `exp` + LEEWAY_S, exactly the moment `verify_token` calls it expired. Then it
    is verified anew (and refused). Only tokens that passed are remembered, so garbage costs a full
    verification every time, never memory. What is checked per request afterwards is not cached:
    `admit_operator` (accounts, roles, revocation by `tokens_not_before`) and the endpoint's callers.
    At most `max_entries` tokens: expired ones are dropped first, then the oldest.
    """

    def __init__(self, max_entries: int = VERIFIED_TOKENS_MAX) -> None:
        self.max_entries = max_entries
        self._entries: dict[str, _Verified] = {}

    def verify(self, keys: PublicKeySet, token: str, *, audience: str, now: float | None = None) -> Caller:
        """`verify_token(keys, token, audience=audience)`, remembered until the token expires."""
        at = time.time() if now is None else now
        entry = self._entries.get(token)
        if entry is not None:
            if entry.keys is keys and entry.audience == audience and at < entry.caller.expires_at + LEEWAY_S:
                return entry.caller
            del self._entries[token]
        caller = verify_token(keys, token, audience=audience, now=now)
        if len(self._entries) >= self.max_entries:
            self._evict(at)
        self._entries[token] = _Verified(keys, audience, caller)
        return caller

    def _evict(self, now: float) -> None:
        for token in [t for t, e in self._entries.items() if now >= e.caller.expires_at + LEEWAY_S]:
            del self._entries[token]
        while len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]  # the oldest: dicts keep insertion order

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def app_verified_tokens(app: Any) -> VerifiedTokens:
    """The `VerifiedTokens` of a FastAPI app (made at its first request, kept in `app.state`)."""
    tokens = getattr(app.state, "verified_tokens", None)
    if not isinstance(tokens, VerifiedTokens):
        tokens = app.state.verified_tokens = VerifiedTokens()
    return tokens


def verified_caller(request: Request, token: str) -> Caller:
    """`verify_token` of the request's bearer `token` for this service, through the app's
    `VerifiedTokens`, and kept on the request: the rate limiter (which runs first) and the endpoint's
    `Callers` both need it. Raises UnauthorizedError as `verify_token` does."""
    cached = getattr(request.state, "verified_token", None)
    if cached is not None and cached[0] == token:
        caller: Caller = cached[1]
        return caller
    settings = request.app.state.resources.settings
    caller = app_verified_tokens(request.app).verify(settings.public_key_set(), token, audience=settings.service_name)
    request.state.verified_token = (token, caller)
    return caller


class TokenCache:
    """Signs a caller's tokens and re-uses each until half its lifetime has passed (one per audience)."""

    def __init__(self, key: SigningKey, caller: str, ttl_s: int = SERVICE_TOKEN_MAX_LIFETIME_S) -> None:
        self.key = key
        self.caller = caller
        self.ttl_s = ttl_s
        self._tokens: dict[str, tuple[str, float]] = {}

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> TokenCache:
        """The cache a service's ServiceClients share: its own signing key, its name as `iss`."""
        return cls(settings.signing_key(), settings.service_name, settings.service_token_ttl_s)

    def token_for(self, audience: str) -> str:
        cached = self._tokens.get(audience)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        token = self._issue(audience)
        self._tokens[audience] = (token, now + self.ttl_s / 2)
        return token

    def _issue(self, audience: str) -> str:
        return issue_service_token(self.key, caller=self.caller, audience=audience, ttl_s=self.ttl_s)


class OperatorTokenCache(TokenCache):
    """An operator's tokens, one per service, for a `ServiceClient` a tool or a test drives as that person
    (`ServiceClient("billing", url, OperatorTokenCache(key, "alice", ["finance"]))`)."""

    def __init__(self, key: SigningKey, operator: str, roles: Iterable[str], ttl_s: int = 3600) -> None:
        super().__init__(key, OPERATORS_ISSUER, ttl_s)
        self.operator = operator
        self.roles = tuple(roles)

    def _issue(self, audience: str) -> str:
        return issue_operator_token(
            self.key, operator=self.operator, roles=self.roles, audience=audience, ttl_s=self.ttl_s
        )


_bearer = HTTPBearer(
    auto_error=False,  # a missing token is rendered by the house error handler (401 with WWW-Authenticate)
    scheme_name="ServiceOrOperatorToken",
    bearerFormat="JWT (EdDSA)",
    description=(
        "A service's token (signed with its own key, `aud` = this service, at most 5 minutes) or an "
        "operator's token from `academy-platform operator-token --audience <this service>`."
    ),
)


class Callers(SecurityBase):
    """The dependency behind `accepts(...)`: authenticates the request and admits the named callers.

    `services` are the services allowed (by `iss`); `roles` the operator roles allowed (any one of
    them suffices). Raises UnauthorizedError (401) for a missing or bad token, ForbiddenError (403) for
    a valid token of a caller not admitted. The admitted caller's `actor` (`gateway-bot`,
    `operator:alice`) is `request.state.caller`, the `Caller` itself `request.state.caller_identity`.

    It is itself the OpenAPI security scheme (`_bearer`'s: HTTP bearer, `ServiceOrOperatorToken`) and
    reads the bearer token as `HTTPBearer` does, rather than depending on an `HTTPBearer`: a dependency
    fewer for FastAPI to resolve on every authenticated request (~13 us of CPU each, measured A/B).
    """

    def __init__(self, *services: str, roles: Iterable[str] = ()) -> None:
        self.model = _bearer.model
        self.scheme_name = _bearer.scheme_name
        unknown_roles = sorted(set(roles) - set(OPERATOR_ROLES))
        if unknown_roles:
            raise ValueError(f"unknown operator roles {unknown_roles}")
        self.services = frozenset(services)
        self.roles = frozenset(roles)
        if not self.services and not self.roles:
            raise ValueError("an endpoint must admit at least one service or operator role")

    def admits(self, caller: Caller) -> bool:
        """Whether `caller` may call the endpoint (a pure check; the token is already verified)."""
        if caller.is_operator:
            return bool(caller.roles & self.roles)
        return caller.service in self.services

    def describe(self) -> str:
        """Who may call, for a 403's message and the docs: "services gateway-bot; operators with role finance"."""
        parts = []
        if self.services:
            parts.append("services " + ", ".join(sorted(self.services)))
        if self.roles:
            parts.append("operators with role " + " or ".join(sorted(self.roles)))
        return "; ".join(parts)

    async def __call__(self, request: Request) -> Caller:
        authorization = request.headers.get("authorization")
        scheme, token = get_authorization_scheme_param(authorization)
        if not (authorization and scheme and token) or scheme.lower() != "bearer":
            raise UnauthorizedError("missing token (Authorization: Bearer <token>)")
        settings = request.app.state.resources.settings
        caller = admit_operator(verified_caller(request, token), settings.operator_accounts)
        if not self.admits(caller):
            who = f"operator {caller.operator!r} (roles: {', '.join(sorted(caller.roles)) or 'none'})"
            raise ForbiddenError(
                f"{who if caller.is_operator else f'service {caller.service!r}'} may not call "
                f"{request.method} {request.url.path}; it admits {self.describe()}",
                details={"admits": self.describe()},
            )
        request.state.caller = caller.actor  # what idempotency keys and rate limits are scoped by
        request.state.caller_identity = caller
        return caller


def accepts(*services: str, roles: Iterable[str] = ()) -> Any:
    """`Depends(Callers(...))`: use as `caller: Annotated[Caller, accepts("gateway-bot", roles=("support",))]`.

    Every internal endpoint declares one; `academy_runtime.testing.assert_every_route_names_its_callers`
    checks that a caller not listed gets 403 on every route.
    """
    return Depends(Callers(*services, roles=roles))


def route_callers(route: Any) -> Callers | None:
    """The `Callers` an APIRoute declares (searched through its sub-dependencies), or None."""
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        if isinstance(dependant.call, Callers):
            return dependant.call
        stack.extend(dependant.dependencies)
    return None
