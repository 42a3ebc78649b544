"""`academy-platform`: operations that span services (database provisioning, service and operator keys)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from academy_runtime import keys_cli
from academy_runtime.provisioning import SERVICES, drop, provision


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="academy-platform")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("provision", "create the database, schemas and roles"), ("drop", "remove them")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument(
            "--admin-url", default=os.environ.get("POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        )
        cmd.add_argument("--database", default=os.environ.get("DATABASE_NAME", "beauty_academy"))
        cmd.add_argument("--role-prefix", default=os.environ.get("ROLE_PREFIX", "academy_"))
    keys_cli.add_commands(sub)  # keys generate, operator-token
    args = parser.parse_args(argv)
    if keys_cli.run(args):
        return
    if args.command == "provision":
        # Passwords come from DB_PASSWORD_<SERVICE>; without one the role relies on the server's auth rules.
        passwords = {s: pw for s in SERVICES if (pw := os.environ.get(f"DB_PASSWORD_{s.upper()}"))}
        roles = asyncio.run(provision(args.admin_url, args.database, role_prefix=args.role_prefix, passwords=passwords))
        sys.stdout.write(
            f"provisioned database {args.database}: " + ", ".join(f"{s}→{r}" for s, r in roles.items()) + "\n"
        )
    else:
        asyncio.run(drop(args.admin_url, args.database, role_prefix=args.role_prefix))
        sys.stdout.write(f"dropped database {args.database} and its roles\n")
