"""A query parameter that takes one value, given several times (`?city=A&city=B`), is a 422: FastAPI would
keep the last and answer for a request the client did not make (Schemathesis's negative cases found it on
the catalog's communities). A parameter declared as a list repeats freely; a single value passes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Annotated

import httpx
import pytest
from academy_runtime.http import create_app
from academy_runtime.resources import Resources
from academy_runtime.settings import ServiceSettings
from fastapi import APIRouter, Depends, Query

from .conftest import test_service

router = APIRouter()


async def paging(page: int = 1) -> int:
    return page


@router.get("/communities")
async def communities(
    page: Annotated[int, Depends(paging)],
    city: str | None = None,
    tags: Annotated[list[str] | None, Query()] = None,
) -> dict[str, object]:
    return {"city": city, "tags": tags or [], "page": page}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    settings = ServiceSettings(_env_file=None, service_name="rt-query", rate_limit_enabled=False)
    app = create_app(replace(test_service, routers=[router]), settings)
    app.state.resources = Resources.open(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://rt") as http:
        yield http
    await app.state.resources.close()


@pytest.mark.parametrize(
    ("query", "name"),
    [("city=A&city=B", "city"), ("city=A&tags=x&city=", "city"), ("page=1&page=2", "page")],
)
async def test_a_single_value_parameter_given_twice_is_refused(client: httpx.AsyncClient, query: str, name: str):
    answer = await client.get(f"/communities?{query}")
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_failed"
    assert repr(name) in error["message"]


async def test_a_list_parameter_repeats_and_single_values_pass(client: httpx.AsyncClient):
    answer = await client.get("/communities?city=Казань&tags=a&tags=b&page=3")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"city": "Казань", "tags": ["a", "b"], "page": 3}


async def test_an_app_whose_openapi_document_cannot_be_built_answers_rather_than_failing(client: httpx.AsyncClient):
    """The rule reads the app's OpenAPI document; where building it fails, the rule stands aside (a 200 with
    FastAPI's own reading), never a 500."""
    transport = client._transport  # the fixture's app, to break its document
    app = transport.app  # type: ignore[attr-defined]

    def broken() -> dict[str, object]:
        raise RuntimeError("a response model the schema generator cannot describe")

    app.openapi = broken
    app.state.single_value_query = {}
    answer = await client.get("/communities?city=A&city=B")
    assert answer.status_code == 200, answer.text
