"""The console's sign-in, sessions, CSRF, roles and error pages, against real Redis and the real catalog."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from academy_console.sessions import SESSION_COOKIE, SessionStore
from academy_console.settings import ConsoleSettings
from academy_runtime.auth import (
    OPERATOR_ROLES,
    OPERATORS_ISSUER,
    OperatorAccount,
    dev_signing_key,
    generate_signing_key,
)
from academy_runtime.resources import open_redis
from pydantic import ValidationError

from .conftest import PASSWORD, browsers


async def test_sign_in_sets_a_strict_http_only_secure_cookie_and_opens_the_home_page(browser):
    b = await browser()
    response = await b.sign_in("alice")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    assert "Secure" in cookie
    home = await b.client.get("/")
    assert home.status_code == 200
    assert "Hello, alice" in home.text
    assert 'href="/courses"' in home.text
    assert 'href="/reconciliation"' not in home.text  # alice is no finance operator


async def test_a_wrong_password_or_an_unknown_name_is_refused_alike(browser):
    b = await browser()
    wrong = await b.sign_in("alice", "not the password at all")
    unknown = await b.sign_in("nobody", PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Wrong name or password." in response.text
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert (await b.client.get("/", follow_redirects=False)).status_code == 303


async def test_sign_in_attempts_are_rate_limited_per_name(console_settings):
    settings = console_settings.model_copy(update={"login_rate_limit_name": "5/minute"})
    async with browsers(settings) as browser:
        await _five_wrong_then_limited(await browser())


async def _five_wrong_then_limited(b):
    statuses = [(await b.sign_in("frank", f"wrong password {i}")).status_code for i in range(5)]
    assert statuses == [401] * 5
    limited = await b.sign_in("frank", PASSWORD)  # even the right password, once over the limit
    assert limited.status_code == 429
    assert "Too many attempts" in limited.text
    assert int(limited.headers["retry-after"]) >= 1


async def test_a_form_without_the_sessions_csrf_token_is_refused(browser):
    b = await browser()
    await b.sign_in("alice")
    forged = await b.client.post("/courses", data={"title": "Forged", "csrf_token": "not-the-token"})
    assert forged.status_code == 403
    assert "Form expired" in forged.text
    missing = await b.client.post("/courses/1/publish")
    assert missing.status_code == 403


async def test_the_sign_in_form_itself_needs_its_double_submit_token(browser):
    b = await browser()
    response = await b.client.post("/login", data={"name": "alice", "password": PASSWORD, "csrf_token": "x"})
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


async def test_pages_beyond_the_operators_roles_are_hidden_and_forbidden(browser):
    b = await browser()
    await b.sign_in("bob")  # support
    home = await b.client.get("/")
    assert 'href="/courses"' not in home.text
    assert 'href="/learners"' in home.text
    for path in ("/courses", "/courses/new", "/reconciliation", "/broadcasts", "/dead-letters"):
        response = await b.client.get(path)
        assert response.status_code == 403, path
        assert "This page is for operators with the role" in response.text


async def test_without_a_session_pages_send_to_the_sign_in_form_and_back(browser):
    b = await browser()
    response = await b.client.get("/courses", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/courses"
    signed = await b.sign_in("alice", next_path="/courses")
    assert signed.headers["location"] == "/courses"


async def test_sign_in_never_redirects_off_the_site(browser):
    b = await browser()
    response = await b.sign_in("alice", next_path="//evil.example/")
    assert response.headers["location"] == "/"


async def test_sign_out_deletes_the_session_on_the_server(browser):
    b = await browser()
    await b.sign_in("alice")
    session_id = b.client.cookies[SESSION_COOKIE]
    out = await b.submit("/", "/logout", {})
    assert out.status_code == 303
    # The old cookie, replayed by another browser, opens nothing: the session is gone from Redis.
    thief = await browser()
    thief.client.cookies.set(SESSION_COOKIE, session_id, domain="console.test")
    assert (await thief.client.get("/", follow_redirects=False)).status_code == 303


async def test_sessions_end_when_idle_and_at_their_absolute_lifetime(console_settings):
    redis = open_redis(console_settings)
    try:
        idle = SessionStore(redis, console_settings.redis_prefix + "idle-test:", idle_s=1, absolute_s=3600)
        session_id, _ = await idle.start("alice")
        assert await idle.get(session_id) is not None
        await _sleep(2.2)
        assert await idle.get(session_id) is None
        absolute = SessionStore(redis, console_settings.redis_prefix + "abs-test:", idle_s=3600, absolute_s=1)
        session_id, _ = await absolute.start("alice")
        await _sleep(1.2)
        assert await absolute.get(session_id) is None
        # The key is gone too, not only refused.
        assert await redis.keys(console_settings.redis_prefix + "abs-test:*") == []
    finally:
        await redis.aclose()


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def test_an_editor_creates_a_course_and_publishes_it_through_the_real_catalog(browser):
    b = await browser()
    await b.sign_in("alice")
    created = await b.submit(
        "/courses/new",
        "/courses",
        {
            "title": "Console: gel polish basics",
            "description": "From zero to the first client",
            "category": "manicure",
            "price": "1500",
            "currency": "RUB",
            "lesson_title": "Preparing the workplace",
            "lesson_is_free": "on",
        },
    )
    assert created.status_code == 303, created.text
    course_path = created.headers["location"].split("?")[0]
    page = await b.client.get(course_path)
    assert "draft" in page.text
    assert "🎓 <b>Console: gel polish basics</b>" in page.text  # the bot's card, Telegram HTML kept
    published = await b.submit(course_path, f"{course_path}/publish", {})
    assert published.status_code == 303
    listing = await b.client.get("/courses")
    assert "Console: gel polish basics" in listing.text


async def test_a_services_refusal_is_shown_as_its_message(browser):
    b = await browser()
    await b.sign_in("alice")
    # The catalog refuses a category that does not exist (its 4xx), the console shows why.
    refused = await b.submit(
        "/courses/new",
        "/courses",
        {"title": "X", "description": "Y", "category": "no-such-category", "lesson_title": "L"},
    )
    assert 400 <= refused.status_code < 500
    assert "catalog:" in refused.text
    missing = await b.client.get("/courses/999999")
    assert missing.status_code == 404
    assert "Not found" in missing.text


async def test_an_unreachable_service_is_a_clear_error_not_a_trace(browser):
    b = await browser()
    await b.sign_in("frank")
    response = await b.client.get("/reconciliation")
    assert response.status_code == 503
    assert "Service unavailable" in response.text
    assert "Traceback" not in response.text


async def test_bad_input_is_a_4xx_never_a_500(browser):
    b = await browser()
    await b.sign_in("alice")
    for path in ("/courses/0", "/courses/abc", "/courses/99999999999999999999", "/courses?page=0"):
        response = await b.client.get(path)
        assert 400 <= response.status_code < 500, path
    nul = await b.submit(
        "/courses/new", "/courses", {"title": "a\x00b", "description": "d", "category": "manicure", "lesson_title": "l"}
    )
    assert 400 <= nul.status_code < 500
    number = await b.submit(
        "/courses/new",
        "/courses",
        {
            "title": "t",
            "description": "d",
            "category": "manicure",
            "duration_hours": "99999999999",
            "lesson_title": "l",
        },
    )
    assert number.status_code == 422
    assert "Duration must be between" in number.text
    sign_in = await b.client.post("/login", data={"name": "x" * 1000, "password": "p"})
    assert sign_in.status_code == 422


async def test_health_and_metrics_answer_without_a_session(browser):
    b = await browser()
    assert (await b.client.get("/healthz")).json() == {"status": "ok"}
    assert (await b.client.get("/readyz")).status_code == 200
    assert "academy_http_requests_total" in (await b.client.get("/metrics")).text


def test_telegram_html_keeps_telegrams_tags_and_escapes_everything_else():
    from academy_console.telegram_html import telegram_html

    shown = str(
        telegram_html('<b>Hi</b> <script>alert(1)</script><a href="javascript:x">l</a><i onclick="x">i</i>\nnext')
    )
    assert "<b>Hi</b>" in shown
    assert "<script>" not in shown
    assert "&lt;script&gt;" in shown
    assert 'href="javascript' not in shown
    assert "<i>i</i>" in shown
    assert "onclick" not in shown.replace("&lt;", "").split("<i>")[1]
    assert "<br>next" in shown


async def test_a_role_taken_away_or_a_revocation_applies_to_a_live_session_at_once(browser, password_hash):
    b = await browser()
    await b.sign_in("alice")
    assert (await b.client.get("/courses")).status_code == 200
    state = b.app.state.console
    settings = state.settings
    accounts = dict(settings.operator_accounts)
    accounts["alice"] = OperatorAccount(roles=frozenset({"support"}), password_hash=password_hash)
    state.settings = settings.model_copy(update={"operator_accounts": accounts})
    try:
        assert (await b.client.get("/courses")).status_code == 403  # the account's roles, read per request
        accounts["alice"] = OperatorAccount(
            roles=frozenset({"catalog-editor"}), password_hash=password_hash, tokens_not_before=int(time.time()) + 5
        )
        state.settings = settings.model_copy(update={"operator_accounts": accounts})
        response = await b.client.get("/courses", follow_redirects=False)
        assert response.status_code == 303  # revoked: the session began before tokens_not_before
        assert response.headers["location"].startswith("/login")
    finally:
        state.settings = settings


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        ({}, "OPERATOR_SIGNING_KEY is empty"),
        ({"operator_signing_key": dev_signing_key(OPERATORS_ISSUER).private_text()}, "development key"),
        ({"console_dev_password": "a development password"}, "development only"),
        ({"operator_accounts": None}, "OPERATOR_ACCOUNTS is not set"),
    ],
)
def test_production_refuses_the_development_shortcuts(overrides, refusal):
    values = {
        "environment": "production",
        "operator_signing_key": generate_signing_key().private_text(),
        "operator_accounts": {},
        "redis_url": "redis://:a-real-password@redis:6379/0",
        **overrides,
    }
    if "operator_signing_key" in overrides or overrides == {}:
        values["operator_signing_key"] = overrides.get("operator_signing_key", "")
    with pytest.raises(ValidationError, match=refusal):
        ConsoleSettings(**values)


def test_production_starts_with_a_real_key_and_accounts():
    settings = ConsoleSettings(
        environment="production",
        operator_signing_key=generate_signing_key().private_text(),
        operator_accounts={},
        redis_url="redis://:a-real-password@redis:6379/0",
    )
    assert settings.secure_cookies is True
    assert settings.accounts() == {}


def test_development_signs_in_as_dev_with_the_runs_password_only_without_real_accounts(password_hash):
    dev = ConsoleSettings(environment="development", console_dev_password="a run's password")
    assert set(dev.accounts()) == {"dev"}
    assert dev.accounts()["dev"].roles == frozenset(OPERATOR_ROLES)
    assert dev.secure_cookies is False
    real = {"alice": OperatorAccount(roles=frozenset({"support"}), password_hash=password_hash)}
    with_accounts = ConsoleSettings(environment="development", console_dev_password="x" * 12, operator_accounts=real)
    assert set(with_accounts.accounts()) == {"alice"}


def test_production_still_refuses_a_placeholder_in_what_the_console_uses():
    with pytest.raises(ValidationError, match="REDIS_URL"):
        ConsoleSettings(
            environment="production",
            operator_signing_key=generate_signing_key().private_text(),
            operator_accounts={},
            redis_url="redis://:CHANGE-ME@redis:6379/0",
        )


async def test_signing_in_again_ends_the_browsers_previous_session_and_a_forged_sign_out_is_refused(browser):
    b = await browser()
    await b.sign_in("alice")
    first = b.client.cookies[SESSION_COOKIE]
    forged = await b.client.post("/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert (await b.client.get("/")).status_code == 200  # still signed in
    await b.sign_in("alice")
    assert b.client.cookies[SESSION_COOKIE] != first
    replay = await browser()
    replay.client.cookies.set(SESSION_COOKIE, first, domain="console.test")
    assert (await replay.client.get("/", follow_redirects=False)).status_code == 303


async def test_a_body_over_the_limit_is_refused_before_any_page_reads_it(browser):
    b = await browser()
    await b.sign_in("alice")
    response = await b.client.post("/courses", content=b"x" * (2 * 1024 * 1024), headers={"content-type": "text/plain"})
    assert response.status_code == 413


async def test_an_editor_edits_moves_and_deletes_lessons_then_archives_the_course(browser):
    b = await browser()
    await b.sign_in("alice")
    created = await b.submit(
        "/courses/new",
        "/courses",
        {"title": "Lessons to move", "description": "d", "category": "pedicure", "lesson_title": "First"},
    )
    course = created.headers["location"].split("?")[0]
    added = await b.submit(course, f"{course}/lessons", {"title": "Second", "video_duration": "600"})
    assert added.status_code == 303
    page = (await b.client.get(course)).text
    first_id, second_id = re.findall(rf'action="{course}/lessons/(\d+)"', page)[:2]
    moved = await b.submit(course, f"{course}/lessons/{second_id}/move", {"direction": "up"})
    assert moved.status_code == 303
    page = (await b.client.get(course)).text
    assert page.index("Second") < page.index("First")
    edited = await b.submit(course, f"{course}/lessons/{first_id}", {"title": "First, renamed", "is_free": "on"})
    assert edited.status_code == 303
    assert "First, renamed" in (await b.client.get(course)).text
    deleted = await b.submit(course, f"{course}/lessons/{second_id}/delete", {})
    assert deleted.status_code == 303
    page = (await b.client.get(course)).text
    assert "Second" not in page
    saved = await b.submit(course, course, {"title": "Lessons moved", "price": "990", "is_active": "on"})
    assert saved.status_code == 303
    archived = await b.submit(course, f"{course}/archive", {})
    assert archived.status_code == 303
    page = (await b.client.get(course)).text
    assert "Lessons moved" in page
    assert "archived" in page
    bad = await b.submit(course, f"{course}/lessons/{first_id}/move", {"direction": "sideways"})
    assert bad.status_code == 422
