from academy_runtime.migrations import run_migrations

from academy_gateway_bot.app import service

run_migrations(service)
