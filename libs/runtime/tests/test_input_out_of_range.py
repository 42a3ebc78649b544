"""Input that is valid JSON but no text, or a value beyond what can be computed with: 422, never 500."""

from datetime import UTC, datetime

import pytest
from academy_runtime.settings import ServiceSettings
from fastapi import APIRouter
from pydantic import BaseModel

from .conftest import serving

router = APIRouter()
handled: list[object] = []


class Note(BaseModel):
    text: str


class Moment(BaseModel):
    at: datetime


@router.post("/notes")
async def add_note(note: Note) -> Note:
    handled.append(note.text)
    return note


@router.post("/moments")
async def add_moment(moment: Moment) -> dict[str, str]:
    in_utc = moment.at.astimezone(UTC)  # what every service does with a learner's date
    handled.append(in_utc)
    return {"at": in_utc.isoformat()}


@pytest.fixture
async def client():
    handled.clear()
    async with serving(router, settings=ServiceSettings(_env_file=None)) as http:
        yield http


@pytest.mark.parametrize("escaped", ["\\ud800", "a\\udfffb", "\\ude00\\ud83d"])
async def test_an_unpaired_surrogate_escape_is_a_422_and_reaches_no_handler(client, escaped):
    body = f'{{"text": "{escaped}"}}'.encode()
    response = await client.post("/notes", content=body, headers={"content-type": "application/json"})

    assert response.status_code == 422
    assert "surrogate" in response.json()["error"]["message"]
    assert handled == []


async def test_an_emoji_written_as_a_surrogate_pair_is_text(client):
    body = b'{"text": "\\ud83d\\ude00 ok"}'
    response = await client.post("/notes", content=body, headers={"content-type": "application/json"})

    assert response.status_code == 200
    assert handled == ["\U0001f600 ok"]


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"])
async def test_a_date_that_leaves_the_calendar_in_utc_is_a_422(client, moment):
    response = await client.post("/moments", json={"at": moment})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "value_out_of_range"
