"""POST /internal/learners/{user_id}/transcript: a PDF of completed courses in S3, behind a presigned link."""

import io
import re
from datetime import UTC, datetime

import httpx
import pytest
from academy_progress.models import UserTranscript
from academy_progress.transcripts.pdf import render_transcript_pdf
from academy_runtime.storage import object_storage
from pypdf import PdfReader
from sqlalchemy import select

pytestmark = pytest.mark.integration

ANNA = 42


@pytest.fixture(autouse=True)
async def _registered_learners(register_learners):
    """The learners these tests write for, registered (an unknown one gets 404 `learner_not_found`)."""
    await register_learners(ANNA)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


async def _download(url: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(url)


async def _finish(api, course_id: int, lesson_ids: tuple[int, ...]) -> None:
    assert (await api.post(f"/internal/learners/{ANNA}/enrolments", json={"course_id": course_id})).status_code == 200
    for lesson_id in lesson_ids:
        assert (await api.post(f"/internal/learners/{ANNA}/lessons/{lesson_id}/complete")).status_code == 200


@pytest.fixture
async def courses(project_course, make_course_event):
    await project_course(make_course_event(5, lesson_ids=(51, 52), title="Аппаратный маникюр для начинающих"))
    await project_course(make_course_event(6, lesson_ids=(61,), title="Ламинирование ресниц"))
    await project_course(make_course_event(7, lesson_ids=(71,), title="Курс, который не закончен"))


async def test_the_transcript_names_the_completed_course_and_downloads(api, resources, courses, users_avatars):
    users_avatars.names[ANNA] = "Анна Смирнова"  # the users service's, read when the PDF is rendered
    await _finish(api, 5, (51, 52))
    await _finish(api, 7, ())  # enrolled, not completed: not on the transcript

    response = await api.post(f"/internal/learners/{ANNA}/transcript", json={"language": "ru"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert [(c["course_id"], c["title"], c["duration_hours"]) for c in body["courses"]] == [
        (5, "Аппаратный маникюр для начинающих", 6)
    ]
    assert body["total_hours"] == 6
    assert body["regenerated"] is True
    assert body["object_key"].startswith(f"transcripts/{ANNA}/")
    download = await _download(body["download_url"])
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    text = pdf_text(download.content)
    assert "Аппаратный маникюр" in text
    assert "Анна Смирнова" in text
    assert "Маникюр" in text  # the category, in words
    assert "не закончен" not in text
    async with resources.sessionmaker() as session:
        row = (await session.execute(select(UserTranscript).where(UserTranscript.user_id == ANNA))).scalar_one()
    assert row.object_key == body["object_key"]
    assert row.transcript_data["courses"][0]["title"] == "Аппаратный маникюр для начинающих"
    assert row.transcript_data["total_hours"] == 6


async def test_an_unchanged_transcript_is_not_rendered_again_and_a_changed_one_is(api, resources, courses):
    await _finish(api, 5, (51, 52))
    first = (await api.post(f"/internal/learners/{ANNA}/transcript")).json()
    again = (await api.post(f"/internal/learners/{ANNA}/transcript")).json()
    await _finish(api, 6, (61,))
    changed = (await api.post(f"/internal/learners/{ANNA}/transcript")).json()

    assert again["regenerated"] is False
    assert again["object_key"] == first["object_key"]
    assert again["generated_at"] == first["generated_at"]
    assert changed["regenerated"] is True
    assert changed["object_key"] != first["object_key"]
    assert changed["total_hours"] == 12
    text = pdf_text((await _download(changed["download_url"])).content)
    assert "Аппаратный маникюр" in text
    assert "Ламинирование ресниц" in text


async def test_a_missing_object_is_rendered_again(api, resources, courses):
    await _finish(api, 5, (51, 52))
    first = (await api.post(f"/internal/learners/{ANNA}/transcript")).json()
    storage = object_storage(resources)
    await storage.client.remove_object(storage.bucket, first["object_key"])

    again = (await api.post(f"/internal/learners/{ANNA}/transcript")).json()

    assert again["regenerated"] is True
    assert (await _download(again["download_url"])).status_code == 200


async def test_no_completed_course_is_404(api, resources, courses):
    await _finish(api, 7, ())

    response = await api.post(f"/internal/learners/{ANNA}/transcript")

    assert response.status_code == 404
    async with resources.sessionmaker() as session:
        assert (await session.execute(select(UserTranscript))).first() is None


async def test_invalid_body_is_422(api):
    response = await api.post(f"/internal/learners/{ANNA}/transcript", json={"full_name": ""})

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body.full_name"


def test_dates_are_shown_in_the_learners_time_zone():
    completed = datetime(2026, 3, 5, 22, 30, tzinfo=UTC)  # already 6 March in Vladivostok
    data = {
        "user_id": 1,
        "full_name": None,
        "timezone": "Asia/Vladivostok",
        "total_hours": 0,
        "courses": [
            {
                "course_id": 9,
                "title": None,
                "category": "podology",
                "enrolled_at": completed.isoformat(),
                "completed_at": completed.isoformat(),
                "duration_hours": None,
            }
        ],
    }

    text = pdf_text(render_transcript_pdf(data))

    assert "06.03.2026" in text
    assert "Курс №9" in text
    assert "Подология" in text
    assert "Учащийся №1" in text


async def test_the_transcript_is_in_english_for_an_english_learner(api, resources, courses, users_avatars):
    users_avatars.names[ANNA] = "Anna Smirnova"
    await _finish(api, 5, (51, 52))
    await _finish(api, 6, (61,))

    response = await api.post(f"/internal/learners/{ANNA}/transcript", json={"language": "en"})

    assert response.status_code == 200, response.text
    assert response.json()["language"] == "en"
    text = pdf_text((await _download(response.json()["download_url"])).content)
    for words in ("Learning transcript", "Learner: Anna Smirnova", "Completed: 2 courses, 12 hours of learning"):
        assert words in text
    for words in ("Course", "Category", "Started", "Completed", "Hours", "Total", "Manicure"):
        assert words in text
    assert re.search(r"\b[A-Z][a-z]{2} \d{1,2}, \d{4}\b", text)  # dates as "Mar 1, 2026"
    assert "Аппаратный маникюр" in text  # the catalog's title, as it is
    for russian in ("Справка", "Учащийся", "Категория", "Итого", "Маникюр"):
        assert russian not in text


async def test_the_russian_transcript_says_spravka_like_the_bot_with_russian_plurals(api, resources, courses):
    await _finish(api, 5, (51, 52))
    await _finish(api, 6, (61,))

    response = await api.post(f"/internal/learners/{ANNA}/transcript", json={"language": "ru"})

    assert response.json()["language"] == "ru"
    text = pdf_text((await _download(response.json()["download_url"])).content)
    assert "Справка об обучении" in text
    assert "выписка" not in text.lower()
    assert "Пройдено: 2 курса, 12 часов обучения" in text


async def test_a_stored_russian_pdf_is_never_handed_out_for_an_english_request(api, resources, courses):
    await _finish(api, 5, (51, 52))
    russian = (await api.post(f"/internal/learners/{ANNA}/transcript")).json()

    english = (await api.post(f"/internal/learners/{ANNA}/transcript", json={"language": "en-GB"})).json()
    russian_again = (await api.post(f"/internal/learners/{ANNA}/transcript", json={"language": "ru"})).json()

    assert russian["language"] == "ru"
    assert english["language"] == "en"
    assert english["regenerated"] is True
    assert english["object_key"] != russian["object_key"]
    assert "Learning transcript" in pdf_text((await _download(english["download_url"])).content)
    # Same content, same language: the same object as the first time, with Russian in it.
    assert russian_again["object_key"] == russian["object_key"]
    assert "Справка об обучении" in pdf_text((await _download(russian_again["download_url"])).content)


async def test_another_language_gets_the_russian_transcript(api, resources, courses):
    await _finish(api, 5, (51, 52))

    response = await api.post(f"/internal/learners/{ANNA}/transcript", json={"language": "uk"})

    assert response.status_code == 200
    assert response.json()["language"] == "ru"


async def test_a_malformed_language_is_422(api):
    response = await api.post(f"/internal/learners/{ANNA}/transcript", json={"language": "english please"})

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body.language"
