"""Personal data encrypted at rest: the learner's full name, phone and Telegram username (issue 10).

152-ФЗ art. 19 asks for technical measures that keep personal data from unauthorised access; a copy of
the database (a backup, a replica, a leaked dump) must not hold a learner's name or phone in clear.

Cipher
    AES-256-GCM (`cryptography`'s AESGCM): a fresh random 96-bit nonce per value, a 128-bit tag. The
    associated data names the column (`users.users.phone`), the format version and the key id, so a
    value copied into another column, or relabelled with another key id, fails authentication instead
    of decrypting.

Stored text
    `v1:<key id>:<base64url without padding of nonce (12 bytes) + ciphertext + tag (16 bytes)>`, for
    example `v1:20261130-a1b2:3q2-7w...`. Every value names the key it was written with, so keys rotate:
    add the new key next to the old ones, make it active (`PERSONAL_DATA_KEY_ID`), run
    `academy-users reencrypt-personal-data`, then remove the old key (README, "Key rotation").

Phone lookup
    A phone is found by `phone_lookup`, HMAC-SHA256 of the E.164 number under its own key
    (`PHONE_LOOKUP_KEY`), 64 hex characters: equal phones give equal digests, so the column can be
    indexed, and without the key the digest tells nothing (a bare SHA-256 of the ~10^10 possible mobile
    numbers would be reversed in minutes).

Failures are loud: a value that does not authenticate (a changed byte, a value from another column, a
key id the ring does not hold) raises `UndecryptableValueError`, whose message names the column and the
key id, never the value; nothing is ever returned in its place.

The models read and write plain `str` through `EncryptedText`, a SQLAlchemy type that uses the key ring
the process installed at start-up (`install_key_ring`: the app, the worker and the commands through a
start-up hook, the migrations from the settings). Queries cannot compare encrypted columns (every
encryption differs): look a phone up by `phone_lookup`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from academy_runtime.idempotency import ResponseCipher
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

FORMAT_VERSION = "v1"
KEY_BYTES = 32
"""AES-256: every encryption key is 32 bytes."""
LOOKUP_KEY_MIN_BYTES = 32
"""The phone lookup key: at least 32 bytes (HMAC-SHA256's block-size guidance is 32 to 64)."""
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
"""A key id: 1..32 of letters, digits, `_` and `-` (it is written before every value, so no `:`)."""

DEV_KEY_ID = "dev"
_DEV_SEED = b"beauty-academy development personal-data key:"


class PersonalDataKeyError(ValueError):
    """Key settings that cannot make a key ring; the message names the setting, never a key."""


class UndecryptableValueError(RuntimeError):
    """A stored value that does not decrypt: changed, moved from another column, or under a key the ring
    does not hold. Its message names the column and the key id, never the value."""


def _b64decode(text: str) -> bytes:
    """Standard or URL-safe base64, padded or not."""
    body = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class KeyRing:
    """The keys personal data is encrypted with, and the key of the phone lookup.

    `keys`: key id → 32-byte AES key; every one decrypts, `active_key_id` encrypts. `lookup_key`: the
    HMAC key of `phone_lookup` (≥ 32 bytes). Raises PersonalDataKeyError when a key has the wrong size, an
    id is malformed or the active id names no key.
    """

    keys: Mapping[str, bytes]
    active_key_id: str
    lookup_key: bytes
    _ciphers: dict[str, AESGCM] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise PersonalDataKeyError("PERSONAL_DATA_KEYS holds no key")
        for key_id, key in self.keys.items():
            if not KEY_ID_PATTERN.fullmatch(key_id):
                raise PersonalDataKeyError(
                    f"PERSONAL_DATA_KEYS: key id {key_id[:40]!r} is not 1..32 letters, digits, '_' or '-'"
                )
            if len(key) != KEY_BYTES:
                raise PersonalDataKeyError(
                    f"PERSONAL_DATA_KEYS[{key_id!r}] is {len(key)} bytes; AES-256 needs {KEY_BYTES}"
                )
        if self.active_key_id not in self.keys:
            raise PersonalDataKeyError(
                f"PERSONAL_DATA_KEY_ID {self.active_key_id[:40]!r} names no key of PERSONAL_DATA_KEYS "
                f"({', '.join(sorted(self.keys))})"
            )
        if len(self.lookup_key) < LOOKUP_KEY_MIN_BYTES:
            raise PersonalDataKeyError(f"PHONE_LOOKUP_KEY is shorter than {LOOKUP_KEY_MIN_BYTES} bytes")
        object.__setattr__(self, "_ciphers", {key_id: AESGCM(key) for key_id, key in self.keys.items()})

    @classmethod
    def from_texts(cls, keys_json: str, active_key_id: str, lookup_key: str) -> KeyRing:
        """From the settings' text: `keys_json` = `{"<key id>": "<base64 of 32 bytes>", ...}` (standard or
        URL-safe base64); `active_key_id` may be empty when there is exactly one key; `lookup_key` base64
        of at least 32 bytes. PersonalDataKeyError naming the setting (never a key) otherwise."""
        try:
            parsed = json.loads(keys_json)
        except ValueError:
            raise PersonalDataKeyError(
                'PERSONAL_DATA_KEYS is not JSON: {"<key id>": "<base64 of 32 random bytes>", ...}'
            ) from None
        if not isinstance(parsed, dict) or not all(isinstance(value, str) for value in parsed.values()):
            raise PersonalDataKeyError('PERSONAL_DATA_KEYS must be a JSON object {"<key id>": "<base64 key>", ...}')
        keys: dict[str, bytes] = {}
        for key_id, text in parsed.items():
            try:
                keys[key_id] = _b64decode(text)
            except (binascii.Error, ValueError):
                raise PersonalDataKeyError(f"PERSONAL_DATA_KEYS[{key_id[:40]!r}] is not base64") from None
        active = active_key_id.strip()
        if not active:
            if len(keys) != 1:
                raise PersonalDataKeyError(
                    f"PERSONAL_DATA_KEY_ID is empty and PERSONAL_DATA_KEYS holds {len(keys)} keys: name the one "
                    "new values are written with"
                )
            (active,) = keys
        try:
            lookup = _b64decode(lookup_key)
        except (binascii.Error, ValueError):
            raise PersonalDataKeyError("PHONE_LOOKUP_KEY is not base64") from None
        return cls(keys=keys, active_key_id=active, lookup_key=lookup)

    @staticmethod
    def _associated_data(column: str, key_id: str) -> bytes:
        return f"academy-users/{FORMAT_VERSION}/{column}/{key_id}".encode()

    def encrypt(self, plaintext: str, *, column: str) -> str:
        """`plaintext` encrypted under the active key for `column` (`users.users.phone`): the stored text."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._ciphers[self.active_key_id].encrypt(
            nonce, plaintext.encode(), self._associated_data(column, self.active_key_id)
        )
        return f"{FORMAT_VERSION}:{self.active_key_id}:{_b64url(nonce + sealed)}"

    def decrypt(self, stored: str, *, column: str) -> str:
        """The plaintext of a value stored in `column`; UndecryptableValueError when it is not one of this
        ring's values for that column (malformed, unknown key id, failed authentication)."""
        key_id = stored_key_id(stored)
        if key_id is None:
            raise UndecryptableValueError(f"{column}: a stored value is not in the {FORMAT_VERSION} format")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UndecryptableValueError(
                f"{column}: a value is encrypted under key {key_id!r}, which PERSONAL_DATA_KEYS does not hold"
            )
        try:
            blob = _b64decode(stored.split(":", 2)[2])
        except (binascii.Error, ValueError):
            raise UndecryptableValueError(f"{column}: a stored value under key {key_id!r} is not base64") from None
        if len(blob) < NONCE_BYTES + TAG_BYTES:
            raise UndecryptableValueError(f"{column}: a stored value under key {key_id!r} is truncated")
        try:
            plaintext = cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], self._associated_data(column, key_id))
        except InvalidTag:
            raise UndecryptableValueError(
                f"{column}: a stored value under key {key_id!r} failed authentication (changed, or written "
                "for another column)"
            ) from None
        return plaintext.decode()

    def is_current(self, stored: str) -> bool:
        """Whether a stored value is written under the active key (else re-encryption rewrites it)."""
        return stored_key_id(stored) == self.active_key_id

    def phone_lookup(self, phone: str) -> str:
        """The keyed digest `phone_lookup` holds for an E.164 `phone`: HMAC-SHA256, 64 hex characters."""
        return hmac.new(self.lookup_key, b"phone:" + phone.encode(), hashlib.sha256).hexdigest()

    def uses_development_keys(self) -> bool:
        """Whether any key is a development key (anyone can compute those: production refuses them)."""
        dev = development_key_ring()
        return dev.keys[DEV_KEY_ID] in self.keys.values() or hmac.compare_digest(self.lookup_key, dev.lookup_key)


def stored_key_id(stored: str) -> str | None:
    """The key id a stored value names (`v1:<key id>:...`), or None when it is not in that format."""
    parts = stored.split(":", 2)
    if len(parts) != 3 or parts[0] != FORMAT_VERSION or not KEY_ID_PATTERN.fullmatch(parts[1]):  # noqa: PLR2004
        return None
    return parts[1]


@lru_cache(maxsize=1)
def development_key_ring() -> KeyRing:
    """The development keys: derived from fixed text, the same on every machine, so `make run` needs no
    key files (as the development service keys of `academy_runtime.auth`). Everybody can compute them;
    settings refuse them outside ENVIRONMENT=development."""
    return KeyRing(
        keys={DEV_KEY_ID: hashlib.sha256(_DEV_SEED + b"encryption").digest()},
        active_key_id=DEV_KEY_ID,
        lookup_key=hashlib.sha256(_DEV_SEED + b"phone lookup").digest(),
    )


@lru_cache(maxsize=8)
def cached_key_ring(keys_json: str, active_key_id: str, lookup_key: str) -> KeyRing:
    """`KeyRing.from_texts`, built once per distinct settings."""
    return KeyRing.from_texts(keys_json, active_key_id, lookup_key)


_installed: list[KeyRing] = []


def install_key_ring(ring: KeyRing) -> None:
    """Make `ring` the one `EncryptedText` columns use in this process (at start-up; tests rotating keys)."""
    _installed[:] = [ring]


def installed_key_ring() -> KeyRing:
    """The process's key ring; RuntimeError when start-up did not install one (a wiring bug)."""
    if not _installed:
        raise RuntimeError(
            "the personal-data key ring is not installed: the users service's start-up hook "
            "(academy_users.app.install_personal_data_keys) must run before the database is used"
        )
    return _installed[0]


def installed_key_ring_or_none() -> KeyRing | None:
    """The process's key ring, or None when none is installed (the migrations then read the settings)."""
    return _installed[0] if _installed else None


class EncryptedText(TypeDecorator[str]):
    """A text column stored encrypted (`KeyRing.encrypt` with the column's name as associated data),
    read back as the plain `str`. `column` is the schema-qualified name: `users.users.full_name`."""

    impl = Text
    cache_ok = True

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:  # noqa: ARG002 - SQLAlchemy's signature
        if value is None:
            return None
        return installed_key_ring().encrypt(str(value), column=self.column)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:  # noqa: ARG002 - SQLAlchemy's signature
        if value is None:
            return None
        return installed_key_ring().decrypt(str(value), column=self.column)

    def copy(self, **kw: Any) -> EncryptedText:  # noqa: ARG002 - SQLAlchemy's signature
        return EncryptedText(self.column)


IDEMPOTENCY_RESPONSE_COLUMN = "users.idempotency_keys.response"
"""The associated data of stored idempotent answers (a learner's profile, an avatar): see below."""


def idempotency_response_cipher() -> ResponseCipher:
    """The runtime idempotency store's cipher for this service (`Messaging(..., idempotency_response_cipher=)`):
    the answers of the registration, the PATCH and the avatar upload hold a learner's profile, so they are
    stored as `v1:<key id>:<ciphertext>` under the installed key ring, column IDEMPOTENCY_RESPONSE_COLUMN,
    and re-encrypted by `academy-users reencrypt-personal-data` like the learners' columns. The ring is
    looked up at each call: the models are imported before start-up installs it."""
    return ResponseCipher(
        encrypt=lambda text: installed_key_ring().encrypt(text, column=IDEMPOTENCY_RESPONSE_COLUMN),
        decrypt=lambda stored: installed_key_ring().decrypt(stored, column=IDEMPOTENCY_RESPONSE_COLUMN),
    )
