"""Database provisioning: one database, one schema and one login role per service.

A service's role owns its schema and has no privilege on any other: it cannot even look up another
service's tables. Run by operators (Kubernetes bootstrap Job), by `make run` and by the tests, with
an administrative connection.
"""

from __future__ import annotations

import re

import asyncpg

SERVICES = ("users", "catalog", "progress", "gamification", "billing", "gateway_bot")

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"unsafe SQL identifier: {name!r}")
    return f'"{name}"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def role_name(prefix: str, service: str) -> str:
    return f"{prefix}{service}"


async def ensure_database(admin_dsn: str, database: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f"CREATE DATABASE {_ident(database)}")
    finally:
        await conn.close()


async def provision(
    admin_dsn: str,
    database: str,
    *,
    role_prefix: str = "academy_",
    passwords: dict[str, str] | None = None,
    services: tuple[str, ...] = SERVICES,
) -> dict[str, str]:
    """Create (idempotently) the database, the roles and the schemas; returns service → role."""
    await ensure_database(admin_dsn, database)
    conn = await asyncpg.connect(admin_dsn, database=database)
    roles: dict[str, str] = {}
    try:
        await conn.execute(f"REVOKE ALL ON DATABASE {_ident(database)} FROM PUBLIC")
        await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        for service in services:
            role = role_name(role_prefix, service)
            password = (passwords or {}).get(service)
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            verb = "ALTER" if exists else "CREATE"
            pw = f" PASSWORD {_literal(password)}" if password else ""
            await conn.execute(f"{verb} ROLE {_ident(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE{pw}")
            await conn.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {_ident(database)} TO {_ident(role)}")
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(service)} AUTHORIZATION {_ident(role)}")
            await conn.execute(f"ALTER SCHEMA {_ident(service)} OWNER TO {_ident(role)}")
            await conn.execute(f"REVOKE ALL ON SCHEMA {_ident(service)} FROM PUBLIC")
            await conn.execute(
                f"ALTER ROLE {_ident(role)} IN DATABASE {_ident(database)} SET search_path = {_ident(service)}"
            )
            roles[service] = role
    finally:
        await conn.close()
    return roles


async def drop(admin_dsn: str, database: str, *, role_prefix: str, services: tuple[str, ...] = SERVICES) -> None:
    """Remove a database and its roles (test runs clean up after themselves)."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
        await conn.execute(f"DROP DATABASE IF EXISTS {_ident(database)}")
        for service in services:
            role = role_name(role_prefix, service)
            if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
                # The role may still own objects in other databases of an earlier, interrupted run.
                await conn.execute(f"DROP ROLE IF EXISTS {_ident(role)}")
    finally:
        await conn.close()
