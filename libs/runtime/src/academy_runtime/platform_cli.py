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
    bus = sub.add_parser(
        "provision-bus",
        help="create the services' RabbitMQ users (each publishes only its own events) and the events exchange",
    )
    bus.add_argument("--management-url", default=os.environ.get("RABBITMQ_MANAGEMENT_URL", ""))
    bus.add_argument("--user-prefix", default=os.environ.get("BUS_USER_PREFIX", "academy-"))
    bus.add_argument("--exchange", default=os.environ.get("EVENTS_EXCHANGE", "academy.events"))
    bus.add_argument("--vhost", default=os.environ.get("RABBITMQ_VHOST", "/"))
    keys_cli.add_commands(sub)  # keys generate, operator-token
    args = parser.parse_args(argv)
    if keys_cli.run(args):
        return
    if args.command == "provision-bus":
        provision_bus(args)
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


def provision_bus(args: argparse.Namespace) -> None:
    """`academy-platform provision-bus`: passwords from BUS_PASSWORD_<SERVICE> (GATEWAY_BOT for gateway-bot),
    all required; through the management API (--management-url, admin from RABBITMQ_ADMIN_USER and
    RABBITMQ_ADMIN_PASSWORD) or, without one, with rabbitmqctl on the broker's machine. Idempotent."""
    from academy_runtime.bus_provisioning import (
        BUS_SERVICES,
        apply_with_http,
        apply_with_rabbitmqctl,
        bus_grants,
        definitions,
    )

    names = {service: f"BUS_PASSWORD_{service.upper().replace('-', '_')}" for service in BUS_SERVICES}
    missing = [name for name in names.values() if not os.environ.get(name)]
    if missing:
        raise SystemExit(f"provision-bus: set {', '.join(missing)}")
    passwords = {service: os.environ[name] for service, name in names.items()}
    grants = bus_grants(passwords, user_prefix=args.user_prefix, exchange=args.exchange)
    document = definitions(grants, exchange=args.exchange, vhost=args.vhost)
    if args.management_url:
        asyncio.run(
            apply_with_http(
                document,
                management_url=args.management_url,
                admin_user=os.environ.get("RABBITMQ_ADMIN_USER", "guest"),
                admin_password=os.environ.get("RABBITMQ_ADMIN_PASSWORD", "guest"),
            )
        )
    else:
        apply_with_rabbitmqctl(document)
    sys.stdout.write(
        f"provisioned broker users {', '.join(g.user for g in grants)} on {args.exchange} (vhost {args.vhost})\n"
    )
