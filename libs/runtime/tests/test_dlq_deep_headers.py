"""A dead letter whose headers nest far deeper than Python's recursion limit is listed and re-driven."""

from __future__ import annotations

import sys

import aio_pika
import pytest
from academy_runtime.amqp_tables import MAX_HEADER_DEPTH, decode_container, render_header
from academy_runtime.bus import bus_user, connection_user
from academy_runtime.consumer import ORIGINAL_KEY_HEADER, ORIGINAL_USER_HEADER
from academy_runtime.dlq import list_dead_letters, redrive_dead_letters
from pamqp import encode

pytestmark = pytest.mark.integration

PURPOSE = "deep-headers"
LEVELS = 800  # 1,600 nested tables and arrays: pamqp's recursive decoder needs ~5,000 frames


def dead_lettered_over_and_over(levels: int) -> dict:
    """x-death as a client that copies it into each re-publish would leave it."""
    death: dict = {"count": 1, "reason": "rejected", "queue": "gamification.progress"}
    for count in range(2, levels + 1):
        death = {"count": count, "reason": "rejected", "x-death": [death]}
    return death


def test_decoding_keeps_every_shallow_value_and_cuts_the_deep_ones() -> None:
    headers = {"x-death": [dead_lettered_over_and_over(50)], "x-dead-letter-reason": "handler_failed"}
    data = encode.field_table(headers)
    consumed, decoded = decode_container(data, b"F", max_depth=6)
    assert consumed == len(data)
    assert decoded["x-dead-letter-reason"] == "handler_failed"
    assert decoded["x-death"][0]["count"] == 50
    assert decoded["x-death"][0]["x-death"][0]["x-death"][0]["count"] == 48
    cut = decoded["x-death"][0]["x-death"][0]["x-death"][0]["x-death"]
    assert cut.startswith("<array nested deeper than 6 levels:")
    assert render_header(decoded["x-death"], max_chars=40).endswith("…")
    assert len(render_header(decoded["x-death"], max_chars=40)) == 40


async def test_dlq_list_shows_a_deeply_nested_dead_letter_and_redrive_moves_it(settings) -> None:
    main = settings.queue_name(PURPOSE)
    connection = await aio_pika.connect(settings.rabbitmq_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(main, durable=True)
        await channel.declare_queue(f"{main}.dlq", durable=True)
        message = aio_pika.Message(
            b'{"type": "progress.lesson_completed.v1"}',
            message_id="evt-deep",
            headers={
                "x-death": [dead_lettered_over_and_over(LEVELS)],
                "x-dead-letter-reason": "handler_failed",
                "x-dead-letter-error": "RuntimeError('boom')",
                "x-attempt": 5,
                # where the consumer records the event's publisher when it dead-letters it
                ORIGINAL_KEY_HEADER: "progress.lesson_completed.v1",
                ORIGINAL_USER_HEADER: bus_user(settings.bus_user_prefix, "progress"),
            },
            user_id=connection_user(settings.rabbitmq_url),  # dead-lettered by the service itself
        )
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(20_000)  # only to build the message: pamqp encodes by recursion too
        try:
            await channel.default_exchange.publish(message, routing_key=f"{main}.dlq")
        finally:
            sys.setrecursionlimit(limit)

        [letter] = await list_dead_letters(settings, PURPOSE)
        assert (letter.message_id, letter.reason, letter.error, letter.attempts) == (
            "evt-deep",
            "handler_failed",
            "RuntimeError('boom')",
            5,
        )
        assert letter.event_type == "progress.lesson_completed.v1"
        assert letter.headers["x-death"].startswith("[{'count': 800, 'reason': 'rejected', 'x-death': [{'count': 799")
        assert len(letter.headers["x-death"]) <= 2000
        # Listing consumed nothing, and a second listing still works on the same connection kind.
        assert [d.message_id for d in await list_dead_letters(settings, PURPOSE)] == ["evt-deep"]

        assert (await redrive_dead_letters(settings, PURPOSE)).moved == 1
        assert await list_dead_letters(settings, PURPOSE) == []
        queue = await channel.declare_queue(main, passive=True)
        assert queue.declaration_result.message_count == 1
    finally:
        channel = await connection.channel()
        for name in (main, f"{main}.dlq"):
            await channel.queue_delete(name)
        await connection.close()
    # The redriven copy keeps the deep headers only down to the bound, so the next reader copes too.
    assert MAX_HEADER_DEPTH < LEVELS
