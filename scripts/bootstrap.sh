#!/usr/bin/env bash
# Installs what `make run` and `make test` need on a fresh machine, and starts what is installed but
# stopped. Safe to run again: it only acts on what is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '[bootstrap] %s\n' "$*"; }

apt_install() {
  if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
    say "missing Debian packages: $* (install them: apt-get install -y $*)"; return 1
  fi
  say "installing Debian packages: $*"
  if [ ! -f /var/lib/apt/periodic/academy-updated ] || [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/academy-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# 1. uv (the workspace's package manager): found where it is, or installed from PyPI (scripts/uv-env.sh).
. scripts/uv-env.sh
ACADEMY_UV_INSTALL=1 academy_uv_env

# 2. Python 3.11 and every workspace package, exactly as locked.
uv sync --frozen --quiet

# 3. Servers: PostgreSQL, Redis and RabbitMQ from Debian packages; the PostgreSQL client tools for
#    backups. Started by `academy-devstack`/the test runner when installed but stopped. Chromium for the
#    operators' console browser tests (Playwright drives Debian's build; it cannot download its own here)
#    and promtool (Debian's `prometheus` package) for the alert rules' unit tests.
missing=()
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
command -v pg_dump >/dev/null 2>&1 || missing+=(postgresql-client)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v rabbitmq-server >/dev/null 2>&1 || missing+=(rabbitmq-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}" || true
fi
uv run --frozen python -m academy_devstack.infra
