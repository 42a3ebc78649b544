"""Logs carry no personal data and no credentials, tracebacks included (issue 9: a traceback wrote a
learner's name and phone in clear text)."""

import io
import json
import logging

import pytest
from academy_runtime.db import SessionDep, transaction
from academy_runtime.logs import REDACTED, JsonFormatter, RedactingFilter, configure_logging, redact
from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError

from .conftest import Effect, serving

NAME = "Иван Петров"
PHONE = "+7 912 345-67-89"
PHONE_E164 = "+79123456789"
BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
JWT = "eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJnYXRld2F5LWJvdCJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
SECRETS = [NAME, "Иван", "Петров", "912 345", "9123456789", BOT_TOKEN, JWT]


def assert_clean(text: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text]
    assert leaked == [], f"personal data or a credential in the log: {leaked}\n{text}"


@pytest.mark.parametrize(
    "text",
    [
        f"registering full_name='{NAME}' phone='{PHONE_E164}'",
        f'{{"full_name": "{NAME}", "phone": "{PHONE}"}}',
        f"[parameters: ('{NAME}', '{PHONE_E164}', 42)]",
        f"invalid input for query argument $2: '{NAME}' (value too long)",
        f"DETAIL:  Key (phone)=({PHONE_E164}) already exists. {NAME}".replace(NAME, "full_name=x"),
        f"1 validation error\n  Value error [type=value_error, input_value='{NAME} {PHONE}', input_type=str]",
        f"call 8 (912) 345-67-89 or {PHONE}",
        f"POST https://api.telegram.org/bot{BOT_TOKEN}/sendMessage",
        f"Authorization: Bearer {JWT}",
        f"token {JWT} refused",
    ],
)
def test_redact_removes_personal_data_and_credentials(text):
    redacted = redact(text)

    assert_clean(redacted)
    assert REDACTED in redacted


@pytest.mark.parametrize(
    "text",
    [
        "lesson 12 of course 3 completed at 2024-05-01 12:00:00 in 1234.5 ms",
        "trace 4bf92f3577b34da6a3ce929d0e0e4736 user 3000000000",
        "display_name='Ирина' course_id=7",
    ],
)
def test_redact_leaves_dates_ids_and_display_names(text):
    assert redact(text) == text


class Registration(BaseModel):
    full_name: str
    phone: str


router = APIRouter()


@router.post("/register")
async def register(command: Registration, request: Request) -> None:
    # a bug that puts the request, and its credentials, in the exception's message
    raise RuntimeError(f"cannot register {command!r} with {request.headers.get('authorization')} via {BOT_TOKEN}")


@router.post("/notes")
async def add_note(command: Registration, session: SessionDep) -> None:
    # String(100): a note this long fails in the database, whose error quotes the statement's values
    session.add(Effect(user_id=1, note=f"{command.full_name} {command.phone} " * 10))
    await session.flush()


@pytest.fixture
def json_log():
    """What the services' JSON handler on stderr writes, for the duration of a test."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("rt-test"))
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


@pytest.mark.integration
async def test_an_unhandled_error_logs_no_name_phone_or_token(settings, json_log):
    async with serving(router, settings=settings) as client:
        response = await client.post(
            "/register",
            json={"full_name": NAME, "phone": PHONE_E164},
            headers={"authorization": f"Bearer {JWT}"},
        )

    assert response.status_code == 500
    log = json_log.getvalue()
    entries = [json.loads(line) for line in log.splitlines()]
    assert any(entry["msg"] == "unhandled error" and "RuntimeError" in entry["exc"] for entry in entries)
    assert_clean(log)
    assert_clean(response.text)


@pytest.mark.integration
async def test_a_database_error_logs_no_parameters(settings, resources, json_log):
    async with serving(router, settings=settings, resources=resources) as client:
        response = await client.post("/notes", json={"full_name": NAME, "phone": PHONE_E164})

    assert response.status_code == 500
    log = json_log.getvalue()
    assert "StringDataRightTruncation" in log  # the error itself is there, for the operator
    assert_clean(log)


@pytest.mark.integration
async def test_the_engine_hides_a_statements_parameters(resources):
    async def write_too_long_a_note() -> None:
        async with transaction(resources.sessionmaker) as session:
            session.add(Effect(user_id=1, note=f"{NAME} {PHONE} " * 10))
            await session.flush()

    with pytest.raises(DBAPIError) as raised:
        await write_too_long_a_note()

    assert "hidden due to hide_parameters" in str(raised.value)
    assert NAME not in str(raised.value.statement) + str(raised.value)


def test_the_filter_redacts_a_record_for_any_handler(caplog):
    logger = logging.getLogger("rt-test.redaction")
    logger.addFilter(RedactingFilter())
    try:
        with caplog.at_level(logging.INFO):
            try:
                int(f"full_name={NAME!r} phone={PHONE!r}")
            except ValueError:
                logger.exception("failed for %s", PHONE, extra={"full_name": NAME, "course_id": 7})
    finally:
        logger.filters.clear()

    assert_clean(caplog.text)
    record = caplog.records[-1]
    assert record.full_name == REDACTED
    assert record.course_id == 7
    assert_clean(record.exc_text)


def test_per_update_and_per_request_chatter_is_left_to_spans_and_metrics():
    """uvicorn's access log and aiogram's «Update id=... is handled» are a line per request or update."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    chatty = ("uvicorn.access", "aiogram.event", "httpx", "aio_pika")
    levels = {name: logging.getLogger(name).level for name in chatty}
    try:
        configure_logging("rt-test", "INFO")

        assert not any(logging.getLogger(name).isEnabledFor(logging.INFO) for name in chatty)
        assert logging.getLogger("aiogram.event").isEnabledFor(logging.WARNING)
        assert logging.getLogger("academy_runtime.consumer").isEnabledFor(logging.INFO)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, old in levels.items():
            logging.getLogger(name).setLevel(old)
