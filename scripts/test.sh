#!/usr/bin/env bash
# Every check the project has: lint, types, contracts, then each package's tests against real
# PostgreSQL, RabbitMQ, Redis and an S3 server, then the end-to-end tests. Each pytest run creates
# its own database, roles, exchange, queues, Redis keys and bucket, and removes them at the end.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh || exit 1
. scripts/uv-env.sh
academy_uv_env || exit 1

say() { printf '\n[make test] %s\n' "$*"; }
failed=()

# An S3 server for the tests: the one named in TEST_S3_ENDPOINT, or moto on a free port.
if [ -z "${TEST_S3_ENDPOINT:-}" ]; then
  s3_port=$(uv run --frozen python -c 'from academy_devstack.stack import free_port; print(free_port())')
  .venv/bin/moto_server -H 127.0.0.1 -p "$s3_port" >/tmp/academy-test-s3-$s3_port.log 2>&1 &
  s3_pid=$!
  trap 'kill $s3_pid 2>/dev/null || true' EXIT
  export TEST_S3_ENDPOINT="127.0.0.1:$s3_port"
fi
export TEST_POSTGRES_ADMIN_URL="${TEST_POSTGRES_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
export TEST_RABBITMQ_URL="${TEST_RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5672/}"
# The management API for the provisioning tests: bootstrap (academy_devstack.infra) enabled the plugin on
# a local broker that has it, and said so; without it those tests skip, saying why.
export TEST_RABBITMQ_MANAGEMENT_URL="${TEST_RABBITMQ_MANAGEMENT_URL:-http://127.0.0.1:15672}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"

say "ruff"
uv run --frozen ruff check . || failed+=(ruff)
uv run --frozen ruff format --check . >/dev/null || { uv run --frozen ruff format --check . | tail -20; failed+=(ruff-format); }
say "mypy (strict on libs/)"
uv run --frozen mypy -p academy_contracts -p academy_runtime -p academy_tg_emulator -p academy_yookassa_emulator -p academy_devstack || failed+=(mypy-libs)
uv run --frozen mypy services/*/src || failed+=(mypy-services)
say "contracts: committed schemas and AsyncAPI match the models, no published version broken"
uv run --frozen python -m academy_contracts.generate --check || failed+=(contracts)

results=$(mktemp -d)
packages=(libs/contracts libs/runtime libs/tg-emulator libs/yookassa-emulator libs/devstack services/users services/catalog services/progress
          services/gamification services/billing services/gateway-bot services/console deploy tests-e2e)
for pkg in "${packages[@]}"; do
  [ -d "$pkg" ] || continue
  say "pytest $pkg"
  name=$(echo "$pkg" | tr '/' '_')
  uv run --frozen pytest "$pkg" -q -p no:cacheprovider --junitxml="$results/$name.xml"
  code=$?
  # 5 = no tests collected in that package: not a failure of the suite
  if [ $code -ne 0 ] && [ $code -ne 5 ]; then failed+=("$pkg"); fi
done

uv run --frozen python scripts/summarize_junit.py "$results"
rm -rf "$results"
if [ ${#failed[@]} -gt 0 ]; then
  say "FAILED: ${failed[*]}"
  exit 1
fi
say "all checks passed"
