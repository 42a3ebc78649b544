"""U+0000 cannot be stored in PostgreSQL text: every service refuses it with 422 before any work is done."""

import pytest
from academy_runtime.settings import ServiceSettings
from fastapi import APIRouter, Request
from pydantic import BaseModel

from .conftest import serving

router = APIRouter()
handled: list[str] = []


class Note(BaseModel):
    text: str


@router.post("/notes")
async def add_note(note: Note) -> Note:
    handled.append(note.text)
    return note


@router.post("/pictures")
async def add_picture(request: Request) -> dict[str, int]:
    body = await request.body()
    handled.append("picture")
    return {"length": len(body)}


@router.get("/notes/{name}")
async def find_note(name: str, q: str = "") -> dict[str, str]:
    handled.append(name + q)
    return {"name": name, "q": q}


@pytest.fixture
async def client():
    handled.clear()
    async with serving(router, settings=ServiceSettings(_env_file=None)) as http:
        yield http


@pytest.mark.parametrize(
    ("method", "url", "content"),
    [
        ("POST", "/notes", b'{"text": "a\\u0000b"}'),
        ("GET", "/notes/a%00b", None),
        ("GET", "/notes/ok?q=x%00y", None),
    ],
)
async def test_a_nul_anywhere_is_a_422_and_reaches_no_handler(client, method, url, content):
    response = await client.request(method, url, content=content, headers={"content-type": "application/json"})

    assert response.status_code == 422
    assert "NUL" in response.json()["error"]["message"]
    assert handled == []


async def test_text_without_nul_passes(client):
    response = await client.post("/notes", json={"text": "Анна \\u0001 ✓"})

    assert response.status_code == 200
    assert handled == ["Анна \\u0001 ✓"]


async def test_a_body_that_is_not_json_is_left_to_its_endpoint(client):
    """Raw image bytes may hold the six bytes of a JSON NUL escape by chance: no reason to refuse them."""
    picture = b"\x89PNG\r\n\x1a\n" + b"\\u0000" + bytes(range(256))
    response = await client.post("/pictures", content=picture, headers={"content-type": "image/png"})

    assert response.status_code == 200, response.text
    assert response.json() == {"length": len(picture)}
    assert handled == ["picture"]
