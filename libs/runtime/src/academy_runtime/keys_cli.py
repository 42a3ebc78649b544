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

operator-token --name alice --role finance [--role support] --audience billing [--ttl 8h]
    Prints an operator's token for one service (the `Authorization: Bearer` of curl or of /docs'
    Authorize). The key comes from `--key-file`, else OPERATOR_SIGNING_KEY, else, with
    ENVIRONMENT=development (the default), the development operators key `make run` trusts. The lifetime
    is at most 12 h (`academy_runtime.auth.OPERATOR_TOKEN_MAX_LIFETIME_S`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
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
    issue_operator_token,
)

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


def run(args: argparse.Namespace) -> bool:
    """Run the command if it is one of these; False when it is another module's."""
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
    return False


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
