"""Schemathesis against a service's OpenAPI document, in-process, on the test session's real platform.

A service's test module imports the tests by name, as it does the schema tests:

    from academy_runtime.api_tests import test_api_conforms_to_openapi, test_api_refuses_unauthenticated

They use the `academy_runtime.testing` fixtures (`service`, `resources`, `platform`) and run every
built-in check of schemathesis (server errors, status codes, content types, headers, response
schemas, negative data rejected, positive data accepted, missing headers, unsupported methods,
ignored auth...) over every operation, with positive and negative data.

How a request travels: hypothesis and schemathesis run in a worker thread (both are synchronous);
each request is sent through `httpx.ASGITransport` on the test's own event loop, where the app's
database pool, Redis and broker connections live. The checks that send requests of their own (the
`ignored_auth` probe without credentials) go the same way.

Which answers a schema-valid request may get besides a success: schemathesis's defaults (401, 403, 404,
409, 429...), and a 422 only where a rule no schema can express refuses it: on every operation that takes
an `Idempotency-Key` (a key used before for another request), and on the operations a service lists in
its `api_test_refusals` fixture, each with the rule it names (`ExpectedRefusal`). Never on every
operation: a 422 for a request the schema allows is otherwise a schema that says too little.

Examples and successes: every operation's OpenAPI examples go first (all operations', before any
generated case), and every operation must get at least one 2xx, except those a service's
`api_test_no_success` fixture names with a reason (`NoSuccess`). A service's `api_test_credentials`
fixture gives header values besides the token (a webhook's secret) for the positive cases.

Which token: for each operation the first caller among `api_test_callers` that is not refused with 403
(the endpoint's accepted callers); the 403 of a caller refused everywhere must be documented. Override
the `api_test_callers` fixture in a service's conftest to try others first.
"""

from __future__ import annotations

# schemathesis's Case and APIOperation are generic over their transport types, which mean nothing here.
# mypy: disable-error-code="type-arg"
import asyncio
import base64
import contextlib
import json
import logging
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import httpx
import pytest
import requests

from academy_runtime.after_commit import wait_for_after_commit_jobs
from academy_runtime.testing import TestPlatform, service_token

if TYPE_CHECKING:
    from fastapi import FastAPI
    from schemathesis import APIOperation, Case
    from schemathesis.core.transport import Response
    from schemathesis.schemas import BaseSchema

    from academy_runtime.resources import Resources
    from academy_runtime.service import ServiceDefinition
    from academy_runtime.settings import ServiceSettings

log = logging.getLogger(__name__)

BASE_URL = "http://test"
MAX_EXAMPLES = 25
"""Generated cases per operation and generation mode (positive, negative): bounded for CI."""
UNAUTHENTICATED_EXAMPLES = 3
"""Cases per operation and kind of missing credentials (none, forged, expired) in the 401 pass."""
_REQUEST_TIMEOUT_S = 60.0
SERVICE_CALLERS = ("gateway-bot", "users", "catalog", "progress", "gamification", "billing")
"""The services that call others, by the names their tokens carry."""


@dataclass
class ApiTestReport:
    """What one run sent and found: requests by status, and failures by operation and check."""

    service: str
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    by_operation: dict[str, Counter[int]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    callers: dict[str, str] = field(default_factory=dict)
    examples: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, status: int, operation: str) -> None:
        with self._lock:
            self.requests += 1
            self.statuses[status] += 1
            self.by_operation.setdefault(operation, Counter())[status] += 1

    def never_succeeded(self) -> list[str]:
        """Operations no generated request got a 2xx from: their handlers were tried only up to a refusal."""
        return sorted(op for op, counts in self.by_operation.items() if not any(200 <= s < 300 for s in counts))  # noqa: PLR2004

    def fail(self, key: str, message: str) -> None:
        with self._lock:
            self.failures.setdefault(key, message)

    def summary(self) -> str:
        """One line of figures: requests, by status, failures, seconds."""
        statuses = ", ".join(f"{status}: {n}" for status, n in sorted(self.statuses.items()))
        return (
            f"{self.service}: {self.requests} requests ({statuses}), {len(self.failures)} failures, "
            f"{self.seconds:.1f} s"
        )

    def describe_failures(self) -> str:
        """Every failure with the first response that showed it (schemathesis's report and a curl line)."""
        return "\n\n".join(f"=== {key}\n{message}" for key, message in sorted(self.failures.items()))


class _EventLoopTransport:
    """A schemathesis transport that sends each request to the app on the event loop that owns its
    resources (schemathesis's own ASGI transport would run the app on a new loop per request, where
    the asyncpg pool of the test session cannot be used)."""

    def __init__(self, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop, report: ApiTestReport) -> None:
        from schemathesis.transport.requests import REQUESTS_TRANSPORT

        self._serializer = REQUESTS_TRANSPORT
        self.client = client
        self.loop = loop
        self.report = report

    def __getattr__(self, name: str) -> Any:
        # serializers, media types...: schemathesis asks the transport; the requests transport knows them
        return getattr(self._serializer, name)

    def send(self, case: Case, **kwargs: Any) -> Response:
        """Send `case` with the headers in `kwargs` only (no credentials of its own)."""
        from schemathesis.core.transport import Response

        data = self._serializer.serialize_case(case, base_url=BASE_URL, headers=kwargs.get("headers"))
        prepared = requests.Request(
            method=data["method"],
            url=data["url"],
            headers=data.get("headers"),
            params=data.get("params"),
            cookies=data.get("cookies"),
            json=data.get("json"),
            data=data.get("data"),
            files=data.get("files"),
        ).prepare()
        request = self.client.build_request(
            str(prepared.method),
            str(prepared.url),
            headers={k: str(v) for k, v in prepared.headers.items()},
            content=cast("bytes | str", prepared.body or b""),
        )
        future = asyncio.run_coroutine_threadsafe(self._send(request), self.loop)
        response = future.result(timeout=_REQUEST_TIMEOUT_S)
        self.report.count(response.status_code, case.operation.label)
        return Response.from_httpx(response, verify=True)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self.client.send(request)
        await wait_for_after_commit_jobs()
        return response


def _use_transport(schema: BaseSchema, transport: _EventLoopTransport) -> None:
    """Make the schema's own requests (check probes) go through `transport` too."""
    base = type(schema)
    schema.__class__ = type(f"InProcess{base.__name__}", (base,), {"transport": property(lambda _: transport)})


@dataclass(frozen=True)
class ExpectedRefusal:
    """A status a schema-valid request may get from one operation, for a rule no schema can express
    (a fact of the data, a rule across fields): `positive_data_acceptance` accepts it there only.

    `operation` is schemathesis's label, "METHOD /path" as the OpenAPI document writes the path.
    """

    operation: str
    statuses: tuple[int, ...]
    rule: str


@dataclass(frozen=True)
class NoSuccess:
    """An operation the API test cannot get a success from, and why (a state the test cannot reach: a
    payment that only a provider's notification creates...). Every other operation must answer at least
    one request with a 2xx, so that its handler is tried past its refusals.

    `operation` is schemathesis's label, "METHOD /path" as the OpenAPI document writes the path.
    """

    operation: str
    reason: str


IDEMPOTENCY_KEY_REUSED = "an Idempotency-Key used before for a different request (422, as the IETF draft answers)"
"""The rule behind the 422 every operation taking an `Idempotency-Key` may give to a schema-valid request."""


def _takes_idempotency_key(operation: APIOperation) -> bool:
    parameters = operation.definition.raw.get("parameters", [])
    return any(p.get("in") == "header" and str(p.get("name", "")).lower() == "idempotency-key" for p in parameters)


def _expect_refusals(schema: BaseSchema, refusals: Sequence[ExpectedRefusal]) -> None:
    """Let `positive_data_acceptance` accept each refusal's statuses on its operation, and nowhere else;
    every operation that takes an Idempotency-Key may answer 422 for a reused key."""
    from schemathesis.config import OperationConfig
    from schemathesis.config._checks import POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES

    rules = list(refusals)
    labels = set()
    for operation in _operations(schema):
        labels.add(operation.label)
        if _takes_idempotency_key(operation):
            rules.append(ExpectedRefusal(operation.label, (422,), IDEMPOTENCY_KEY_REUSED))
    unknown = sorted({rule.operation for rule in refusals} - labels)
    assert not unknown, f"api_test_refusals names operations the service does not have: {unknown}"
    statuses: dict[str, list[str]] = {}
    for rule in rules:
        statuses.setdefault(rule.operation, list(POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES))
        statuses[rule.operation] += [
            str(status) for status in rule.statuses if str(status) not in statuses[rule.operation]
        ]
    for label, expected in statuses.items():
        schema.config.operations.operations.append(
            OperationConfig.from_dict(
                {
                    "include-name": label,
                    "checks": {"positive_data_acceptance": {"expected-statuses": expected}},
                }
            )
        )


def _load(openapi: dict[str, Any], refusals: Sequence[ExpectedRefusal] = ()) -> BaseSchema:
    """The schema, generating as these tests mean to:

    - no security parameters: the tests send the tokens themselves (valid ones, or none and forged
      ones in the 401 pass), so a case "without its Authorization header" is not a negative case;
    - no parameters the document does not name: the services ignore an unknown query parameter, as
      HTTP APIs commonly do, so one is not a schema violation to refuse;
    - no NUL (U+0000) in generated text: the runtime refuses it in any request with a 422 before a
      handler runs (`academy_runtime.http`), a rule of every operation that the security tests
      (`test_injection.py`) prove; left in, it is a 422 to a schema-valid request on every string.
    """
    import schemathesis

    schema = schemathesis.openapi.from_dict(openapi)
    schema.config.generation.update(with_security_parameters=False, allow_extra_parameters=False, allow_x00=False)
    _expect_refusals(schema, refusals)
    return schema


def _failure_text(exc: BaseException) -> str:
    return str(exc) or repr(exc)


def _operations(schema: BaseSchema) -> Iterator[APIOperation]:
    for result in schema.get_all_operations():
        yield result.ok()  # type: ignore[union-attr]  # an invalid operation fails the run here


def _hypothesis_settings(max_examples: int, *, generate: bool = True) -> Any:
    from hypothesis import HealthCheck, Phase, settings

    return settings(
        max_examples=max_examples,
        derandomize=True,  # the same cases in every run: a failure reproduces, CI time is stable
        deadline=None,
        # no shrinking: failures are reported, not minimised
        phases=[Phase.explicit, Phase.generate] if generate else [Phase.explicit],
        suppress_health_check=list(HealthCheck),
        database=None,
        print_blob=False,
    )


def example_cases(operation: APIOperation) -> list[Case]:
    """The cases the operation's OpenAPI examples make (request body, property and parameter `examples`),
    the fields they leave out generated: sent first, in hypothesis's explicit phase, as schemathesis's
    own examples phase does. None when the operation documents no examples."""
    from hypothesis.errors import Unsatisfiable
    from schemathesis.generation.hypothesis.examples import generate_one

    cases: list[Case] = []
    for strategy in operation.get_strategies_from_examples():
        with contextlib.suppress(Unsatisfiable):
            cases.append(generate_one(strategy))
    return cases


def _run_operation(  # noqa: PLR0917 - one call site each, named by position there
    operation: APIOperation,
    transport: _EventLoopTransport,
    report: ApiTestReport,
    mode: Any,
    max_examples: int,
    headers_for: Callable[[Case], dict[str, str]],
    on_response: Callable[[Case, Response], None] | None = None,
    examples: Sequence[Case] = (),
    *,
    generate: bool = True,
) -> None:
    """`examples` (explicit cases) first, then `max_examples` generated ones unless not `generate`."""
    from hypothesis import example, given
    from hypothesis.errors import Unsatisfiable
    from schemathesis.core.failures import FailureGroup

    @_hypothesis_settings(max_examples, generate=generate)  # type: ignore[untyped-decorator]
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case) -> None:
        headers = headers_for(case)
        kwargs: dict[str, Any] = {"headers": headers}
        try:
            response = transport.send(case, **kwargs)
            if on_response is not None:
                on_response(case, response)
            case.validate_response(response, headers=headers, transport_kwargs=kwargs)
        except FailureGroup as group:
            for failure in group.exceptions:
                title = getattr(failure, "title", type(failure).__name__)
                report.fail(f"{operation.label} [{mode.value}] {title}", _failure_text(group))
        except AssertionError as exc:
            report.fail(f"{operation.label} [{mode.value}] {type(exc).__name__}", _failure_text(exc))

    for case in reversed(examples):  # hypothesis runs the last decorator's example first
        run = example(case=case)(run)
    # Unsatisfiable: nothing to generate in this mode (negative data for an operation without parameters).
    with contextlib.suppress(Unsatisfiable):
        run()


def run_api_tests(
    openapi: dict[str, Any],
    client: httpx.AsyncClient,
    loop: asyncio.AbstractEventLoop,
    *,
    service: str,
    tokens: Sequence[tuple[str, str]],
    refusals: Sequence[ExpectedRefusal] = (),
    max_examples: int = MAX_EXAMPLES,
    credentials: dict[str, str] | None = None,
) -> ApiTestReport:
    """Every operation of `openapi`, positive and negative data, every check; runs in a worker thread.

    `tokens` are (caller, bearer token) pairs tried in order per operation: the first that is not
    refused with 403 serves all of that operation's cases. `refusals` are the statuses a schema-valid
    request may get from an operation besides schemathesis's defaults. `credentials` are header values
    other than the bearer token (a webhook's shared secret) put in place of the generated ones in the
    positive cases of the operations that take those headers; negative cases keep what was generated.
    Every operation's documented examples go first (`example_cases`), before any generated case. Returns the figures and
    failures; raises nothing for a failure (the caller asserts on the report).
    """
    from schemathesis import GenerationMode

    started = time.perf_counter()
    report = ApiTestReport(service)
    schema = _load(openapi, refusals)
    transport = _EventLoopTransport(client, loop, report)
    _use_transport(schema, transport)
    plans: list[tuple[APIOperation, Callable[[Case], dict[str, str]], Callable[[Case], dict[str, str]], list[Case]]]
    plans = []
    for operation in _operations(schema):
        chosen: list[tuple[str, str]] = []
        secured = bool(operation.definition.raw.get("security"))
        header_credentials = _credentials_for(operation, credentials or {})

        def headers_for(
            case: Case, label: str = operation.label, secured: bool = secured, chosen: list[tuple[str, str]] = chosen
        ) -> dict[str, str]:
            if not secured:
                return {}
            if not chosen:
                chosen.append(_first_accepted(case, transport, tokens))
                report.callers[label] = chosen[0][0]
            return {"Authorization": f"Bearer {chosen[0][1]}"}

        def positive_headers_for(
            case: Case,
            headers_for: Callable[[Case], dict[str, str]] = headers_for,
            header_credentials: dict[str, str] = header_credentials,
        ) -> dict[str, str]:
            return {**headers_for(case), **header_credentials}

        examples = example_cases(operation)
        report.examples[operation.label] = len(examples)
        plans.append((operation, headers_for, positive_headers_for, examples))
    # The documented examples of every operation first, in the document's order (a course is read and
    # edited before it is archived), then the generated cases, which may change or remove what the
    # examples name; as schemathesis's own examples phase precedes its fuzzing phase.
    for planned, _, positive, cases in plans:
        if cases:
            _run_operation(
                planned, transport, report, GenerationMode.POSITIVE, 1, positive, examples=cases, generate=False
            )
    for planned, negative, positive, _ in plans:
        _run_operation(planned, transport, report, GenerationMode.POSITIVE, max_examples, positive)
        _run_operation(planned, transport, report, GenerationMode.NEGATIVE, max_examples, negative)
    report.seconds = time.perf_counter() - started
    return report


def _credentials_for(operation: APIOperation, credentials: dict[str, str]) -> dict[str, str]:
    """The `credentials` (header name → value) among the header parameters `operation` documents."""
    documented = {
        str(p.get("name", "")).lower()
        for p in operation.definition.raw.get("parameters", [])
        if p.get("in") == "header"
    }
    return {name: value for name, value in credentials.items() if name.lower() in documented}


def _first_accepted(case: Case, transport: _EventLoopTransport, tokens: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """The first (caller, token) whose request for `case` is not refused with 403."""
    for caller, token in tokens:
        response = transport.send(case, headers={"Authorization": f"Bearer {token}"})
        if response.status_code != 403:  # noqa: PLR2004 - the status of a refused caller
            return caller, token
    return tokens[0]


def run_unauthenticated_tests(
    openapi: dict[str, Any],
    client: httpx.AsyncClient,
    loop: asyncio.AbstractEventLoop,
    *,
    service: str,
    forged_tokens: Sequence[tuple[str, str]],
    examples: int = UNAUTHENTICATED_EXAMPLES,
) -> ApiTestReport:
    """Every operation that declares the bearer scheme, without a token and with each forged one:
    each answer passes every check (so its 401 is documented), and none is a success.

    `forged_tokens` are (kind, token) pairs: signed with another key, expired, for another audience...
    """
    from schemathesis import GenerationMode

    started = time.perf_counter()
    report = ApiTestReport(service)
    schema = _load(openapi)
    transport = _EventLoopTransport(client, loop, report)
    _use_transport(schema, transport)
    for operation in _operations(schema):
        if not operation.definition.raw.get("security"):
            continue
        for kind, token in [("no token", ""), *forged_tokens]:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            statuses: list[int] = []

            def refused(_case: Case, response: Response, statuses: list[int] = statuses, kind: str = kind) -> None:
                statuses.append(response.status_code)
                assert not 200 <= response.status_code < 300, f"{kind}: {response.status_code} {response.text[:300]}"  # noqa: PLR2004

            _run_operation(
                operation,
                transport,
                report,
                GenerationMode.POSITIVE,
                examples,
                lambda _case, headers=headers: headers,  # type: ignore[misc]
                refused,
            )
            if 401 not in statuses:  # noqa: PLR2004
                report.fail(f"{operation.label} {kind}", f"never answered 401; statuses {statuses}")
    report.seconds = time.perf_counter() - started
    return report


# -- the tests a service imports -------------------------------------------------------------------


@pytest.fixture(scope="session")
def api_test_tokens(platform: TestPlatform, settings: ServiceSettings) -> list[tuple[str, str]]:
    """(caller, bearer token) pairs the API tests try, in order, per operation: every service, then an
    operator holding every role. Override in a service's conftest to try others first."""
    audience = settings.service_name
    tokens = [(name, service_token(platform, caller=name, audience=audience)) for name in SERVICE_CALLERS]
    with contextlib.suppress(ImportError):  # operators have their own tokens since issue 9 §3
        from academy_runtime.auth import OPERATOR_ROLES
        from academy_runtime.testing import operator_token

        tokens.append(("operator", operator_token(platform, roles=OPERATOR_ROLES, audience=audience)))
    return tokens


@pytest.fixture(scope="session")
def api_test_refusals() -> list[ExpectedRefusal]:
    """The statuses schema-valid requests may get per operation, each for a rule no schema can express
    (a 422 for an unknown category, a phone outside its numbering plan...). None by default; a service
    lists its own in its `test_api.py`. Operations taking an Idempotency-Key need not be listed for
    the reused key's 422."""
    return []


def _optional_fixture(request: pytest.FixtureRequest, name: str, default: Any) -> Any:
    """A service's own `name` fixture (defined in its test module or conftest), else `default`."""
    try:
        return request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        return default


def check_successes(report: ApiTestReport, allowed: Sequence[NoSuccess]) -> list[str]:
    """What is wrong with the run's coverage: an operation without a success that `allowed` does not
    name, an allowed one that is no operation or that did succeed (the list says more than is true)."""
    never = set(report.never_succeeded())
    excused = {item.operation for item in allowed}
    problems = [f"no 2xx from {op} (give it examples that succeed)" for op in sorted(never - excused)]
    problems += [
        f"api_test_no_success names {op}, which is no operation" for op in sorted(excused - set(report.by_operation))
    ]
    problems += [
        f"api_test_no_success names {op}, which did succeed: remove it"
        for op in sorted((excused & set(report.by_operation)) - never)
    ]
    return problems


@contextlib.asynccontextmanager
async def _app_client(service: ServiceDefinition, resources: Resources) -> Any:
    from academy_runtime.http import create_app

    app: FastAPI = create_app(service, resources.settings)
    app.state.resources = resources  # the test owns the resources; the app's lifespan is not run
    # A 500 comes back as the response the client would see, not as the app's exception.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=_REQUEST_TIMEOUT_S) as client:
        yield app, client


@pytest.mark.integration
async def test_api_conforms_to_openapi(
    service: ServiceDefinition,
    resources: Resources,
    api_test_tokens: list[tuple[str, str]],
    api_test_refusals: list[ExpectedRefusal],
    request: pytest.FixtureRequest,
) -> None:
    """Schemathesis, every check, positive and negative data, authenticated: 0 failures, and a success
    from every operation but those a service's `api_test_no_success` fixture names (none by default).

    A service may also define `api_test_credentials` (header name → value): header values besides the
    bearer token, such as a webhook's shared secret, that the positive cases send in place of generated
    ones on the operations documenting that header."""
    credentials: dict[str, str] = _optional_fixture(request, "api_test_credentials", {})
    no_success: list[NoSuccess] = _optional_fixture(request, "api_test_no_success", [])
    async with _app_client(service, resources) as (app, client):
        report = await asyncio.to_thread(
            run_api_tests,
            app.openapi(),
            client,
            asyncio.get_running_loop(),
            service=service.name,
            tokens=api_test_tokens,
            refusals=api_test_refusals,
            credentials=credentials,
        )
    print(f"\n[api tests] {report.summary()}")  # noqa: T201 - the figures belong in the test output
    print(f"[api tests] no success from: {', '.join(report.never_succeeded()) or 'none'}")  # noqa: T201
    assert not report.failures, f"{report.summary()}\n\n{report.describe_failures()}"
    problems = check_successes(report, no_success)
    assert not problems, "\n".join([report.summary(), *problems])


@pytest.mark.integration
async def test_api_refuses_unauthenticated(
    service: ServiceDefinition, resources: Resources, platform: TestPlatform
) -> None:
    """No token, a token signed with a key nobody trusts or with HS256, a tampered one, one for another
    audience, not a JWT: every authenticated operation answers 401, documented, never a success."""
    audience = resources.settings.service_name
    valid = service_token(platform, caller="gateway-bot", audience=audience)
    forged = [
        ("signed with another key", _signed_elsewhere(valid)),
        ("signed with a shared secret", _signed_with_secret(valid)),
        ("tampered", _tampered(valid)),
        ("for another audience", service_token(platform, caller="gateway-bot", audience=f"not-{audience}")),
        ("not a token", "not-a-jwt"),
    ]
    async with _app_client(service, resources) as (app, client):
        report = await asyncio.to_thread(
            run_unauthenticated_tests,
            app.openapi(),
            client,
            asyncio.get_running_loop(),
            service=service.name,
            forged_tokens=forged,
        )
    print(f"\n[api tests, unauthenticated] {report.summary()}")  # noqa: T201
    assert report.requests > 0 or not any(
        op.get("security") for path in app.openapi()["paths"].values() for op in path.values()
    )
    assert not report.failures, f"{report.summary()}\n\n{report.describe_failures()}"


def _claims(token: str, part: int = 1) -> dict[str, Any]:
    segment = token.split(".")[part]
    loaded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return loaded


def _signed_elsewhere(token: str) -> str:
    """`token`'s header and claims signed again with a fresh Ed25519 key nobody trusts."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    header = {k: v for k, v in _claims(token, 0).items() if k not in {"alg", "typ"}}
    signed: str = jwt.encode(_claims(token), Ed25519PrivateKey.generate(), "EdDSA", headers=header)
    return signed


def _signed_with_secret(token: str) -> str:
    """`token`'s claims signed with HS256 and a random secret (an algorithm a callee must refuse)."""
    import jwt

    signed: str = jwt.encode(_claims(token), secrets.token_urlsafe(32), "HS256")
    return signed


def _tampered(token: str) -> str:
    """`token` with its claims changed (the caller renamed) and its signature kept."""
    header, payload, signature = token.split(".")
    padded = payload + "=" * (-len(payload) % 4)
    claims = json.loads(base64.urlsafe_b64decode(padded))
    claims["iss"] = "billing" if claims.get("iss") != "billing" else "users"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"
