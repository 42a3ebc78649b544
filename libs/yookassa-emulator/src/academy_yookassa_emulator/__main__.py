"""``python -m academy_yookassa_emulator`` / ``academy-yookassa-emulator``: serve the emulator over HTTP."""

from __future__ import annotations

import argparse
import logging
import os

import uvicorn

from academy_yookassa_emulator.app import create_app
from academy_yookassa_emulator.config import DEFAULT_PORT, YooKassaEmulatorConfig

logger = logging.getLogger("academy_yookassa_emulator")


def build_parser() -> argparse.ArgumentParser:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="academy-yookassa-emulator",
        description=(
            "Local YooKassa API v3 emulator. The shop calls http://HOST:PORT/v3 with HTTP Basic "
            "shop_id:secret_key; payers confirm at /checkout/<id>; tests steer it at /_emulator/. "
            "Defaults come from YOOKASSA_EMULATOR_* environment variables."
        ),
    )
    parser.add_argument("--host", default=env.get("YOOKASSA_EMULATOR_HOST", "127.0.0.1"), help="interface to bind")
    parser.add_argument(
        "--port",
        type=int,
        default=int(env.get("YOOKASSA_EMULATOR_PORT", str(DEFAULT_PORT))),
        help="port to listen on (0: any)",
    )
    parser.add_argument(
        "--notification-url", help="where notifications are POSTed (YOOKASSA_EMULATOR_NOTIFICATION_URL)"
    )
    parser.add_argument("--shop-id", help="HTTP Basic user (YOOKASSA_EMULATOR_SHOP_ID, default academy-dev-shop)")
    parser.add_argument("--secret-key", help="HTTP Basic password (YOOKASSA_EMULATOR_SECRET_KEY)")
    parser.add_argument("--public-url", help="base of confirmation URLs (default: the address the API was called at)")
    parser.add_argument("--notification-attempts", type=int, help="deliveries tried per notification (default 5)")
    parser.add_argument(
        "--log-level",
        default=env.get("YOOKASSA_EMULATOR_LOG_LEVEL", "info"),
        choices=["critical", "error", "warning", "info", "debug"],
    )
    return parser


def config_from_args(args: argparse.Namespace) -> YooKassaEmulatorConfig:
    config = YooKassaEmulatorConfig.from_env()
    update: dict[str, object] = {}
    if args.notification_url:
        update["notification_url"] = args.notification_url
    if args.shop_id:
        update["shop_id"] = args.shop_id
    if args.secret_key:
        update["secret_key"] = args.secret_key
    if args.public_url:
        update["public_url"] = args.public_url
    if args.notification_attempts:
        update["notification_max_attempts"] = args.notification_attempts
    return YooKassaEmulatorConfig.model_validate({**config.model_dump(), **update})


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = config_from_args(args)
    logger.info("YooKassa API: http://%s:%s/v3, control API: /_emulator/health", args.host, args.port)
    uvicorn.run(
        create_app(config),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=2,
    )


if __name__ == "__main__":
    main()
