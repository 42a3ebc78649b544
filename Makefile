# The commands people type. Each one installs what it needs first (scripts/bootstrap.sh).
.PHONY: run test lint format contracts bench bootstrap test-% clean

run: ## the whole platform as local processes, in the foreground (Ctrl-C stops it)
	@bash scripts/bootstrap.sh
	@scripts/uv run --frozen academy-devstack

test: ## every test and check: lint, mypy, contracts, unit, integration, end-to-end
	@bash scripts/test.sh

test-%: ## one package's tests, e.g. `make test-users`, `make test-runtime`, `make test-e2e`
	@bash scripts/bootstrap.sh
	@d=$$(ls -d services/$* libs/$* tests-$* 2>/dev/null | head -1); scripts/uv run --frozen pytest $$d -q

lint: ## ruff lint + format check, mypy (strict on libs/)
	@bash scripts/bootstrap.sh
	scripts/uv run --frozen ruff check .
	scripts/uv run --frozen ruff format --check .
	scripts/uv run --frozen mypy -p academy_contracts -p academy_runtime -p academy_tg_emulator -p academy_yookassa_emulator -p academy_devstack
	scripts/uv run --frozen mypy services/*/src

format:
	scripts/uv run --frozen ruff check --fix .
	scripts/uv run --frozen ruff format .

contracts: ## regenerate the JSON Schemas and the AsyncAPI document from libs/contracts
	scripts/uv run --frozen python -m academy_contracts.generate

bench: ## benchmarks, with ratios against a baseline measured in the same run
	@bash scripts/bootstrap.sh
	@scripts/uv run --frozen python -m bench

bootstrap:
	@bash scripts/bootstrap.sh

clean:
	rm -rf .run .pytest_cache .mypy_cache .ruff_cache
