"""Each service's command line: `academy-<service> api | worker | migrate ... | dlq list|redrive`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from academy_runtime.service import ServiceCommand, ServiceDefinition

if TYPE_CHECKING:
    from academy_runtime.settings import ServiceSettings


def service_main(load: Callable[[], ServiceDefinition]) -> Callable[[list[str] | None], None]:
    """Build the `main()` of a service's console script from a loader of its definition."""

    def main(argv: list[str] | None = None) -> None:
        service = load()
        parser = argparse.ArgumentParser(prog=f"academy-{service.name.replace('_', '-')}")
        sub = parser.add_subparsers(dest="command", required=True)
        api = sub.add_parser("api", help="serve the HTTP API")
        api.add_argument("--host")
        api.add_argument("--port", type=int)
        sub.add_parser("worker", help="run the outbox relay, the event consumers and background jobs")
        mig = sub.add_parser(
            "migrate",
            help="alembic: upgrade head (default), downgrade base, current...; an upgrade also declares the queues",
        )
        mig.add_argument("args", nargs="*")
        dlq = sub.add_parser("dlq", help="list or re-drive dead letters")
        dlq.add_argument("action", choices=["list", "redrive"])
        dlq.add_argument("--consumer", help="consumer purpose; default: every consumer of the service")
        dlq.add_argument("--limit", type=int, default=None)
        sub.add_parser("openapi", help="print the OpenAPI document")
        for name, command in service.commands.items():
            sub.add_parser(name, help=command.help)
        args = parser.parse_args(argv)

        if args.command == "api":
            import uvicorn

            from academy_runtime.http import create_app

            settings = service.settings()
            uvicorn.run(create_app(service, settings), **api_server_options(settings, host=args.host, port=args.port))
        elif args.command == "worker":
            from academy_runtime.worker import run_worker

            asyncio.run(run_worker(service))
        elif args.command == "migrate":
            from academy_runtime.migrations import migrate

            migrate(service, *args.args)
            if not args.args or args.args[0] == "upgrade":
                _declare_queues(service)
        elif args.command == "dlq":
            asyncio.run(_dlq(service, args.action, args.consumer, args.limit))
        elif args.command == "openapi":
            from academy_runtime.http import create_app

            json.dump(create_app(service).openapi(), sys.stdout, indent=2, ensure_ascii=False)
        elif args.command in service.commands:
            asyncio.run(_service_command(service, service.commands[args.command]))

    return main


def api_server_options(
    settings: ServiceSettings, *, host: str | None = None, port: int | None = None
) -> dict[str, Any]:
    """The uvicorn options of `academy-<service> api`. Behind a reverse proxy, the client's address and scheme
    come from X-Forwarded-For / X-Forwarded-Proto only when the connection is from FORWARDED_ALLOW_IPS."""
    return {
        "host": host or settings.http_host,
        "port": port or settings.http_port,
        "log_config": None,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.trusted_proxies,
    }


async def _service_command(service: ServiceDefinition, command: ServiceCommand) -> None:
    from academy_runtime.logs import configure_logging

    settings = service.settings()
    configure_logging(settings.service_name, settings.log_level)
    resources = await service.open_resources(settings)
    try:
        output = await command.run(resources)
    finally:
        await resources.close()
    sys.stdout.write(output.rstrip("\n") + "\n")


def _declare_queues(service: ServiceDefinition) -> None:
    """After an upgrade, the service's queues exist before any other service publishes to them."""
    from academy_runtime.consumer import declare_consumer_queues

    queues = asyncio.run(declare_consumer_queues(service.settings(), service.consumers))
    if queues:
        sys.stdout.write(f"declared queues: {', '.join(queues)}\n")


async def _dlq(service: ServiceDefinition, action: str, consumer: str | None, limit: int | None) -> None:
    from academy_runtime.dlq import (
        DEV_BUS_PASSWORDS,
        WrongBusUserError,
        development_bus_url,
        list_dead_letters,
        redrive_dead_letters,
    )

    settings = service.settings()
    own_url = development_bus_url(settings)
    if own_url is not None:
        # Development: RABBITMQ_URL is the default (guest); `make run` gave the service its own user.
        settings = settings.model_copy(update={"rabbitmq_url": own_url})
        sys.stderr.write(
            f"connecting as {settings.service_name}'s own broker user (password from {DEV_BUS_PASSWORDS})\n"
        )
    purposes = [consumer] if consumer else [c.purpose for c in service.consumers]
    for purpose in purposes:
        if action == "list":
            letters = await list_dead_letters(settings, purpose, limit or 100)
            sys.stdout.write(
                json.dumps(
                    {
                        "queue": f"{settings.queue_name(purpose)}.dlq",
                        "count": len(letters),
                        "not_redrivable": sum(not letter.redrivable for letter in letters),
                        "messages": [d.as_dict() for d in letters],
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
            continue
        try:
            report = await redrive_dead_letters(settings, purpose, limit)
        except WrongBusUserError as exc:
            sys.stderr.write(f"{exc}\n")
            raise SystemExit(2) from None
        sys.stdout.write(
            f"{report.queue}: re-drove {report.moved} of {report.present} message(s); left {len(report.left)}\n"
        )
        for message_id, why in report.left:
            sys.stdout.write(f"  left {message_id or '(no message id)'}: {why}\n")
