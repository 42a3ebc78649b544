"""The transcript's avatar from the real users service: its app (migrations, S3, its caller rules) runs in
this process and listens on a local port; a learner registered there sets an avatar through its API, and
progress's own users client fetches it, and the learner's full name, over HTTP as `progress` (which the
users service must admit on both endpoints)."""

import asyncio
import io
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from academy_progress.clients import USERS_EXTRA, UsersClient
from academy_runtime.auth import TokenCache
from academy_runtime.inprocess import InProcessStack
from academy_runtime.migrations import migrate
from academy_runtime.testing import TestPlatform, cleanup_broker, service_token
from academy_users.app import service as users_service
from PIL import Image
from pypdf import PdfReader

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def users_url(platform: TestPlatform, resources) -> AsyncIterator[str]:
    """The users service's app on a real port, with its own schema, queues and bucket prefix."""
    stack = InProcessStack(platform, [users_service])
    async with stack:
        users = stack["users"]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(users.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await asyncio.sleep(0.01)
        queues, database_url = stack.queue_names(), users.settings.database_url
        yield f"http://127.0.0.1:{port}"
        server.should_exit = True
        await task
    await cleanup_broker(platform.infra.rabbitmq_url, platform.run_id, queues, delete_exchange=False)
    # The other tests of progress expect no users tables in the run's database.
    await asyncio.to_thread(migrate, users_service, "downgrade", "base", database_url=database_url)


@pytest.fixture
async def users_as_gateway(users_url: str, platform: TestPlatform) -> AsyncIterator[httpx.AsyncClient]:
    token = service_token(platform, caller="gateway-bot", audience="users")
    async with httpx.AsyncClient(
        base_url=users_url, headers={"authorization": f"Bearer {token}"}, timeout=20
    ) as client:
        yield client


@pytest.fixture
async def progress_calls_users(resources, users_url: str) -> AsyncIterator[None]:
    """Progress's users client, as its start-up hook makes it, pointed at the users service above."""
    replaced = resources.extras.get(USERS_EXTRA)
    client = UsersClient("users", users_url, TokenCache.from_settings(resources.settings), retries=0)
    resources.extras[USERS_EXTRA] = client
    yield
    await client.aclose()
    resources.extras[USERS_EXTRA] = replaced


def _png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), colour).save(buffer, "PNG")
    return buffer.getvalue()


async def _transcript_pictures(api, user_id: int) -> tuple[dict, list[Image.Image]]:
    response = await api.post(f"/internal/learners/{user_id}/transcript")
    assert response.status_code == 200, response.text
    async with httpx.AsyncClient() as client:
        pdf = (await client.get(response.json()["download_url"])).content
    reader = PdfReader(io.BytesIO(pdf))
    # The name is the one registered in users, read by progress as `progress` (users admits it).
    assert "Анна Смирнова" in "".join(page.extract_text() or "" for page in reader.pages)
    return response.json(), [p.image for page in reader.pages for p in page.images]


async def test_the_avatar_a_learner_set_in_users_is_on_their_transcript_and_goes_when_deleted(
    api, users_as_gateway, progress_calls_users, register_learners, project_course, make_course_event
):
    registered = await users_as_gateway.post(
        "/internal/users/register",
        json={
            "telegram_id": 880_777,
            "full_name": "Анна Смирнова",
            "phone": "+79161230777",
            "city": "Москва",
            "consent": {"version": "1", "accepted_at": "2026-01-01T00:00:00Z"},
        },
    )
    assert registered.status_code == 200, registered.text
    user_id = registered.json()["learner"]["id"]
    uploaded = await users_as_gateway.post(
        f"/internal/users/{user_id}/avatars", content=_png((255, 128, 0)), headers={"content-type": "image/png"}
    )
    assert uploaded.status_code == 201, uploaded.text
    await register_learners(user_id)
    await project_course(make_course_event(5, lesson_ids=(51,)))
    assert (await api.post(f"/internal/learners/{user_id}/enrolments", json={"course_id": 5})).status_code == 200
    assert (await api.post(f"/internal/learners/{user_id}/lessons/51/complete")).status_code == 200

    with_avatar, pictures = await _transcript_pictures(api, user_id)

    [picture] = pictures
    red, green, blue = picture.convert("RGB").getpixel((picture.width // 2, picture.height // 2))
    assert max(abs(red - 255), abs(green - 128), abs(blue - 0)) < 12  # users' WEBP is lossy

    deleted = await users_as_gateway.delete(f"/internal/users/{user_id}/avatars/current")
    assert deleted.status_code == 204, deleted.text

    without, pictures = await _transcript_pictures(api, user_id)

    assert pictures == []
    assert without["regenerated"] is True
    assert without["object_key"] != with_avatar["object_key"]
