"""The transcript shows the learner's current avatar (issue 10), fetched from the users service over HTTP.

The avatar endpoint (`GET /internal/users/{id}/avatar?size=small`) is served here by `avatar_server`, a
real HTTP server on a local port that checks progress's token as the users service does; progress's own
users client calls it, and the picture found in the PDF is the one served. Without an avatar, with the
avatar endpoint failing, or with an answer that is not a small WEBP picture, the transcript is produced all
the same (users unreachable altogether is a 503: the name is missing too, `test_transcript_name.py`).
"""

import io

import httpx
import pytest
from academy_progress.models import UserTranscript
from PIL import Image
from prometheus_client import REGISTRY
from pypdf import PdfReader
from sqlalchemy import select

pytestmark = pytest.mark.integration

ANNA = 42
ORANGE = (255, 128, 0)
TEAL = (0, 128, 128)


@pytest.fixture(autouse=True)
async def _finished_course(register_learners, project_course, make_course_event, api):
    await register_learners(ANNA)
    await project_course(make_course_event(5, lesson_ids=(51,), title="Аппаратный маникюр"))
    assert (await api.post(f"/internal/learners/{ANNA}/enrolments", json={"course_id": 5})).status_code == 200
    assert (await api.post(f"/internal/learners/{ANNA}/lessons/51/complete")).status_code == 200


async def _pdf(api) -> tuple[dict, bytes]:
    response = await api.post(f"/internal/learners/{ANNA}/transcript", json={"full_name": "Анна Смирнова"})
    assert response.status_code == 200, response.text
    body = response.json()
    async with httpx.AsyncClient() as client:
        download = await client.get(body["download_url"])
    assert download.status_code == 200
    return body, download.content


def _pictures(pdf: bytes) -> list[Image.Image]:
    return [picture.image for page in PdfReader(io.BytesIO(pdf)).pages for picture in page.images]


def _avatar_lookups(outcome: str) -> float:
    return REGISTRY.get_sample_value("academy_progress_transcript_avatars_total", {"outcome": outcome}) or 0.0


def _colour(picture: Image.Image) -> tuple[int, ...]:
    return picture.convert("RGB").getpixel((picture.width // 2, picture.height // 2))


async def test_the_learners_avatar_is_drawn_on_the_transcript(api, users_avatars, make_avatar):
    users_avatars.avatars[ANNA] = make_avatar(ORANGE)

    body, pdf = await _pdf(api)

    [picture] = _pictures(pdf)
    assert _colour(picture) == ORANGE
    assert users_avatars.asked == [(ANNA, "small", "progress")]  # signed by progress, for users
    assert "Аппаратный маникюр" in "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert body["regenerated"] is True


async def test_a_new_avatar_renders_the_transcript_again_and_the_same_one_does_not(
    api, resources, users_avatars, make_avatar
):
    users_avatars.avatars[ANNA] = make_avatar(ORANGE)
    first, _ = await _pdf(api)
    same, _ = await _pdf(api)
    users_avatars.avatars[ANNA] = make_avatar(TEAL)

    changed, pdf = await _pdf(api)

    assert (same["regenerated"], same["object_key"]) == (False, first["object_key"])
    assert changed["regenerated"] is True
    assert changed["object_key"] != first["object_key"]
    [picture] = _pictures(pdf)
    assert _colour(picture) == TEAL
    async with resources.sessionmaker() as session:
        row = await session.scalar(select(UserTranscript).where(UserTranscript.user_id == ANNA))
    assert "avatar" not in row.transcript_data  # not even the picture's hash: the keyed digest stands for it


async def test_a_learner_without_an_avatar_gets_a_transcript_without_a_picture(api, users_avatars):
    body, pdf = await _pdf(api)

    assert _pictures(pdf) == []
    assert users_avatars.asked == [(ANNA, "small", "progress")]
    assert body["courses"][0]["course_id"] == 5


async def test_the_transcript_is_made_when_the_users_avatar_endpoint_fails(api, users_avatars, make_avatar):
    # Unlike the name (tests/transcripts/test_transcript_name.py), the picture is not worth a refusal.
    users_avatars.avatars[ANNA] = make_avatar(ORANGE)
    users_avatars.avatars_failing = True
    unavailable = _avatar_lookups("unavailable")

    body, pdf = await _pdf(api)

    assert _pictures(pdf) == []
    assert body["regenerated"] is True
    assert _avatar_lookups("unavailable") == unavailable + 1


@pytest.mark.parametrize(
    ("content_type", "picture"),
    [
        ("image/png", "webp"),  # not the type progress asked for
        ("image/webp", "not a picture"),  # says WEBP, is not an image
        ("image/webp", "huge"),  # more pixels a side than progress draws
        ("image/webp", "heavy"),  # more bytes than AVATAR_MAX_BYTES: not read past the limit
    ],
)
async def test_an_answer_that_is_not_a_small_webp_picture_is_not_drawn(
    api, resources, users_avatars, make_avatar, content_type, picture
):
    settings = resources.settings
    users_avatars.content_type = content_type
    users_avatars.avatars[ANNA] = {
        "webp": make_avatar(ORANGE),
        "not a picture": b"RIFF\x00\x00\x00\x00WEBPnonsense",
        "huge": make_avatar(ORANGE, size=settings.avatar_max_side_px + 1),
        "heavy": b"\x00" * (settings.avatar_max_bytes + 1),
    }[picture]
    refused = _avatar_lookups("refused")

    body, pdf = await _pdf(api)

    assert _pictures(pdf) == []
    assert body["regenerated"] is True
    assert _avatar_lookups("refused") == refused + 1
