"""What every page shares: the console's state, the signed-in operator, role checks, CSRF, rendering, errors."""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from academy_runtime.errors import DependencyUnavailableError, DomainError, NotFoundError
from academy_runtime.ratelimit import RateLimiter
from academy_runtime.resources import RedisClient
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from academy_console.backends import Backends, Operator
from academy_console.sessions import SESSION_COOKIE, SessionStore
from academy_console.settings import ConsoleSettings
from academy_console.telegram_html import telegram_html

log = logging.getLogger(__name__)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters["telegram_html"] = telegram_html

MENU: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("/courses", "Courses", ("catalog-editor",)),
    ("/learners", "Learners", ("support", "finance")),
    ("/payments", "Payments", ("finance", "support")),
    ("/reconciliation", "Reconciliation", ("finance",)),
    ("/broadcasts", "Broadcasts", ("broadcaster",)),
    ("/dead-letters", "Dead letters", ("operations",)),
)
"""The menu: (path, label, roles any one of which shows it). A page's own dependency enforces the same roles."""

NOTICES = {
    "signed-out": "You are signed out.",
    "course-created": "Course created as a draft.",
    "course-saved": "Course saved.",
    "course-published": "Course published: learners see it in the bot.",
    "course-archived": "Course archived.",
    "lesson-added": "Lesson added.",
    "lesson-saved": "Lesson saved.",
    "lesson-deleted": "Lesson deleted.",
    "lessons-reordered": "Lessons reordered.",
    "refund-requested": "Refund requested.",
    "broadcast-created": "Broadcast created.",
    "broadcast-preview": "Preview sent to your own chat.",
    "broadcast-send": "Broadcast is being sent.",
    "broadcast-pause": "Broadcast paused.",
    "broadcast-resume": "Broadcast resumed.",
    "broadcast-cancel": "Broadcast cancelled.",
}
"""Messages a redirect may show (`?notice=<code>`): fixed texts, so a link cannot put words on the page."""


@dataclass
class ConsoleState:
    """The process's console: settings, Redis, sessions, the services' clients, the sign-in limiter."""

    settings: ConsoleSettings
    redis: RedisClient
    sessions: SessionStore
    backends: Backends
    login_limiter: RateLimiter


def console(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state


class SignInRequiredError(Exception):
    """No live session: the page redirects to the sign-in form."""


class PageForbiddenError(Exception):
    """The operator lacks every role the page admits (403)."""

    def __init__(self, roles: tuple[str, ...]) -> None:
        super().__init__(", ".join(roles))
        self.roles = roles


class CsrfRefusedError(Exception):
    """A form came back without this session's CSRF token (403)."""


async def current_operator(request: Request) -> Operator:
    """The signed-in operator, from the session cookie; SignInRequiredError when there is no live session, the
    account is gone, lost its password, or was revoked after the session began (`tokens_not_before`)."""
    state = console(request)
    session_id = request.cookies.get(SESSION_COOKIE)
    session = await state.sessions.get(session_id)
    if session is None:
        raise SignInRequiredError
    account = state.settings.accounts().get(session.operator)
    if account is None or account.password_hash is None or session.created_at < account.tokens_not_before:
        await state.sessions.end(session_id)
        raise SignInRequiredError
    operator = Operator(session.operator, account.roles, state.backends, session.csrf_token)
    request.state.operator = operator
    return operator


OperatorDep = Annotated[Operator, Depends(current_operator)]


def requires(*roles: str) -> Any:
    """A page's dependency: the signed-in operator, who must hold one of `roles` (else a 403 page)."""

    async def check(operator: OperatorDep) -> Operator:
        if not operator.may(*roles):
            raise PageForbiddenError(roles)
        return operator

    return Depends(check)


async def checked_form(request: Request, operator: OperatorDep) -> dict[str, str]:
    """A POSTed form of the signed-in operator whose `csrf_token` is the session's (else CsrfRefusedError);
    its text fields by name (the last value of a repeated one)."""
    form = await request.form()
    token = form.get("csrf_token")
    if not isinstance(token, str) or not hmac.compare_digest(token.encode(), operator.csrf_token.encode()):
        raise CsrfRefusedError
    return {name: value for name, value in form.items() if isinstance(value, str)}


FormDep = Annotated[dict[str, str], Depends(checked_form)]


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """`template` with the menu the operator may see, the notice of `?notice=`, and `context`."""
    operator: Operator | None = getattr(request.state, "operator", None)
    menu = [(path, label) for path, label, roles in MENU if operator is not None and operator.may(*roles)]
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"operator": operator, "menu": menu, "notice": notice, **context},
        status_code=status_code,
    )


def redirect(path: str, notice: str | None = None) -> RedirectResponse:
    """303 See Other to `path` (after a POST), with a NOTICES code to show there."""
    target = f"{path}{'&' if '?' in path else '?'}notice={quote(notice)}" if notice else path
    return RedirectResponse(target, status_code=303)


def _problem(request: Request, status_code: int, title: str, message: str) -> HTMLResponse:
    return render(request, "problem.html", status_code=status_code, title=title, message=message)


def install_page_errors(app: FastAPI) -> None:
    """Render every refusal as a page a person can act on; a service's 4xx as its message, its 5xx or
    silence as «unavailable», and anything unexpected as a 500 page without internals."""

    async def sign_in(request: Request, _: Exception) -> Response:
        target = request.url.path if request.method == "GET" else "/"
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    async def forbidden(request: Request, exc: Exception) -> Response:
        roles = exc.roles if isinstance(exc, PageForbiddenError) else ()
        return _problem(request, 403, "Not allowed", f"This page is for operators with the role {' or '.join(roles)}.")

    async def csrf(request: Request, _: Exception) -> Response:
        return _problem(request, 403, "Form expired", "The form was not sent from this session. Reload the page.")

    async def invalid(request: Request, exc: Exception) -> Response:
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        fields = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: {e.get('msg', 'invalid')}" for e in errors
        )
        return _problem(request, 422, "Check the input", fields or "The request is not valid.")

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
        title = "Not found" if status == 404 else "Request refused"  # noqa: PLR2004
        return _problem(request, status, title, str(getattr(exc, "detail", "")) or title)

    async def domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        if isinstance(exc, DependencyUnavailableError):
            log.warning("a service is unavailable", extra={"error": exc.message[:200]})
            return _problem(request, 503, "Service unavailable", "A service did not answer. Try again in a minute.")
        if isinstance(exc, NotFoundError):
            return _problem(request, 404, "Not found", exc.message)
        # A service's 4xx (ServiceCallError keeps its status) or the console's own refusal (422 of a form).
        status = exc.status_code if 400 <= exc.status_code < 500 else 400  # noqa: PLR2004
        return _problem(request, status, "Refused", exc.message)

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("console page failed", exc_info=exc)
        return _problem(request, 500, "Something went wrong", "The console failed on this page; it is logged.")

    app.add_exception_handler(SignInRequiredError, sign_in)
    app.add_exception_handler(PageForbiddenError, forbidden)
    app.add_exception_handler(CsrfRefusedError, csrf)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(DomainError, domain)
    app.add_exception_handler(Exception, unexpected)
