"""The worker process of a service: outbox relay, event consumers and background jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from prometheus_client import start_http_server

from academy_runtime.consumer import ConsumerRuntime
from academy_runtime.logs import configure_logging
from academy_runtime.relay import OutboxRelay
from academy_runtime.service import ServiceDefinition
from academy_runtime.settings import ServiceSettings
from academy_runtime.telemetry import configure_tracing, shutdown_tracing

log = logging.getLogger(__name__)


async def run_worker(service: ServiceDefinition, settings: ServiceSettings | None = None) -> None:
    """Run until SIGINT/SIGTERM, then stop consuming, let the relay finish its batch, and close."""
    settings = settings or service.settings()
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing(settings.service_name, settings.otel_exporter_otlp_endpoint)
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port, addr=settings.http_host)
    resources = await service.open_resources(settings)
    relay = OutboxRelay(settings, resources.sessionmaker, service.messaging)
    consumers = ConsumerRuntime(resources, service.messaging, service.consumers)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    tasks: list[asyncio.Task[None]] = []
    try:
        await _start_consumers(consumers, stop)
        tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
        tasks.extend(asyncio.create_task(job(resources), name=job.__name__) for job in service.worker_jobs)
        log.info(
            "worker started",
            extra={"consumers": [c.purpose for c in service.consumers], "jobs": len(service.worker_jobs)},
        )
        await stop.wait()
    finally:
        log.info("worker stopping")
        await consumers.stop()
        relay.stop()
        for task in tasks:
            if task.get_name() != "outbox-relay":
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await relay.close()
        await resources.close()
        shutdown_tracing()


async def _start_consumers(consumers: ConsumerRuntime, stop: asyncio.Event) -> None:
    """Connect, retrying while the broker is down (a worker started before RabbitMQ must wait, not die)."""
    delay = 0.5
    while not stop.is_set():
        try:
            await consumers.start()
        except Exception as exc:
            log.warning("cannot start consumers yet; retrying", extra={"error": repr(exc)})
            await consumers.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, 15)
        else:
            return
