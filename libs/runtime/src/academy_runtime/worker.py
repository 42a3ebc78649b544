"""The worker process of a service: outbox relay, event consumers and background jobs.

On `WORKER_METRICS_PORT` it serves, from its own event loop (so a blocked loop fails the probe):
- `/healthz` (liveness): the loop answers, the relay's poll loop has gone round and no consumer has
  had a message in its handler within `STALL_DEADLINE_S`, the relay runs and no background job has
  died of an exception;
- `/readyz` (readiness): the database and the broker answer and the consumers are connected;
- `/metrics`: Prometheus.
A broker or database outage fails readiness only: restarting the worker would not bring either back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from academy_runtime.consumer import ConsumerRuntime
from academy_runtime.gc_tuning import tune_garbage_collector
from academy_runtime.health import Heartbeat, liveness, readiness
from academy_runtime.logs import configure_logging
from academy_runtime.relay import OutboxRelay
from academy_runtime.resources import Resources
from academy_runtime.service import ServiceDefinition
from academy_runtime.settings import ServiceSettings
from academy_runtime.telemetry import configure_tracing, shutdown_tracing

log = logging.getLogger(__name__)

#: Seconds a loop may show no progress before `/healthz` fails. The relay goes round at least every
#: poll interval (2 s) or backoff (at most 30 s) plus a connect timeout; a handler takes well under a
#: second, and a few seconds while it waits on a lock.
STALL_DEADLINE_S = 120.0
_REQUEST_TIMEOUT_S = 5.0


@dataclass
class WorkerProbes:
    """What the worker's `/healthz` and `/readyz` look at; filled in as the worker starts."""

    deadline_s: float = STALL_DEADLINE_S
    heartbeats: list[Heartbeat] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    resources: Resources | None = None
    consumers: ConsumerRuntime | None = None

    def health(self) -> tuple[bool, dict[str, str]]:
        """Liveness: (alive?, per check `ok` or the reason)."""
        checks = liveness(self.heartbeats, self.deadline_s)
        for task in self.tasks:
            # The relay runs until the worker stops; a job may finish its work (a one-off rebuild),
            # but one that raised is gone until the process restarts.
            if task.done() and (task.get_name() == "outbox-relay" or task.cancelled() or task.exception()):
                checks[f"task {task.get_name()}"] = "ended"
        return all(v == "ok" for v in checks.values()), checks

    async def ready(self) -> tuple[bool, dict[str, str]]:
        """Readiness: (ready?, per check `ok` or the reason); database, broker, consumers connected."""
        if self.resources is None:
            return False, {"resources": "starting"}
        checks: dict[str, str] = {
            k: v for k, v in (await readiness(self.resources)).items() if k in {"database", "broker"}
        }
        if self.consumers is not None and self.consumers.consumers:
            checks["consumers"] = "ok" if self.consumers.connected else "not connected"
        return all(v == "ok" for v in checks.values()), checks

    async def serve(self, host: str, port: int) -> asyncio.Server:
        """Listen on (`host`, `port`) for the probes and Prometheus; HTTP/1.0, one request per connection."""
        return await asyncio.start_server(self._answer, host, port)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _REQUEST_TIMEOUT_S)
            method, path, *_ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            status, content_type, body = await self._route(method, path.split("?", 1)[0])
            writer.write(
                f"HTTP/1.0 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (OSError, ValueError, asyncio.IncompleteReadError, TimeoutError):
            pass  # a probe that hung up or sent nonsense gets nothing
        finally:
            writer.close()

    async def _route(self, method: str, path: str) -> tuple[str, str, bytes]:
        if method not in {"GET", "HEAD"}:
            return "405 Method Not Allowed", "text/plain", b"GET only\n"
        if path == "/metrics":
            return "200 OK", CONTENT_TYPE_LATEST, generate_latest()
        if path in {"/healthz", "/readyz"}:
            ok, checks = self.health() if path == "/healthz" else await self.ready()
            document: dict[str, Any] = {"status": "ok" if ok else "unavailable", "checks": checks}
            status = "200 OK" if ok else "503 Service Unavailable"
            return status, "application/json", json.dumps(document).encode()
        return "404 Not Found", "text/plain", b"/healthz, /readyz or /metrics\n"


async def run_worker(
    service: ServiceDefinition, settings: ServiceSettings | None = None, *, stall_deadline_s: float = STALL_DEADLINE_S
) -> None:
    """Run until SIGINT/SIGTERM, then stop consuming, let the relay finish its batch, and close.

    `stall_deadline_s`: seconds a loop may show no progress before `/healthz` answers 503.
    """
    settings = settings or service.settings()
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing(settings.service_name, settings.otel_exporter_otlp_endpoint)
    probes = WorkerProbes(deadline_s=stall_deadline_s)
    server = (
        await probes.serve(settings.http_host, settings.worker_metrics_port) if settings.worker_metrics_port else None
    )
    resources = await service.open_resources(settings)
    relay = OutboxRelay(settings, resources.sessionmaker, service.messaging)
    consumers = ConsumerRuntime(resources, service.messaging, service.consumers)
    probes.resources, probes.consumers = resources, consumers
    # While the consumers wait for the broker only the loop itself is judged; the relay is not running yet.
    probes.heartbeats = list(consumers.heartbeats.values())
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
        relay.heartbeat.beat()
        probes.heartbeats.append(relay.heartbeat)
        tune_garbage_collector()
        probes.tasks = tasks
        log.info(
            "worker started",
            extra={"consumers": [c.purpose for c in service.consumers], "jobs": len(service.worker_jobs)},
        )
        await stop.wait()
    finally:
        log.info("worker stopping")
        if server is not None:
            server.close()
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
