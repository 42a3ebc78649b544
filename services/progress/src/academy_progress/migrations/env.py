from academy_runtime.migrations import run_migrations

from academy_progress.app import service

run_migrations(service)
