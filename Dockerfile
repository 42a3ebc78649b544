# syntax=docker/dockerfile:1.7
#
# One image per service, all from this Dockerfile and the workspace root as context:
#
#   docker build --build-arg SERVICE=users -t beauty-academy/users:0.1.0 .
#
# SERVICE is the workspace member under services/ (users, catalog, progress, gamification, billing,
# gateway-bot, console). The image runs `academy-<SERVICE> <command>`: the default command is `api`; pass
# `worker`, `migrate upgrade head` or `dlq list` instead (the operators' console has `api` only). Every image also ships the platform CLI
# (`academy-platform provision`), which comes with the shared runtime.

ARG PYTHON_IMAGE=python:3.11-slim
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.8

FROM ${UV_IMAGE} AS uv

# ---------------------------------------------------------------------------------------------
# builder: resolve the service's locked dependencies into /app/.venv (no compilers needed: every
# dependency ships manylinux wheels for CPython 3.11).
FROM ${PYTHON_IMAGE} AS builder
ARG SERVICE
RUN case "${SERVICE}" in \
        users|catalog|progress|gamification|billing|gateway-bot|console) ;; \
        *) echo "build with --build-arg SERVICE=users|catalog|progress|gamification|billing|gateway-bot|console (got '${SERVICE}')" >&2; exit 1 ;; \
    esac
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src

# 1. Third-party dependencies only. This layer is rebuilt when the lock or a pyproject changes, not
#    when source code does. Every workspace member's pyproject.toml must be listed here
#    (deploy/tests/test_manifests.py checks it).
COPY pyproject.toml uv.lock ./
COPY libs/contracts/pyproject.toml libs/contracts/
COPY libs/devstack/pyproject.toml libs/devstack/
COPY libs/runtime/pyproject.toml libs/runtime/
COPY libs/tg-emulator/pyproject.toml libs/tg-emulator/
COPY libs/yookassa-emulator/pyproject.toml libs/yookassa-emulator/
COPY services/users/pyproject.toml services/users/
COPY services/catalog/pyproject.toml services/catalog/
COPY services/progress/pyproject.toml services/progress/
COPY services/gamification/pyproject.toml services/gamification/
COPY services/billing/pyproject.toml services/billing/
COPY services/gateway-bot/pyproject.toml services/gateway-bot/
COPY services/console/pyproject.toml services/console/
COPY tests-e2e/pyproject.toml tests-e2e/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package "beauty-academy-${SERVICE}"

# 2. The workspace packages the service needs, installed as wheels (not editable): the final image
#    needs /app/.venv only, not the source tree.
COPY libs libs
COPY services services
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "beauty-academy-${SERVICE}" \
    && test -x "/app/.venv/bin/academy-${SERVICE}" \
    && test -x /app/.venv/bin/academy-platform \
    && ln -s "academy-${SERVICE}" /app/.venv/bin/academy-service

# ---------------------------------------------------------------------------------------------
# runtime: the interpreter and the virtual environment, no uv, no build tools, no source tree.
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
LABEL org.opencontainers.image.title="beauty-academy-${SERVICE}" \
      org.opencontainers.image.description="Beauty Academy ${SERVICE} service (api | worker | migrate | dlq)"
RUN groupadd --system --gid 10001 academy \
    && useradd --system --uid 10001 --gid academy --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin academy
# Owned by root and read-only for the service user; the root filesystem can be mounted read-only.
COPY --from=builder /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    ACADEMY_SERVICE=${SERVICE} \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8000 \
    WORKER_METRICS_PORT=9100
WORKDIR /app
USER 10001:10001
EXPOSE 8000 9100
# academy-service is a link to academy-${SERVICE}: exec form, so the service is PID 1 and gets SIGTERM.
ENTRYPOINT ["academy-service"]
CMD ["api"]
