"""What a broadcast's tests and load test need of the emulator: chats opened in bulk, 429s injected within
the limits, and the delivery statistics (duplicates, peaks per second overall and per chat)."""

from __future__ import annotations

from academy_tg_emulator import EmulatorClient
from academy_tg_emulator.testing import RawBotApi


async def test_open_chats_lets_the_bot_write_to_users_who_never_wrote(api: RawBotApi, tg: EmulatorClient) -> None:
    assert (await api.refused("sendMessage", chat_id=5_000_001, text="hi"))["description"] == (
        "Bad Request: chat not found"
    )
    await tg.open_chats([5_000_001, 5_000_002], language_code="en")
    await api.ok("sendMessage", chat_id=5_000_001, text="hi")
    await api.ok("sendMessage", chat_id=5_000_002, text="hi")
    assert [m.text for m in await tg.messages(5_000_002)] == ["hi"]
    assert (await tg.calls("getMe")) == []  # no update, no call: only the chats


async def test_every_nth_send_within_the_limits_is_refused_with_retry_after(api: RawBotApi, tg: EmulatorClient) -> None:
    chats = list(range(6_000_001, 6_000_007))
    await tg.open_chats(chats)
    await tg.set_rate_limit(global_per_second=1000, inject_every=3, injected_retry_after=2)
    outcomes = []
    for chat_id in chats:
        body = (await api.http.post(f"/bot{tg.bot_token}/sendMessage", json={"chat_id": chat_id, "text": "x"})).json()
        outcomes.append(body["ok"] or body["parameters"]["retry_after"])
    assert outcomes == [True, True, 2, True, True, 2]
    stats = await tg.send_stats()
    assert stats["messages"] == 4  # the refused ones delivered nothing
    assert (stats["refused_429"], stats["injected_429"], stats["attempts"]) == (0, 2, 6)


async def test_send_stats_count_duplicates_and_peaks(api: RawBotApi, tg: EmulatorClient) -> None:
    await tg.open_chats([7_000_001, 7_000_002, 7_000_003])
    for chat_id in (7_000_001, 7_000_002, 7_000_003, 7_000_001):
        await api.ok("sendMessage", chat_id=chat_id, text="x")
    stats = await tg.send_stats()
    assert stats["messages"] == 4
    assert stats["chats"] == 3
    assert stats["chats_with_more_than_one"] == 1
    assert stats["max_per_chat"] == 2
    assert stats["peak_global"] == 4  # all four within a second
    assert stats["peak_per_chat"] == 2
    assert (stats["peak_global_attempts"], stats["peak_per_chat_attempts"]) == (4, 2)
    await tg.reset()
    assert (await tg.send_stats())["messages"] == 0
