"""`academy-platform keys generate` and `academy-platform operator-token` (issue 9 §2, §3).

keys generate --out DIR [--issuer NAME ...]
    A new Ed25519 key for each issuer (default: the six services and `operators`): `DIR/<issuer>.key`
    (private, PKCS#8 DER in base64, mode 0600) and `DIR/public-keys.json` (issuer → public keys). An
    existing `public-keys.json` keeps its keys and gains the new ones, so a rotation is: generate the
    issuer's new key, roll out the public key set (callees now accept both), give the issuer its new
    private key, then delete the old public key from the JSON and roll out again.
    Kubernetes: `kubectl create secret generic academy-<service>-signing-key
    --from-file=SERVICE_SIGNING_KEY=DIR/<service>.key` per service and `kubectl create configmap
    academy-public-keys --from-file=SERVICE_PUBLIC_KEYS=DIR/public-keys.json`; docker compose: `--env`
    prints the lines of a compose `.env`. `operators.key` goes to whoever issues operator tokens, and to
    no service.

keys personal-data --out DIR [--rotate-lookup-key] [--env]
    The users service's personal-data keys (issue 10; academy_users.encryption): a new AES-256 key
    (32 random bytes, base64) under a new key id (`<UTC date>-<4 hex>`), merged into
    `DIR/personal-data-keys.json` (PERSONAL_DATA_KEYS: the keys already there stay, so values written
    under them still decrypt), its id in `DIR/personal-data-key-id` (PERSONAL_DATA_KEY_ID), and the phone
    lookup's HMAC key in `DIR/phone-lookup.key` (PHONE_LOOKUP_KEY), made only when absent or with
    `--rotate-lookup-key`. Files are mode 0600. Kubernetes: `kubectl create secret generic
    academy-personal-data-keys --from-file=PERSONAL_DATA_KEYS=DIR/personal-data-keys.json
    --from-file=PERSONAL_DATA_KEY_ID=DIR/personal-data-key-id --from-file=PHONE_LOOKUP_KEY=DIR/phone-lookup.key`
    (`--dry-run=client -o yaml | kubectl apply -f -` to replace it); then `academy-users
    reencrypt-personal-data`, and remove the old key from the JSON (users README, "Key rotation").

operator-token --name alice --role finance [--role support] --audience billing [--ttl 8h]
    Prints an operator's token for one service (the `Authorization: Bearer` of curl or of /docs'
    Authorize). The key comes from `--key-file`, else OPERATOR_SIGNING_KEY, else, with
    ENVIRONMENT=development (the default), the development operators key `make run` trusts. The lifetime
    is at most 12 h (`academy_runtime.auth.OPERATOR_TOKEN_MAX_LIFETIME_S`).

operator-password --name alice
    Asks for a new console password twice (no echo; from standard input when it is not a terminal, one
    line) and prints the operator's OPERATOR_ACCOUNTS entry with its argon2id hash, to paste:
    `"alice": {"roles": [...], "password_hash": "$argon2id$..."}` (the roles of the account as
    OPERATOR_ACCOUNTS has them, else none: add them). The password itself is printed nowhere.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import os
import re
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from academy_runtime.auth import (
    ISSUERS,
    OPERATOR_ROLES,
    OPERATOR_TOKEN_MAX_LIFETIME_S,
    OPERATORS_ISSUER,
    SERVICE_ISSUERS,
    OperatorAccount,
    SigningKey,
    dev_signing_key,
    generate_signing_key,
    hash_operator_password,
    issue_operator_token,
    operator_name_problem,
)
from academy_runtime.placeholders import placeholder_reason

_DURATION = re.compile(r"^(\d+)([smh]?)$")


def parse_duration(text: str) -> int:
    """`90`, `90s`, `30m`, `8h` → seconds; argparse.ArgumentTypeError for anything else."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 3600, 30m or 8h")
    number, unit = int(match.group(1)), match.group(2) or "s"
    return number * {"s": 1, "m": 60, "h": 3600}[unit]


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `keys` and `operator-token` to academy-platform's sub-commands."""
    keys = sub.add_parser("keys", help="service and operator signing keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    generate = keys_sub.add_parser("generate", help="new Ed25519 keys and the public key set")
    generate.add_argument("--out", type=Path, required=True, help="directory for <issuer>.key and public-keys.json")
    generate.add_argument("--issuer", action="append", choices=ISSUERS, help="only these issuers (repeatable)")
    generate.add_argument("--env", action="store_true", help="also print docker compose .env lines")
    personal = keys_sub.add_parser(
        "personal-data", help="a new key for the users service's encrypted personal data (and the phone lookup key)"
    )
    personal.add_argument("--out", type=Path, required=True, help="directory of personal-data-keys.json and the rest")
    personal.add_argument(
        "--rotate-lookup-key", action="store_true", help="also replace phone-lookup.key (then re-encrypt at once)"
    )
    personal.add_argument("--env", action="store_true", help="also print docker compose .env lines")

    token = sub.add_parser("operator-token", help="issue an operator's token for one service")
    token.add_argument("--name", required=True, help="the operator (the audit log shows operator:<name>)")
    token.add_argument("--role", action="append", required=True, choices=OPERATOR_ROLES, help="repeatable")
    token.add_argument("--audience", required=True, choices=SERVICE_ISSUERS, help="the service the token is for")
    token.add_argument(
        "--ttl",
        type=parse_duration,
        default=3600,
        help=f"lifetime (default 1h, at most {OPERATOR_TOKEN_MAX_LIFETIME_S // 3600}h)",
    )
    token.add_argument("--key-file", type=Path, help="the operators' private key (else OPERATOR_SIGNING_KEY)")

    password = sub.add_parser(
        "operator-password", help="hash an operator's console password for OPERATOR_ACCOUNTS (argon2id)"
    )
    password.add_argument("--name", required=True, help="the operator whose OPERATOR_ACCOUNTS entry gets the hash")


def run(args: argparse.Namespace) -> bool:
    """Run the command if it is one of these; False when it is another module's."""
    if args.command == "keys" and args.keys_command == "personal-data":
        generate_personal_data_keys(args.out, rotate_lookup_key=args.rotate_lookup_key, env_lines=args.env)
        return True
    if args.command == "keys":
        generate_keys(args.out, args.issuer or list(ISSUERS), env_lines=args.env)
        return True
    if args.command == "operator-token":
        key = operator_signing_key(args.key_file)
        refuse_beyond_account(args.name, args.role)
        try:
            token = issue_operator_token(
                key, operator=args.name, roles=args.role, audience=args.audience, ttl_s=args.ttl
            )
        except ValueError as exc:
            raise SystemExit(f"academy-platform operator-token: {exc}") from exc
        sys.stdout.write(token + "\n")
        return True
    if args.command == "operator-password":
        sys.stdout.write(operator_password_entry(args.name, read_new_password()) + "\n")
        return True
    return False


def read_new_password() -> str:
    """The new password: typed twice without echo on a terminal, else the first line of standard input.
    SystemExit when the two differ or nothing was given."""
    if sys.stdin.isatty():
        first = getpass.getpass("New console password: ")
        if getpass.getpass("Again: ") != first:
            raise SystemExit("academy-platform operator-password: the two passwords differ")
        return first
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise SystemExit("academy-platform operator-password: no password on standard input")
    return line


def operator_password_entry(name: str, password: str) -> str:
    """`"alice": {...}`: the operator's OPERATOR_ACCOUNTS entry (its roles as OPERATOR_ACCOUNTS has them,
    else none) with `password_hash` set to the argon2id hash of `password`. SystemExit for a name that
    cannot be an operator's or a password the hash refuses (too short)."""
    if (problem := operator_name_problem(name)) is not None:
        raise SystemExit(f"academy-platform operator-password: {problem}")
    try:
        password_hash = hash_operator_password(password)
    except ValueError as exc:
        raise SystemExit(f"academy-platform operator-password: {exc}") from exc
    entry: dict[str, object] = {"roles": []}
    text = os.environ.get("OPERATOR_ACCOUNTS", "").strip()
    if text:
        try:
            accounts = TypeAdapter(dict[str, OperatorAccount]).validate_json(text)
        except ValidationError as exc:
            raise SystemExit(f"academy-platform operator-password: OPERATOR_ACCOUNTS is not valid: {exc}") from exc
        if (account := accounts.get(name)) is not None:
            entry = account.model_dump(mode="json", exclude={"password_hash"})
            entry["roles"] = sorted(account.roles)
    entry["password_hash"] = password_hash
    return f"{json.dumps(name)}: {json.dumps(entry)}"


def generate_keys(out: Path, issuers: list[str], *, env_lines: bool = False) -> dict[str, SigningKey]:
    """Write a new key per issuer into `out` and merge their public keys into `out/public-keys.json`."""
    out.mkdir(parents=True, exist_ok=True)
    public_path = out / "public-keys.json"
    public: dict[str, list[str]] = json.loads(public_path.read_text()) if public_path.exists() else {}
    made = {issuer: generate_signing_key() for issuer in issuers}
    for issuer, key in made.items():
        path = out / f"{issuer}.key"
        path.write_text(key.private_text() + "\n")
        path.chmod(0o600)
        public.setdefault(issuer, []).append(key.public_text())
    public_path.write_text(json.dumps(public, indent=2) + "\n")
    sys.stdout.write(f"wrote {', '.join(f'{i}.key' for i in made)} and public-keys.json to {out}\n")
    if env_lines:
        for issuer, key in made.items():
            if issuer != OPERATORS_ISSUER:
                sys.stdout.write(f"{issuer.upper().replace('-', '_')}_SIGNING_KEY={key.private_text()}\n")
        sys.stdout.write(f"SERVICE_PUBLIC_KEYS={json.dumps(public, separators=(',', ':'))}\n")
    return made


PERSONAL_DATA_KEYS_FILE = "personal-data-keys.json"
PERSONAL_DATA_KEY_ID_FILE = "personal-data-key-id"
PHONE_LOOKUP_KEY_FILE = "phone-lookup.key"


def _random_key_text() -> str:
    """32 random bytes in base64, never one the placeholder detector would take for a placeholder (a
    random `+dev/` inside would stop production from starting)."""
    while True:
        text = base64.b64encode(secrets.token_bytes(32)).decode()
        if placeholder_reason(text) is None:
            return text


def _write_secret(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)


def generate_personal_data_keys(out: Path, *, rotate_lookup_key: bool = False, env_lines: bool = False) -> str:
    """Add a new personal-data key to `out/personal-data-keys.json` (keeping the others), make it the
    active one (`out/personal-data-key-id`), and write `out/phone-lookup.key` when it is absent or
    `rotate_lookup_key`. Returns the new key id (`<UTC date>-<4 hex>`)."""
    out.mkdir(parents=True, exist_ok=True)
    keys_path = out / PERSONAL_DATA_KEYS_FILE
    keys: dict[str, str] = json.loads(keys_path.read_text()) if keys_path.exists() else {}
    key_id = f"{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(2)}"
    while key_id in keys:
        key_id = f"{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(2)}"
    keys[key_id] = _random_key_text()
    _write_secret(keys_path, json.dumps(keys, indent=2) + "\n")
    _write_secret(out / PERSONAL_DATA_KEY_ID_FILE, key_id)
    lookup_path = out / PHONE_LOOKUP_KEY_FILE
    if rotate_lookup_key or not lookup_path.exists():
        _write_secret(lookup_path, _random_key_text())
    sys.stdout.write(
        f"added key {key_id} to {PERSONAL_DATA_KEYS_FILE} ({len(keys)} keys), made it active in "
        f"{PERSONAL_DATA_KEY_ID_FILE}; {PHONE_LOOKUP_KEY_FILE} in {out}\n"
    )
    if env_lines:
        sys.stdout.write(f"PERSONAL_DATA_KEYS={json.dumps(keys, separators=(',', ':'))}\n")
        sys.stdout.write(f"PERSONAL_DATA_KEY_ID={key_id}\n")
        sys.stdout.write(f"PHONE_LOOKUP_KEY={lookup_path.read_text().strip()}\n")
    return key_id


def operator_signing_key(key_file: Path | None) -> SigningKey:
    """The operators' key: `key_file`, OPERATOR_SIGNING_KEY, or in development the development key."""
    if key_file is not None:
        return SigningKey.from_text(key_file.read_text())
    if text := os.environ.get("OPERATOR_SIGNING_KEY", "").strip():
        return SigningKey.from_text(text)
    if os.environ.get("ENVIRONMENT", "development") == "development":
        return dev_signing_key(OPERATORS_ISSUER)
    raise SystemExit("academy-platform operator-token: give --key-file or OPERATOR_SIGNING_KEY (the operators' key)")


def refuse_beyond_account(name: str, roles: list[str]) -> None:
    """SystemExit when OPERATOR_ACCOUNTS is set (as the services see it) and `name` has no account or
    lacks one of `roles`: the services would refuse the token anyway, so it is not issued."""
    text = os.environ.get("OPERATOR_ACCOUNTS", "").strip()
    if not text:
        return
    try:
        accounts = TypeAdapter(dict[str, OperatorAccount]).validate_json(text)
    except ValidationError as exc:
        raise SystemExit(f"academy-platform operator-token: OPERATOR_ACCOUNTS is not valid: {exc}") from exc
    account = accounts.get(name)
    if account is None:
        raise SystemExit(f"academy-platform operator-token: {name!r} has no operator account (OPERATOR_ACCOUNTS)")
    missing = sorted(set(roles) - account.roles)
    if missing:
        raise SystemExit(f"academy-platform operator-token: {name!r} does not hold {', '.join(missing)}")
