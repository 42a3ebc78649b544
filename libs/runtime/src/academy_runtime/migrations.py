"""Alembic wiring shared by every service: each `env.py` is two lines that call `run_migrations`.

Migrations run as the service's own role, create the service's schema objects only, and keep the
version table inside that schema, so services migrate independently.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import async_engine_from_config

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from academy_runtime.service import ServiceDefinition


def alembic_config(service: ServiceDefinition, database_url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", service.migrations)
    cfg.set_main_option("sqlalchemy.url", database_url or service.settings().database_url)
    cfg.attributes["service"] = service
    return cfg


def migrate(service: ServiceDefinition, *args: str, database_url: str | None = None) -> None:
    """`migrate(service, "upgrade", "head")`, `("downgrade", "base")`, `("current",)`, `("history",)`."""
    cfg = alembic_config(service, database_url)
    verb, *rest = args or ("upgrade", "head")
    if verb in {"upgrade", "downgrade"}:
        getattr(command, verb)(cfg, rest[0] if rest else ("head" if verb == "upgrade" else "-1"))
    elif verb == "revision":
        command.revision(cfg, message=" ".join(rest) or "change", autogenerate=True)
    elif verb in {"current", "history", "heads"}:
        getattr(command, verb)(cfg)
    else:
        raise SystemExit(f"unknown migrate command {verb!r} (upgrade, downgrade, current, history, heads, revision)")


def run_migrations(service: ServiceDefinition) -> None:
    """Body of a service's alembic `env.py`."""
    config = context.config
    schema = service.metadata.schema
    url = config.get_main_option("sqlalchemy.url") or service.settings().database_url

    def include_name(name: str | None, type_: str, _parent: Any) -> bool:
        return type_ != "schema" or name == schema

    options: dict[str, Any] = {
        "target_metadata": service.metadata,
        "version_table_schema": schema,
        "include_schemas": True,
        "include_name": include_name,
        "compare_type": True,
    }

    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return

    def do_run(connection: Connection) -> None:
        # The schema and the role are provisioned by `academy-platform provision`; a service role
        # has no right to create schemas.
        if connection.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}).first() is None:
            raise SystemExit(f"schema {schema!r} does not exist: run `academy-platform provision` first")
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = async_engine_from_config(
            {"sqlalchemy.url": url},
            prefix="sqlalchemy.",
            poolclass=pool.NullPool,
            # The role's search_path makes its own schema the default one, which alembic reflects as
            # None: every table would look new and every foreign key changed. Every name is qualified.
            connect_args={"server_settings": {"search_path": "public"}},
        )
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
            await connection.commit()
        await engine.dispose()

    asyncio.run(run_async())
