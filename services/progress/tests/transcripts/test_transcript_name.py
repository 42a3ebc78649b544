"""The learner's full name is on their transcript PDF and nowhere in progress's tables (issue 10).

QA found `user_transcripts.transcript_data` holding `"full_name"` in plain jsonb. Progress now reads the name
from the users service (here its stand-in, `avatar_server`) each time it renders; the PDF in S3 shows it,
the tables keep no trace of it (nor of the phone users also answers with, nor of the avatar). The content
hash is keyed, so it cannot be matched against guessed names, yet a new name still renders the PDF anew.
Users unreachable: 503, nothing stored. The export's listing (`GET .../transcripts`) shows what is held.
"""

import asyncio
import hashlib
import io
import json
from datetime import datetime

import httpx
import pytest
from academy_progress.transcripts.pdf import RENDERER_VERSION
from academy_runtime.migrations import migrate
from academy_runtime.storage import object_storage
from academy_runtime.testing import api_client, operator_token, rows_mentioning
from pypdf import PdfReader
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.integration

FEKLA = 4_242
NAME = "Фёкла Уникальнова"
NEW_NAME = "Фёкла Переименованная"
USERS_PHONE = "+79990000000"  # what the stand-in answers besides the name


@pytest.fixture(autouse=True)
async def _completed_course(register_learners, project_course, make_course_event, api):
    await register_learners(FEKLA)
    await project_course(make_course_event(5, lesson_ids=(51,), title="Аппаратный маникюр"))
    assert (await api.post(f"/internal/learners/{FEKLA}/enrolments", json={"course_id": 5})).status_code == 200
    assert (await api.post(f"/internal/learners/{FEKLA}/lessons/51/complete")).status_code == 200


async def _pdf_text(url: str) -> str:
    async with httpx.AsyncClient() as client:
        pdf = (await client.get(url)).content
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


async def test_the_pdf_shows_the_name_and_no_table_of_progress_holds_it(api, resources, users_avatars, make_avatar):
    users_avatars.names[FEKLA] = NAME
    users_avatars.avatars[FEKLA] = make_avatar((255, 128, 0))

    response = await api.post(f"/internal/learners/{FEKLA}/transcript", json={"language": "ru"})

    assert response.status_code == 200, response.text
    assert NAME in await _pdf_text(response.json()["download_url"])
    assert users_avatars.learners_asked == [(FEKLA, "progress")]
    async with resources.engine.connect() as conn:
        query = text("SELECT transcript_data FROM progress.user_transcripts WHERE user_id = :u")
        data = (await conn.execute(query, {"u": FEKLA})).scalar_one()
        raw = (await conn.execute(text("SELECT t::text FROM progress.user_transcripts t"))).scalars().all()
        # Every row of every table of the schema, as text (the name also in other cases, escaped, as hex).
        leaks = await rows_mentioning(conn, "progress", [NAME, "Фёкла", "Уникальнова", USERS_PHONE])
    assert leaks == []
    assert not any("Фёкла" in row or "\\u0424" in row for row in raw)
    assert set(data) == {"user_id", "language", "courses", "total_hours", "digest", "generated_at"}
    # The digest is keyed: the plain SHA-256 of the content, name and all, is not it.
    content = {k: v for k, v in data.items() if k not in {"digest", "generated_at"}}
    for avatar in (None, hashlib.sha256(make_avatar((255, 128, 0))).hexdigest()):
        guessed = {"renderer": RENDERER_VERSION, **content, "full_name": NAME, "timezone": "Europe/Moscow"}
        guessed["avatar"] = avatar
        plain = hashlib.sha256(json.dumps(guessed, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        assert plain != data["digest"]


async def test_a_name_in_the_body_is_ignored_for_the_one_users_holds(api, users_avatars):
    users_avatars.names[FEKLA] = NAME

    response = await api.post(f"/internal/learners/{FEKLA}/transcript", json={"full_name": "Кто-то Другой"})

    assert response.status_code == 200, response.text
    shown = await _pdf_text(response.json()["download_url"])
    assert NAME in shown
    assert "Другой" not in shown


async def test_a_new_name_renders_the_pdf_again_and_the_same_name_does_not(api, users_avatars):
    users_avatars.names[FEKLA] = NAME
    first = (await api.post(f"/internal/learners/{FEKLA}/transcript")).json()
    same = (await api.post(f"/internal/learners/{FEKLA}/transcript")).json()
    users_avatars.names[FEKLA] = NEW_NAME

    renamed = (await api.post(f"/internal/learners/{FEKLA}/transcript")).json()

    assert (same["regenerated"], same["object_key"]) == (False, first["object_key"])
    assert renamed["regenerated"] is True
    assert renamed["object_key"] != first["object_key"]
    assert NEW_NAME in await _pdf_text(renamed["download_url"])


async def test_a_learner_without_a_name_gets_a_transcript_by_number(api, users_avatars):
    response = await api.post(f"/internal/learners/{FEKLA}/transcript")

    assert response.status_code == 200, response.text
    assert f"Учащийся №{FEKLA}" in await _pdf_text(response.json()["download_url"])


async def _stored_pdfs(resources) -> list[str]:
    # The bucket lives for the whole run: other tests' PDFs of this learner are there too.
    storage = object_storage(resources)
    objects = storage.client.list_objects(storage.bucket, prefix=f"transcripts/{FEKLA}/", recursive=True)
    return sorted([o.object_name async for o in objects])


async def test_users_unreachable_is_a_503_to_retry_and_stores_nothing(api, resources, users_unreachable):
    before = await _stored_pdfs(resources)

    response = await api.post(f"/internal/learners/{FEKLA}/transcript")

    assert response.status_code == 503, response.text
    assert "try again" in response.json()["error"]["message"]
    async with resources.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM progress.user_transcripts"))).scalar_one() == 0
    assert await _stored_pdfs(resources) == before


async def test_a_learner_users_no_longer_knows_is_learner_not_found(api, users_avatars):
    users_avatars.gone.add(FEKLA)

    response = await api.post(f"/internal/learners/{FEKLA}/transcript")

    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "learner_not_found"


async def test_the_export_lists_the_issued_transcript_and_every_stored_pdf(
    api, service, resources, platform, users_avatars
):
    users_avatars.names[FEKLA] = NAME
    first = (await api.post(f"/internal/learners/{FEKLA}/transcript")).json()
    english = (await api.post(f"/internal/learners/{FEKLA}/transcript", json={"language": "en"})).json()

    response = await api.get(f"/internal/learners/{FEKLA}/transcripts")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user_id"] == FEKLA
    [issued] = body["transcripts"]
    assert issued["object_key"] == english["object_key"]
    assert (issued["language"], issued["course_ids"], issued["total_hours"]) == ("en", [5], 6)
    assert datetime.fromisoformat(issued["generated_at"]) == datetime.fromisoformat(english["generated_at"])
    assert {first["object_key"], english["object_key"]} <= {f["object_key"] for f in body["files"]}
    assert sorted(f["object_key"] for f in body["files"]) == await _stored_pdfs(resources)
    assert all(f["size_bytes"] > 0 for f in body["files"])
    # Support reads it too; nobody is an empty answer.
    token = operator_token(platform, name="olga", roles=("support",), audience="progress")
    async with api_client(service, resources, token) as olga:
        assert (await olga.get(f"/internal/learners/{FEKLA}/transcripts")).status_code == 200
    nobody = (await api.get("/internal/learners/99999/transcripts")).json()
    assert nobody == {"user_id": 99999, "transcripts": [], "files": []}


BEFORE = "cc5998005614"


async def test_the_migration_removes_the_name_from_rows_stored_before(service, scratch_database_url):
    await asyncio.to_thread(migrate, service, "upgrade", BEFORE, database_url=scratch_database_url)
    old = {
        "user_id": 1,
        "full_name": NAME,
        "language": "ru",
        "timezone": "Asia/Srednekolymsk",
        "courses": [{"course_id": 5, "title": "Аппаратный маникюр"}],
        "total_hours": 6,
        "avatar": "ab" * 32,
        "digest": "cd" * 32,
        "generated_at": "2026-03-01T09:00:00+00:00",
    }
    engine = create_async_engine(scratch_database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO progress.user_transcripts (user_id, object_key, transcript_data) "
                    "VALUES (1, 'transcripts/1/x.pdf', CAST(:data AS jsonb)), (2, NULL, '{}'::jsonb)"
                ),
                {"data": json.dumps(old, ensure_ascii=False)},
            )
        await asyncio.to_thread(migrate, service, "upgrade", "head", database_url=scratch_database_url)
        async with engine.connect() as conn:
            rows = dict(
                (await conn.execute(text("SELECT user_id, transcript_data FROM progress.user_transcripts"))).all()
            )
            leaks = await rows_mentioning(conn, "progress", [NAME, "Srednekolymsk"])
    finally:
        await engine.dispose()

    kept = {k: v for k, v in old.items() if k not in {"full_name", "timezone", "avatar"}}
    assert rows == {1: kept, 2: {}}
    assert leaks == []
