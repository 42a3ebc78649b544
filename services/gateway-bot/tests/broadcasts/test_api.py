"""Issue 12: the operators' broadcast API — who may call it, what it refuses (422 with the reason, never a
500), 404s, the list, the preview (to the operator only, no recipient listed) and scheduling."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from academy_runtime.testing import api_client, operator_token, service_token
from academy_tg_emulator.client import TestUser

from .support import create, recipients

pytestmark = pytest.mark.integration

_VALID = {"text_ru": "Привет", "segment": {"kind": "everyone"}}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"text_ru": "", "segment": {"kind": "everyone"}}, "at least 1 character"),
        ({"text_ru": "   ", "segment": {"kind": "everyone"}}, "empty_text"),
        ({"text_ru": "<b></b>", "segment": {"kind": "everyone"}}, "empty_text"),
        ({"text_ru": "я" * 4097, "segment": {"kind": "everyone"}}, "text_too_long"),
        (
            {"text_ru": "я" * 1025, "photo": "https://example.com/a.jpg", "segment": {"kind": "everyone"}},
            "text_too_long",
        ),
        ({"text_ru": "<b>жирный", "segment": {"kind": "everyone"}}, "bad_html"),
        ({"text_ru": "<script>x</script>", "segment": {"kind": "everyone"}}, "bad_html"),
        ({"text_ru": "a < b", "segment": {"kind": "everyone"}}, "bad_html"),
        ({"text_ru": "ok", "text_en": "<i>x</b>", "segment": {"kind": "everyone"}}, "bad_html"),
        ({"text_ru": "строка\x07", "segment": {"kind": "everyone"}}, "control_characters"),
        ({"text_ru": "ok", "segment": {"kind": "planet", "value": "Марс"}}, None),
        ({"text_ru": "ok", "segment": {"kind": "inactive", "value": 0}}, None),
        ({"text_ru": "ok", "segment": {"kind": "inactive", "value": -3}}, None),
        ({"text_ru": "ok", "segment": {"kind": "inactive", "value": "7"}}, None),
        ({"text_ru": "ok", "segment": {"kind": "course", "value": 2**31}}, None),
        ({"text_ru": "ok", "segment": {"kind": "city"}}, None),
        ({"text_ru": "ok", "segment": {"kind": "everyone", "value": "x"}}, None),
        ({"text_ru": "ok", "photo": "not a photo!", "segment": {"kind": "everyone"}}, "bad_photo"),
        (
            {
                "text_ru": "ok",
                "button": {"url": "javascript:alert(1)", "text_ru": "x"},
                "segment": {"kind": "everyone"},
            },
            "bad_url",
        ),
        ({"text_ru": "ok", "button": {"url": "https://x.ru", "text_ru": ""}, "segment": {"kind": "everyone"}}, None),
        ({"segment": {"kind": "everyone"}}, None),
        ({"text_ru": "ok", "segment": {"kind": "everyone"}, "surprise": 1}, None),
    ],
)
async def test_bad_broadcasts_are_422(broadcaster, body, reason):
    response = await broadcaster.post("/internal/broadcasts", json=body)
    assert response.status_code == 422, response.text
    if reason is not None:
        assert reason in response.text


async def test_the_limit_counts_the_text_telegram_shows_not_the_markup(broadcaster):
    body = {"text_ru": "<b>" + "я" * 4096 + "</b>", "segment": {"kind": "everyone"}}
    assert (await broadcaster.post("/internal/broadcasts", json=body)).status_code == 201
    emoji = {"text_ru": "😀" * 2049, "segment": {"kind": "everyone"}}  # 4098 UTF-16 code units
    assert (await broadcaster.post("/internal/broadcasts", json=emoji)).status_code == 422


async def test_nul_bytes_and_malformed_bodies_are_4xx(broadcaster):
    nul = await broadcaster.post("/internal/broadcasts", json={"text_ru": "a\x00b", "segment": {"kind": "everyone"}})
    assert 400 <= nul.status_code < 500
    garbage = await broadcaster.post(
        "/internal/broadcasts", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert 400 <= garbage.status_code < 500


async def test_unknown_ids_are_404_and_bad_ids_422(broadcaster):
    assert (await broadcaster.get("/internal/broadcasts/2147483000")).status_code == 404
    assert (await broadcaster.post("/internal/broadcasts/2147483000/send")).status_code == 404
    assert (await broadcaster.post("/internal/broadcasts/2147483000/preview", json={"chat_id": 1})).status_code == 404
    assert (await broadcaster.get("/internal/broadcasts/0")).status_code == 422
    assert (await broadcaster.get(f"/internal/broadcasts/{2**31}")).status_code == 422
    assert (await broadcaster.get("/internal/broadcasts/abc")).status_code == 422


async def test_only_broadcasters_call_it(service, resources, platform):
    support = operator_token(platform, name="sam", roles=("support",), audience="gateway-bot")
    async with api_client(service, resources, support) as client:
        assert (await client.get("/internal/broadcasts")).status_code == 403
    users = service_token(platform, caller="users", audience="gateway-bot")
    async with api_client(service, resources, users) as client:
        assert (await client.post("/internal/broadcasts", json=_VALID)).status_code == 403


async def test_the_list_is_newest_first_and_paged(broadcaster):
    ids = [(await create(broadcaster, text_ru=f"Новость {n}"))["id"] for n in range(3)]
    first = (await broadcaster.get("/internal/broadcasts", params={"limit": 2})).json()
    assert [item["id"] for item in first["items"]] == ids[::-1][:2]
    assert first["next_before_id"] == ids[1]
    rest = (await broadcaster.get("/internal/broadcasts", params={"limit": 2, "before_id": ids[1]})).json()
    assert rest["items"][0]["id"] == ids[0]
    drafts = (await broadcaster.get("/internal/broadcasts", params={"status": "draft", "limit": 100})).json()
    assert all(item["status"] == "draft" for item in drafts["items"])
    assert (await broadcaster.get("/internal/broadcasts", params={"status": "lost"})).status_code == 422


async def test_preview_goes_to_the_operator_only(broadcaster, tg, resources):
    operator = TestUser.new("Ольга")
    await tg.open_chats([operator.id])
    created = await create(
        broadcaster,
        text_ru="Скидка <b>20%</b>",
        text_en="<b>20%</b> off",
        button={"url": "https://example.com", "text_ru": "Подробнее"},
    )
    response = await broadcaster.post(f"/internal/broadcasts/{created['id']}/preview", json={"chat_id": operator.id})
    assert response.status_code == 200, response.text
    assert [m["locale"] for m in response.json()["messages"]] == ["ru", "en"]
    texts = [m.text for m in await tg.messages(operator.id)]
    assert texts == ["Скидка 20%", "20% off"]
    english = (await tg.messages(operator.id))[1]
    assert english.inline_buttons()[0]["text"] == "Подробнее"  # no English label: the Russian one
    assert await recipients(resources, created["id"]) == {}
    assert (await broadcaster.get(f"/internal/broadcasts/{created['id']}")).json()["status"] == "draft"

    nobody = await broadcaster.post(f"/internal/broadcasts/{created['id']}/preview", json={"chat_id": 999_999_999_999})
    assert nobody.status_code == 422
    assert nobody.json()["error"]["code"] == "preview_undeliverable"
    no_chat = await broadcaster.post(f"/internal/broadcasts/{created['id']}/preview", json={})
    assert no_chat.status_code == 422  # olga has no preview chat configured


async def test_a_scheduled_broadcast_waits_for_its_moment(broadcaster):
    created = await create(broadcaster)
    url = f"/internal/broadcasts/{created['id']}"
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    scheduled = (await broadcaster.post(f"{url}/send", json={"scheduled_at": later})).json()
    assert scheduled["status"] == "scheduled"
    assert (await broadcaster.post(f"{url}/send")).status_code == 409
    assert (await broadcaster.post(f"{url}/pause")).json()["status"] == "paused"
    assert (await broadcaster.post(f"{url}/resume")).json()["status"] == "scheduled"  # its moment is still ahead
    assert (await broadcaster.post(f"{url}/cancel")).json()["status"] == "cancelled"
    naive = await broadcaster.post(
        f"/internal/broadcasts/{(await create(broadcaster))['id']}/send", json={"scheduled_at": "2030-01-01T10:00:00"}
    )
    assert naive.status_code == 422
    # A moment past what can be stored (its UTC is in year 10000: it was a 500) or years ahead: a 422 saying why.
    for moment in ("9999-12-31T23:59:59-00:01", "9999-12-31T23:59:59+00:00", "2100-01-01T00:00:00+03:00"):
        far = await broadcaster.post(
            f"/internal/broadcasts/{(await create(broadcaster))['id']}/send", json={"scheduled_at": moment}
        )
        assert far.status_code == 422, (moment, far.text)
        assert "schedule_too_far" in far.text


async def test_a_create_repeated_with_its_idempotency_key_answers_the_first_draft(broadcaster):
    """A form submitted twice (a double click, a retry) makes one draft, not two that would each be sent
    (QA: four concurrent posts of one console form made four broadcasts)."""
    body = {"text_ru": "Один раз", "segment": {"kind": "everyone"}}
    headers = {"Idempotency-Key": "console-form-7f3a"}
    answers = await asyncio.gather(
        *(broadcaster.post("/internal/broadcasts", json=body, headers=headers) for _ in range(4))
    )
    created = [a.json()["id"] for a in answers if a.status_code == 201]
    assert created
    assert len(set(created)) == 1, [a.text for a in answers]
    assert all(a.status_code in (201, 409) for a in answers), [a.text for a in answers]
    again = await broadcaster.post("/internal/broadcasts", json=body, headers=headers)
    assert (again.status_code, again.json()["id"]) == (201, created[0])
    other = await broadcaster.post("/internal/broadcasts", json=body | {"text_ru": "Другое"}, headers=headers)
    assert other.status_code == 422  # the key came with another request
