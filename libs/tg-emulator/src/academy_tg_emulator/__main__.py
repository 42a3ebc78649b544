"""``python -m academy_tg_emulator`` / ``academy-tg-emulator``: serve the emulator over HTTP."""

from __future__ import annotations

import argparse
import logging
import os

import uvicorn

from academy_tg_emulator.app import create_app
from academy_tg_emulator.config import BotSpec, EmulatorConfig
from academy_tg_emulator.server import KEEP_ALIVE_S

logger = logging.getLogger("academy_tg_emulator")


def build_parser() -> argparse.ArgumentParser:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="academy-tg-emulator",
        description=(
            "Local Telegram Bot API emulator. Bots call http://HOST:PORT/bot<token>/<method>; "
            "tests drive users through http://HOST:PORT/_emulator/. "
            "Defaults come from TG_EMULATOR_* environment variables."
        ),
    )
    parser.add_argument("--host", default=env.get("TG_EMULATOR_HOST", "127.0.0.1"), help="interface to bind")
    parser.add_argument(
        "--port", type=int, default=int(env.get("TG_EMULATOR_PORT", "8180")), help="port to listen on (0: any)"
    )
    parser.add_argument("--token", help="default bot token (TG_EMULATOR_BOT_TOKEN, default 123456:TEST-TOKEN)")
    parser.add_argument("--bot-username", help="default bot @username (TG_EMULATOR_BOT_USERNAME)")
    parser.add_argument("--bot-name", help="default bot display name (TG_EMULATOR_BOT_NAME)")
    parser.add_argument(
        "--extra-bot",
        action="append",
        default=[],
        metavar="TOKEN=USERNAME",
        help="register one more bot (repeatable; TG_EMULATOR_EXTRA_BOTS holds a comma-separated list)",
    )
    parser.add_argument("--rate-limit", action="store_true", default=None, help="turn flood control on")
    parser.add_argument("--rate-limit-per-chat", type=int, help="messages per second to one chat (default 1)")
    parser.add_argument("--rate-limit-global", type=int, help="messages per second overall (default 30)")
    parser.add_argument(
        "--log-level",
        default=env.get("TG_EMULATOR_LOG_LEVEL", "info"),
        choices=["critical", "error", "warning", "info", "debug"],
    )
    parser.add_argument(
        "--access-log",
        action="store_true",
        default=env.get("TG_EMULATOR_ACCESS_LOG", "").strip().lower() in {"1", "true", "yes", "on"},
        help="log every HTTP request (TG_EMULATOR_ACCESS_LOG; off: a bot's every call is in GET /_emulator/calls, "
        "and a line per call is CPU the load tests share with the platform)",
    )
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    config = EmulatorConfig.from_env()
    default = config.default_bot
    default = BotSpec(
        token=args.token or default.token,
        username=args.bot_username or default.username,
        first_name=args.bot_name or default.first_name,
    )
    bots = [default, *config.bots[1:]]
    for item in args.extra_bot:
        token, _, username = str(item).partition("=")
        bots.append(BotSpec(token=token, username=username or f"bot{token.split(':', 1)[0]}_bot"))
    rate_limit = config.rate_limit.model_copy()
    if args.rate_limit:
        rate_limit.enabled = True
    if args.rate_limit_per_chat:
        rate_limit.per_chat_per_second = args.rate_limit_per_chat
    if args.rate_limit_global:
        rate_limit.global_per_second = args.rate_limit_global
    return config.model_copy(update={"bots": bots, "rate_limit": rate_limit})


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = config_from_args(args)
    logger.info("control API: http://%s:%s/_emulator/health", args.host, args.port)
    uvicorn.run(
        create_app(config),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=args.access_log,
        timeout_graceful_shutdown=2,
        timeout_keep_alive=KEEP_ALIVE_S,
    )


if __name__ == "__main__":
    main()
