"""Avatars through the API (issue 10): real PostgreSQL, the outbox, and a real S3 server (moto or MinIO at
TEST_S3_ENDPOINT): set, history, go back, delete, the images, the limits, erasure and export."""

from __future__ import annotations

import io

import httpx
import pytest
from academy_runtime.after_commit import wait_for_after_commit_jobs
from academy_runtime.db import transaction
from academy_runtime.http import create_app
from academy_runtime.storage import object_storage
from academy_runtime.testing import api_client, operator_token, service_token
from academy_users.avatars import service
from academy_users.avatars.service import avatar_keys
from academy_users.models import AuditLog, UserAvatar, messaging
from PIL import ExifTags, Image
from sqlalchemy import func, select

from .test_images import BLUE, RED, close_to, encoded, halves, phone_photo, png_declaring
from .test_registration import registration

pytestmark = pytest.mark.integration

JPEG, PNG = "image/jpeg", "image/png"


@pytest.fixture(autouse=True)
async def _no_avatar_objects(resources):
    """Learner and avatar ids start again at 1 in every test (the tables are emptied); their objects in the
    run's bucket would outlive them."""
    await object_storage(resources).remove_prefix("avatars/")


async def _registered(api, telegram_id: int) -> int:
    response = await api.post("/internal/users/register", json=registration(telegram_id))
    assert response.status_code == 200, response.text
    return response.json()["learner"]["id"]


async def _upload(api, user_id: int, data: bytes, content_type: str = PNG, **headers: str) -> httpx.Response:
    return await api.post(
        f"/internal/users/{user_id}/avatars", content=data, headers={"content-type": content_type, **headers}
    )


async def _set(api, user_id: int, colour: tuple[int, int, int] = RED) -> dict:
    response = await _upload(api, user_id, encoded(Image.new("RGB", (300, 300), colour), "PNG"))
    assert response.status_code == 201, response.text
    return response.json()


async def _objects(resources, user_id: int) -> list[str]:
    storage = object_storage(resources)
    await storage.ensure_bucket()
    listed = storage.client.list_objects(storage.bucket, prefix=f"avatars/{user_id}/", recursive=True)
    return sorted([obj.object_name async for obj in listed if obj.object_name])


async def _events(resources, user_id: int) -> list[tuple[str, dict]]:
    async with resources.sessionmaker() as session:
        rows = (
            await session.execute(
                select(messaging.outbox.c.event_type, messaging.outbox.c.payload)
                .where(messaging.outbox.c.event_type.like("users.avatar_%"))
                .order_by(messaging.outbox.c.id)
            )
        ).all()
    return [(row.event_type, row.payload["data"]) for row in rows if row.payload["data"]["user_id"] == user_id]


async def _audit(resources, user_id: int) -> list[tuple[str, str, dict, str | None]]:
    async with resources.sessionmaker() as session:
        stmt = (
            select(AuditLog.actor, AuditLog.action, AuditLog.details, AuditLog.reason)
            .where(AuditLog.user_id == user_id, AuditLog.action.like("avatar%"))
            .order_by(AuditLog.id)
        )
        return [(row.actor, row.action, row.details, row.reason) for row in (await session.execute(stmt)).all()]


async def _rows(resources, user_id: int) -> int:
    async with resources.sessionmaker() as session:
        return (
            await session.execute(select(func.count()).select_from(UserAvatar).where(UserAvatar.user_id == user_id))
        ).scalar_one()


async def test_a_photo_is_stored_as_sent_and_served_upright_without_metadata(api, resources):
    user_id = await _registered(api, 7001)
    photo = phone_photo()

    response = await _upload(api, user_id, photo, JPEG)

    assert response.status_code == 201, response.text
    avatar = response.json()
    assert {k: v for k, v in avatar.items() if k not in {"id", "created_at"}} == {
        "is_current": True,
        "content_type": "image/webp",
        "width": 200,
        "height": 200,
        "size_bytes": avatar["size_bytes"],
        "original_content_type": JPEG,
        "original_size_bytes": len(photo),
    }
    keys = avatar_keys(user_id, avatar["id"])
    assert await _objects(resources, user_id) == sorted(keys.all)
    storage = object_storage(resources)
    assert await storage.get_bytes(keys.original) == photo  # the original, as uploaded
    for size in ("large", "small"):
        shown = await api.get(f"/internal/users/{user_id}/avatar", params={"size": size})
        assert shown.status_code == 200, shown.text
        assert shown.headers["content-type"] == "image/webp"
        assert shown.content == await storage.get_bytes(keys.of_size(size))
        image = Image.open(io.BytesIO(shown.content))
        assert image.size == ((200, 200) if size == "large" else (128, 128))
        assert close_to(image.convert("RGB").getpixel((image.width // 2, image.height // 4)), RED)
        assert close_to(image.convert("RGB").getpixel((image.width // 2, 3 * image.height // 4)), BLUE)
        assert dict(image.getexif()) == {}
        assert b"Exif" not in shown.content
        assert b"PhoneMaker" not in shown.content
    assert avatar["size_bytes"] == len(await storage.get_bytes(keys.large))
    by_id = await api.get(f"/internal/users/{user_id}/avatars/{avatar['id']}/image", params={"size": "small"})
    assert by_id.content == await storage.get_bytes(keys.small)


async def test_history_newest_first_going_back_and_the_events(api, resources):
    user_id = await _registered(api, 7002)
    first = await _set(api, user_id, RED)
    second = await _set(api, user_id, BLUE)

    history = (await api.get(f"/internal/users/{user_id}/avatars")).json()
    assert [(a["id"], a["is_current"]) for a in history] == [(second["id"], True), (first["id"], False)]

    back = await api.put(f"/internal/users/{user_id}/avatars/current", json={"avatar_id": first["id"]})
    assert back.status_code == 200, back.text
    assert back.json()["is_current"] is True
    history = (await api.get(f"/internal/users/{user_id}/avatars")).json()
    assert [(a["id"], a["is_current"]) for a in history] == [(second["id"], False), (first["id"], True)]
    current = Image.open(io.BytesIO((await api.get(f"/internal/users/{user_id}/avatar")).content))
    assert close_to(current.convert("RGB").getpixel((10, 10)), RED)
    # Going back to the current one again changes nothing and tells nobody.
    again = await api.put(f"/internal/users/{user_id}/avatars/current", json={"avatar_id": first["id"]})
    assert again.status_code == 200

    events = await _events(resources, user_id)
    assert [(kind, data["avatar_id"]) for kind, data in events] == [
        ("users.avatar_updated.v1", first["id"]),
        ("users.avatar_updated.v1", second["id"]),
        ("users.avatar_updated.v1", first["id"]),
    ]
    assert events[0][1] | {"updated_at": None} == {
        "user_id": user_id,
        "avatar_id": first["id"],
        "object_key": f"avatars/{user_id}/{first['id']}/large.webp",
        "content_type": "image/webp",
        "width": 300,
        "height": 300,
        "updated_at": None,
    }
    assert await _audit(resources, user_id) == [
        ("gateway-bot", "avatar_set", {"avatar_id": first["id"]}, "learner_request"),
        ("gateway-bot", "avatar_set", {"avatar_id": second["id"]}, "learner_request"),
        ("gateway-bot", "avatar_restored", {"avatar_id": first["id"]}, "learner_request"),
    ]


async def test_an_avatar_whose_images_are_gone_is_not_made_current_again(api, resources):
    user_id = await _registered(api, 7012)
    first = await _set(api, user_id, RED)
    second = await _set(api, user_id, BLUE)
    # The bucket lost the first avatar's images (a restore from an older backup; moto after a restart).
    await object_storage(resources).remove_prefix(f"avatars/{user_id}/{first['id']}/")

    back = await api.put(f"/internal/users/{user_id}/avatars/current", json={"avatar_id": first["id"]})

    assert back.status_code == 404, back.text
    assert back.json()["error"]["code"] == "avatar_not_found"
    history = (await api.get(f"/internal/users/{user_id}/avatars")).json()
    assert [(a["id"], a["is_current"]) for a in history] == [(second["id"], True), (first["id"], False)]
    assert [kind for kind, _data in await _events(resources, user_id)] == ["users.avatar_updated.v1"] * 2


async def test_deleting_the_current_avatar_leaves_none_current(api, resources):
    user_id = await _registered(api, 7003)
    kept = await _set(api, user_id, RED)
    removed = await _set(api, user_id, BLUE)

    response = await api.delete(f"/internal/users/{user_id}/avatars/current")

    assert response.status_code == 204, response.text
    history = (await api.get(f"/internal/users/{user_id}/avatars")).json()
    assert [(a["id"], a["is_current"]) for a in history] == [(kept["id"], False)]
    assert await _objects(resources, user_id) == sorted(avatar_keys(user_id, kept["id"]).all)
    for gone in (
        await api.get(f"/internal/users/{user_id}/avatar"),
        await api.get(f"/internal/users/{user_id}/avatars/{removed['id']}/image"),
        await api.delete(f"/internal/users/{user_id}/avatars/current"),
    ):
        assert gone.status_code == 404
        assert gone.json()["error"]["code"] == "avatar_not_found"
    (kind, data) = (await _events(resources, user_id))[-1]
    assert kind == "users.avatar_removed.v1"
    assert set(data) == {"user_id", "avatar_id", "removed_at"}
    assert data["avatar_id"] == removed["id"]
    assert (await _audit(resources, user_id))[-1] == (
        "gateway-bot",
        "avatar_removed",
        {"avatar_id": removed["id"]},
        "learner_request",
    )
    # The learner can go back to the one kept.
    back = await api.put(f"/internal/users/{user_id}/avatars/current", json={"avatar_id": kept["id"]})
    assert back.status_code == 200


async def test_another_learners_avatar_is_not_found(api, resources):
    anna = await _registered(api, 7004)
    boris = await _registered(api, 7005)
    annas = await _set(api, anna)
    await _set(api, boris, BLUE)

    for answer in (
        await api.put(f"/internal/users/{boris}/avatars/current", json={"avatar_id": annas["id"]}),
        await api.get(f"/internal/users/{boris}/avatars/{annas['id']}/image"),
    ):
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "avatar_not_found"
    assert [a["id"] for a in (await api.get(f"/internal/users/{boris}/avatars")).json()] != [annas["id"]]
    assert (await api.get(f"/internal/users/{anna}/avatars")).json()[0]["is_current"] is True


async def test_an_unknown_learner_is_not_found(api, resources):
    for answer in (
        await _upload(api, 999_999, encoded(halves(40, 40), "PNG")),
        await api.get("/internal/users/999999/avatars"),
        await api.get("/internal/users/999999/avatar"),
        await api.delete("/internal/users/999999/avatars/current"),
    ):
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "learner_not_found"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"Anna's CV, certainly not a picture", PNG, 422, "not_an_image"),
        (encoded(halves(60, 60), "PNG"), JPEG, 422, "image_type_mismatch"),
        (encoded(halves(60, 60), "GIF"), "image/gif", 415, "unsupported_image_type"),
        (encoded(halves(60, 60), "GIF"), PNG, 415, "unsupported_image_type"),
        (encoded(halves(60, 60), "PNG"), "text/plain", 415, "unsupported_image_type"),
        (png_declaring(30_000, 30_000), PNG, 422, "image_too_many_pixels"),
    ],
    ids=["not an image", "png as jpeg", "gif", "gif as png", "text/plain", "decompression bomb"],
)
async def test_a_refused_upload_stores_nothing(api, resources, body, content_type, status, code):
    user_id = await _registered(api, 7006)

    response = await _upload(api, user_id, body, content_type)

    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert await _rows(resources, user_id) == 0
    assert await _objects(resources, user_id) == []
    assert await _events(resources, user_id) == []


async def test_the_upload_takes_more_than_other_routes_up_to_its_own_limit(api, resources, service, platform):
    user_id = await _registered(api, 7007)
    # An uncompressed PNG of about 2.4 MB, over MAX_REQUEST_BODY_BYTES (1 MiB).
    noise = encoded(Image.effect_noise((900, 900), 120).convert("RGB"), "PNG", compress_level=0)
    assert len(noise) > 2 * resources.settings.max_request_body_bytes

    accepted = await _upload(api, user_id, noise)
    elsewhere = await api.patch(
        f"/internal/users/{user_id}", content=b" " * len(noise), headers={"content-type": "application/json"}
    )

    assert accepted.status_code == 201, accepted.text
    assert elsewhere.status_code == 413

    # Past AVATAR_MAX_BYTES: 413, by Content-Length and as it arrives.
    settings = resources.settings.model_copy(update={"avatar_max_bytes": len(noise) - 1})
    app = create_app(service, settings)
    app.state.resources = resources
    token = service_token(platform, caller="gateway-bot", audience="users")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"authorization": f"Bearer {token}"}
    ) as small:

        async def pieces():
            for start in range(0, len(noise), 65536):
                yield noise[start : start + 65536]

        for content in (noise, pieces()):
            refused = await small.post(
                f"/internal/users/{user_id}/avatars", content=content, headers={"content-type": PNG}
            )
            assert refused.status_code == 413, refused.text
            assert refused.json()["error"] == {
                "code": "payload_too_large",
                "message": refused.json()["error"]["message"],
                "details": {"max_bytes": len(noise) - 1},
            }
    assert await _rows(resources, user_id) == 1


async def test_an_idempotency_key_sets_the_avatar_once(api, resources):
    user_id = await _registered(api, 7008)
    picture = encoded(halves(80, 80), "PNG")

    first = await _upload(api, user_id, picture, PNG, **{"idempotency-key": "avatar-7008"})
    again = await _upload(api, user_id, picture, PNG, **{"idempotency-key": "avatar-7008"})
    other = await _upload(api, user_id, encoded(halves(90, 90), "PNG"), PNG, **{"idempotency-key": "avatar-7008"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert other.status_code == 422
    assert await _rows(resources, user_id) == 1
    assert len(await _events(resources, user_id)) == 1
    # The stored answer names its learner, so that an erasure deletes it with them.
    table = messaging.idempotency.table
    async with resources.sessionmaker() as session:
        subject = (await session.execute(select(table.c.subject).where(table.c.key == "avatar-7008"))).scalar_one()
    assert subject == f"user/{user_id}"


class FailedLaterError(Exception):
    """Something after the avatar's row failed in the same transaction."""


async def _set_then_fail(resources, user_id: int) -> None:
    async with transaction(resources.sessionmaker) as session:
        await service.set_avatar(
            session,
            object_storage(resources),
            user_id=user_id,
            data=encoded(halves(50, 50), "PNG"),
            content_type=PNG,
            max_pixels=40_000_000,
            actor="gateway-bot",
            reason="learner_request",
        )
        assert len(await _objects(resources, user_id)) == 3  # stored before the row is committed
        raise FailedLaterError


async def test_an_upload_whose_transaction_rolls_back_leaves_no_object(api, resources):
    user_id = await _registered(api, 7009)

    with pytest.raises(FailedLaterError):
        await _set_then_fail(resources, user_id)
    await wait_for_after_commit_jobs()

    assert await _rows(resources, user_id) == 0
    assert await _objects(resources, user_id) == []
    assert await _events(resources, user_id) == []


async def test_who_may_see_and_change_avatars(api, service, resources, platform):
    user_id = await _registered(api, 7010)
    avatar = await _set(api, user_id)

    async with api_client(service, resources, service_token(platform, caller="progress", audience="users")) as progress:
        assert (await progress.get(f"/internal/users/{user_id}/avatar", params={"size": "small"})).status_code == 200
        assert (await progress.get(f"/internal/users/{user_id}/avatars")).status_code == 403
        assert (await _upload(progress, user_id, encoded(halves(40, 40), "PNG"))).status_code == 403
    finance = operator_token(platform, name="fin", roles=("finance",), audience="users")
    async with api_client(service, resources, finance) as fin:
        assert (await fin.get(f"/internal/users/{user_id}/avatar")).status_code == 403
    olga = operator_token(platform, name="olga", roles=("support",), audience="users")
    why = {"x-audit-reason": "SUP-1234"}
    async with api_client(service, resources, olga) as support:
        # An operator says why, or sees nothing.
        unexplained = await support.get(f"/internal/users/{user_id}/avatars")
        assert unexplained.status_code == 422
        assert unexplained.json()["error"]["code"] == "audit_reason_required"
        assert (await support.get(f"/internal/users/{user_id}/avatars", headers=why)).status_code == 200
        image = await support.get(f"/internal/users/{user_id}/avatars/{avatar['id']}/image", headers=why)
        assert image.status_code == 200
        restore = await support.put(f"/internal/users/{user_id}/avatars/current", json={"avatar_id": avatar["id"]})
        assert restore.status_code == 403
        assert (await support.delete(f"/internal/users/{user_id}/avatars/current", headers=why)).status_code == 204

    # A person's look is recorded by name and reason; the services' reads are not. Ids only, never image data.
    assert await _audit(resources, user_id) == [
        ("gateway-bot", "avatar_set", {"avatar_id": avatar["id"]}, "learner_request"),
        ("operator:olga", "avatars_read", {}, "SUP-1234"),
        ("operator:olga", "avatars_read", {"avatar_id": avatar["id"]}, "SUP-1234"),
        ("operator:olga", "avatar_removed", {"avatar_id": avatar["id"]}, "SUP-1234"),
    ]


async def test_erasure_removes_every_row_and_object_and_the_export_lists_the_history(api, resources):
    anna = await _registered(api, 7011)
    boris = await _registered(api, 7012)
    first = await _set(api, anna, RED)
    second = await _set(api, anna, BLUE)
    await _set(api, boris)
    storage = object_storage(resources)
    await storage.put_bytes(f"avatars/{anna}/999/original", b"an orphan of a failed upload")

    async with resources.sessionmaker() as session:
        history = await service.avatar_history(session, anna)
    assert [(a.id, a.is_current) for a in history] == [(second["id"], True), (first["id"], False)]
    assert "data" not in history[0].model_dump()

    async with transaction(resources.sessionmaker) as session:
        assert await service.erase_avatars(session, storage, anna) == 2

    assert await _rows(resources, anna) == 0
    assert await _objects(resources, anna) == []
    assert len(await _objects(resources, boris)) == 3
    async with resources.sessionmaker() as session:
        assert await service.avatar_history(session, anna) == []
        # Erasing again (a retry after a failed commit) finds nothing and fails at nothing.
        assert await service.erase_avatars(session, storage, anna) == 0


def test_exif_orientation_of_the_fixture_is_set():
    """The photo the tests send really is stored on its side, with a position (else they prove nothing)."""
    exif = Image.open(io.BytesIO(phone_photo())).getexif()
    assert exif[ExifTags.Base.Orientation] == 6
    assert exif.get_ifd(ExifTags.IFD.GPSInfo)
