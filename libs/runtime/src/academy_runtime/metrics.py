"""Prometheus metrics every service shares. Business counters live in each service."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "academy_http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
SERVICE_CLIENT_CACHE = Counter(
    "academy_service_client_cache_total",
    "GETs to another service by how the caller's private cache took them (hit: answered from memory, no "
    "request; miss: requested)",
    ["service", "callee", "outcome"],
)
HTTP_LATENCY = Histogram(
    "academy_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS_PUBLISHED = Counter(
    "academy_events_published_total", "Events published by the outbox relay", ["service", "type"]
)
OUTBOX_PUBLISH_LATENCY = Histogram(
    "academy_outbox_commit_to_publish_seconds",
    "Time from an outbox row's insert to the broker's confirm",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30, 120),
)
OUTBOX_OLDEST_AGE = Gauge(
    "academy_outbox_oldest_unpublished_age_seconds", "Age of the oldest event not yet published", ["service"]
)
OUTBOX_PARKED = Counter(
    "academy_outbox_parked_total",
    "Outbox rows the relay parked because they can never be published (reason: oversized, unencodable); "
    "each stays in the outbox with parked_at and last_error set",
    ["service", "type", "reason"],
)
EVENTS_CONSUMED = Counter(
    "academy_events_consumed_total",
    "Events taken from a queue, by outcome (handled, duplicate, ignored, retried, dead_lettered, invalid)",
    ["service", "consumer", "type", "outcome"],
)
HANDLER_LATENCY = Histogram(
    "academy_event_handler_duration_seconds", "Event handler latency", ["service", "consumer", "type"]
)
CONSUMER_BATCH_FALLBACKS = Counter(
    "academy_consumer_batch_fallbacks_total",
    "Event batches rolled back and handled again one event at a time (a handler failed, a deadlock...)",
    ["service", "consumer"],
)
DEAD_LETTERS = Gauge("academy_dead_letters", "Messages waiting in a dead-letter queue", ["service", "queue"])
EVENTS_REFUSED = Counter(
    "academy_events_refused_total",
    "Events refused by the bus checks: stage publish (the relay) or consume (a consumer), by reason "
    "(oversized, unverified_publisher, source_mismatch, routing_key_mismatch, event_id_reused)",
    ["service", "consumer", "stage", "reason"],
)
