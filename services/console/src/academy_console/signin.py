"""Signing in and out, and the home page: the operator's password against OPERATOR_ACCOUNTS (argon2id), a
server-side session (academy_console.sessions), attempts limited per address and per name in Redis."""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Annotated

from academy_runtime.auth import verify_operator_password
from academy_runtime.ratelimit import Identity, RateLimitedError
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from academy_console.sessions import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from academy_console.web import FormDep, OperatorDep, console, redirect, render

log = logging.getLogger(__name__)
router = APIRouter()

NAME_MAX = 64
PASSWORD_MAX = 1024
"""Longest password taken, in characters: argon2 hashes any length, so an unbounded one is free CPU for an attacker."""


def _safe_next(target: str | None) -> str:
    """Where to go after sign-in: a path of this site only (never `//host` or a URL: no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/") -> Response:  # noqa: A002 - the usual parameter name
    return _login_page(request, _safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    name: Annotated[str, Form(max_length=NAME_MAX)],
    password: Annotated[str, Form(max_length=PASSWORD_MAX)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",  # noqa: A002
) -> Response:
    state = console(request)
    target = _safe_next(next)
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie_token or not secrets.compare_digest(cookie_token.encode(), csrf_token.encode()):
        return _login_page(request, target, "The form expired. Try again.", status_code=403)
    name = name.strip().lower()
    address = request.client.host if request.client else "unknown"
    try:
        await state.login_limiter.check(Identity("source", address), "/login")
        await state.login_limiter.check(Identity("operator", f"login:{name}"), "/login")
    except RateLimitedError as exc:
        log.warning("console sign-in rate limited", extra={"retry_after_s": exc.retry_after_s})
        response = _login_page(
            request, target, f"Too many attempts. Try again in {exc.retry_after_s} s.", status_code=429
        )
        response.headers.update(exc.headers())
        return response
    account = state.settings.accounts().get(name)
    # argon2 takes ~50 ms of CPU: off the event loop, so other operators' pages are not held up.
    if not await asyncio.to_thread(verify_operator_password, account, password):
        log.info("console sign-in refused", extra={"operator": name if account else "unknown"})
        return _login_page(request, target, "Wrong name or password.", status_code=401)
    # A new id at every sign-in (no session fixation), and the session this browser had before ends.
    await state.sessions.end(request.cookies.get(SESSION_COOKIE))
    session_id, _ = await state.sessions.start(name)
    log.info("console sign-in", extra={"operator": name})
    response = redirect(target)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="strict",
        secure=state.settings.secure_cookies,
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, _form: FormDep) -> Response:
    """End the session on the server (a form of this session only: CSRF-checked like every other)."""
    await console(request).sessions.end(request.cookies.get(SESSION_COOKIE))
    response = redirect("/login", "signed-out")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, operator: OperatorDep) -> Response:
    return render(request, "home.html", roles=sorted(operator.roles))


def _login_page(request: Request, target: str, error: str | None = None, *, status_code: int = 200) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, "login.html", status_code=status_code, error=error, next=target, csrf_token=token)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=console(request).settings.secure_cookies,
        path="/login",
    )
    return response
