"""The bot benchmark: learners driving the whole platform through the Bot API emulator, at a fixed rate.

Subject: every service as `make run` starts it (`academy_devstack.stack.Stack`: each service's API and
worker, the Telegram and YooKassa emulators), on the run's own database, exchange, queues and Redis
prefix (`bench.platform.bench_platform`), with the demo catalog; the gateway's worker long-polls the
emulator. Baseline: `python -m bench.echo_bot`, a bare aiogram bot in its own process, long-polling the
same emulator as a second bot.

Learners are emulator users. Untimed, each registers through the bot (/start, consent, name, contact,
city) and is enrolled on free demo courses (progress's API, as the gateway would). Timed, each learner
repeats a cycle of five updates: «📚 Каталог курсов» → the course's category → the course → «Продолжить
обучение» (the lesson) → «✅ Урок пройден». The baseline's learners send a text, then press the echo's
button four times. Arrivals are open-loop: learner i acts at start + (i + k·N)/rate, so the platform gets
`rate` updates a second whatever it answers; a learner whose previous update is still unanswered acts late,
and its latency still counts from the time it was due (no coordinated omission).

Latency: from just before the learner's update is handed to the emulator (control API) to the moment the
emulator receives the bot's answering call (`sendMessage` / `editMessageText`, the screen the step
expects; the emulator's call log timestamps each call when it arrives). Both clocks are this machine's.
Points: from the «Урок пройден» of a course's last lesson to the `sendMessage` «⭐ +100 баллов за курс «…»»
(progress → bus → gamification → bus → the gateway's notification consumer, after the course's
congratulation → Telegram). A lesson's own points are told only when they reach a new level (by design,
`notify_points_awarded`), so only a course's last lesson is sure to bring points.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import httpx
from academy_billing.app import service as billing_service
from academy_catalog.app import service as catalog_service
from academy_catalog.demo.data import COURSES as DEMO_COURSES
from academy_devstack.stack import SERVICES, Process, Stack, StackConfig, free_port
from academy_gamification.app import service as gamification_service
from academy_gateway_bot.app import service as gateway_service
from academy_gateway_bot.callbacks import CatalogCb, category_ref
from academy_gateway_bot.settings import GatewaySettings
from academy_progress.app import service as progress_service
from academy_runtime.consumer import declare_consumer_queues
from academy_runtime.migrations import migrate
from academy_runtime.service import ServiceDefinition
from academy_runtime.testing import TestPlatform, service_token
from academy_tg_emulator.config import DEFAULT_BOT_TOKEN
from academy_users.app import service as users_service
from prometheus_client.parser import text_string_to_metric_families

from bench.platform import bench_platform
from bench.report import (
    RESULTS_DIR,
    latency_summary,
    loadavg,
    machine,
    process_cpu_seconds,
    render_table,
    say,
    write_json,
)

DEFINITIONS: dict[str, ServiceDefinition] = {
    "users": users_service,
    "catalog": catalog_service,
    "progress": progress_service,
    "gamification": gamification_service,
    "billing": billing_service,
    "gateway-bot": gateway_service,
}
ECHO_TOKEN = "654321:BENCH-ECHO"
WEBHOOK_SECRET = "bench-webhook-secret-0123456789"
SIDES = ("echo", "gateway")
STEPS = {
    "gateway": ("catalog", "category", "course", "lesson", "done"),
    "echo": ("text", "press1", "press2", "press3", "press4"),
}
CATALOG_TEXT = "📚 Каталог курсов"
# The points a course's last lesson brings: «⭐ +100 баллов за курс «…». Всего баллов: N.» (points-for-course).
# A lesson's own points are told only when they reach a new level, so only a course's last lesson is sure to
# bring a points notification.
POINTS_FOR_COURSE = "баллов за курс"
# The congratulation the course's points follow (notify-course-completed): timed too, to show which part of
# the way to the points takes the time (progress → the gateway, or the wait for the chat's next send slot).
CONGRATULATION = "Вы прошли курс"
VISIBLE = frozenset({"sendMessage", "editMessageText", "editMessageCaption", "editMessageReplyMarkup", "sendPhoto"})
GOALS_MS = {"answer_p99": 300.0, "points_p99": 2000.0}
LESSONS_PER_FREE_COURSE = 3
STRAGGLE_S = 2.0  # how long after its last slot a learner behind schedule may still send
POLL_S = 0.1  # the answers are timed by the emulator: polling less often delays only the next step
REGISTER_CONCURRENCY = 50
READY_TIMEOUT_S = 120.0


@dataclass
class Options:
    learners: int = 100
    rate: float = 50.0  # updates per second, all learners together
    seconds: float = 12.0  # length of a counted round (per side)
    rounds: int = 2  # counted rounds per side
    warmup_seconds: float = 5.0  # one warm-up round per side first, not counted
    answer_timeout_s: float = 5.0
    points_timeout_s: float = 5.0  # after the round's last update: then missing
    profile: bool = False


# -- the learners -------------------------------------------------------------------------------------


def inline_buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    markup = message.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard") or [] for button in row]


def button_data(message: dict[str, Any], accept: Callable[[str], bool]) -> str | None:
    for button in inline_buttons(message):
        data = button.get("callback_data")
        if isinstance(data, str) and accept(data):
            return data
    return None


@dataclass(frozen=True)
class FreeCourse:
    id: int
    category: str
    title: str

    @property
    def category_data(self) -> str:
        return CatalogCb(action="category", category=category_ref(self.category)).pack()


@dataclass
class Learner:
    user_id: int  # Telegram id (= chat id)
    number: int
    courses: list[FreeCourse] = field(default_factory=list)
    course_index: int = 0
    step: int = 0
    screen: int = 0  # the message the next press goes to
    data: str = ""  # the callback data the next press sends
    platform_id: int = 0  # the users service's id

    @property
    def course(self) -> FreeCourse | None:
        return self.courses[self.course_index] if self.course_index < len(self.courses) else None

    def user(self) -> dict[str, Any]:
        return {"id": self.user_id, "first_name": "Ученица", "language_code": "ru"}

    def phone(self) -> str:
        n = self.number
        return f"+7 916 {n // 10_000 % 1000:03d}-{n // 100 % 100:02d}-{n % 100:02d}"


Check = Callable[[str, dict[str, Any]], bool]


class Flow:
    """What a learner of one side sends next, which answer it waits for, and what it remembers of it."""

    side: str

    def request(self, learner: Learner) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def check(self, learner: Learner) -> Check:
        raise NotImplementedError

    def advance(self, learner: Learner, message: dict[str, Any]) -> bool:
        """Move on after the answer; True when this update completed a course (its points will be told)."""
        raise NotImplementedError

    def press(self, learner: Learner) -> tuple[str, dict[str, Any]]:
        return "/_emulator/updates/callback", {
            "user": learner.user(),
            "message_id": learner.screen,
            "data": learner.data,
        }


class GatewayFlow(Flow):
    side = "gateway"

    def request(self, learner: Learner) -> tuple[str, dict[str, Any]]:
        if learner.step == 0:
            return "/_emulator/updates/message", {"user": learner.user(), "text": CATALOG_TEXT}
        return self.press(learner)

    def check(self, learner: Learner) -> Check:
        course = learner.course
        assert course is not None
        step, screen = learner.step, learner.screen

        def edited(method: str, message: dict[str, Any], prefix: str) -> bool:
            return (
                method == "editMessageText"
                and message.get("message_id") == screen
                and button_data(message, lambda d: d.startswith(prefix)) is not None
            )

        if step == 0:
            return lambda method, message: (
                method == "sendMessage" and (button_data(message, lambda d: d == course.category_data) is not None)
            )
        if step == 1:
            return lambda method, message: edited(method, message, f"crs:card:{course.id}:")
        if step == 2:
            return lambda method, message: edited(method, message, f"lsn:open:{course.id}:")
        if step == 3:
            return lambda method, message: edited(method, message, f"lsn:done:{course.id}:")
        return lambda method, message: method == "sendMessage" and "пройден" in str(message.get("text") or "")

    def advance(self, learner: Learner, message: dict[str, Any]) -> bool:
        course = learner.course
        assert course is not None
        step = learner.step
        prefixes = {0: course.category_data, 1: f"crs:card:{course.id}:", 2: f"lsn:open:{course.id}:"}
        prefixes[3] = f"lsn:done:{course.id}:"
        if step < 4:
            prefix = prefixes[step]
            learner.data = button_data(message, lambda d: d.startswith(prefix)) or ""
            learner.screen = int(message.get("message_id") or learner.screen)
            learner.step += 1
            return False
        learner.step = 0
        if "последний" in str(message.get("text") or ""):  # the course's last lesson: its points will come
            learner.course_index += 1
            return True
        return False


class EchoFlow(Flow):
    side = "echo"

    def request(self, learner: Learner) -> tuple[str, dict[str, Any]]:
        if learner.step == 0:
            return "/_emulator/updates/message", {"user": learner.user(), "text": "ping"}
        return self.press(learner)

    def check(self, learner: Learner) -> Check:
        step, screen = learner.step, learner.screen
        wanted = f"echo:{step + 1}"
        method_wanted = "sendMessage" if step == 0 else "editMessageText"

        def matches(method: str, message: dict[str, Any]) -> bool:
            if method != method_wanted or button_data(message, lambda d: d == wanted) is None:
                return False
            return step == 0 or message.get("message_id") == screen

        return matches

    def advance(self, learner: Learner, message: dict[str, Any]) -> bool:
        learner.screen = int(message.get("message_id") or learner.screen)
        learner.data = f"echo:{learner.step + 1}"
        learner.step = (learner.step + 1) % 5
        return False


# -- what the bots did: the emulator's call log -------------------------------------------------------


@dataclass
class Recorder:
    """One round of one side."""

    side: str
    answer: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # by step, from due time
    service: list[float] = field(default_factory=list)  # from the moment actually sent
    late: list[float] = field(default_factory=list)  # how late the sends were
    points: list[float] = field(default_factory=list)
    congratulation: list[float] = field(default_factory=list)
    points_missing: int = 0
    missing_examples: list[list[str]] = field(default_factory=list)  # what a chat got instead, a few chats
    sent: int = 0
    timeouts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    exhausted: int = 0  # slots skipped: the learner had no lesson left
    unsent: int = 0  # updates still due when the round was over (their learner was that far behind)
    first_due: float = 0.0
    last_answer: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    bot_updates: dict[str, float] = field(default_factory=dict)

    def all_answers(self) -> list[float]:
        return [x for values in self.answer.values() for x in values]


@dataclass
class ChatWatch:
    waiter: tuple[Check, float, asyncio.Future[tuple[float, str, dict[str, Any]]]] | None = None
    points: deque[tuple[float, Recorder]] = field(default_factory=deque)
    congratulations: deque[tuple[float, Recorder]] = field(default_factory=deque)
    history: deque[str] = field(default_factory=lambda: deque(maxlen=8))  # for error messages


class CallLog:
    """Polls the emulator's call log of one bot and hands each call to its chat's watcher."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.token = token
        self.chats: dict[int, ChatWatch] = defaultdict(ChatWatch)
        self.since = 0
        self.failed: Counter[str] = Counter()
        self.last_send = 0.0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        calls = await self._fetch()  # start after what is there already
        self.since = max((c["seq"] for c in calls), default=0)
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _fetch(self) -> list[dict[str, Any]]:
        params = {"token": self.token, "since": self.since, "exclude": "getUpdates"}
        response = await self.http.get("/_emulator/calls", params=params)
        response.raise_for_status()
        calls: list[dict[str, Any]] = response.json()
        return calls

    async def _run(self) -> None:
        while True:
            try:
                calls = await self._fetch()
            except httpx.HTTPError as exc:
                say(f"  call log: {exc!r}")
                await asyncio.sleep(0.5)
                continue
            for call in sorted(calls, key=lambda c: c["seq"]):
                self.since = max(self.since, call["seq"])
                self._dispatch(call)
            await asyncio.sleep(POLL_S)

    def _dispatch(self, call: dict[str, Any]) -> None:
        method = str(call.get("method"))
        if not call.get("ok"):
            self.failed[f"{method} {call.get('error_code')}"] += 1
            return
        if method not in VISIBLE:
            return
        try:
            chat_id = int((call.get("params") or {}).get("chat_id"))
        except (TypeError, ValueError):
            return
        if method == "sendMessage":
            self.last_send = time.time()
        at = float(call["at"])
        message = dict(call["result"]) if isinstance(call.get("result"), dict) else {}
        # A reply keyboard (the contact button) is in the call only: Telegram's message carries inline ones.
        message.setdefault("reply_markup", (call.get("params") or {}).get("reply_markup"))
        watch = self.chats[chat_id]
        text = str(message.get("text") or "")
        watch.history.append(
            f"{method} #{message.get('message_id')} {text[:50]!r} {len(inline_buttons(message))} buttons"
        )
        # The gateway sends notifications due together as one message: the congratulation and the points
        # may arrive in the same one.
        notified = False
        if method == "sendMessage" and POINTS_FOR_COURSE in text and watch.points:
            due, recorder = watch.points.popleft()
            recorder.points.append(at - due)
            notified = True
        if method == "sendMessage" and CONGRATULATION in text and watch.congratulations:
            due, recorder = watch.congratulations.popleft()
            recorder.congratulation.append(at - due)
            notified = True
        if notified:
            return
        if watch.waiter is not None:
            check, sent, future = watch.waiter
            if at >= sent and not future.done() and check(method, message):
                future.set_result((at, method, message))

    async def quiet(self, seconds: float, limit: float) -> None:
        """Until the bot has sent no message for `seconds` (notifications drained), at most `limit`."""
        deadline, since = time.monotonic() + limit, time.time()
        while time.monotonic() < deadline and time.time() - max(self.last_send, since) < seconds:  # noqa: ASYNC110
            await asyncio.sleep(0.2)


class Driver:
    """Sends the learners' updates through the control API and waits for the answers in the call log."""

    def __init__(self, http: httpx.AsyncClient, log: CallLog, flow: Flow, options: Options) -> None:
        self.http = http
        self.log = log
        self.flow = flow
        self.options = options

    async def update(
        self, learner: Learner, check: Check, path: str, body: dict[str, Any], timeout: float
    ) -> tuple[float, float, dict[str, Any]]:
        """Send one update; (sent at, answered at, the answering message). Raises TimeoutError, HTTPError."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[float, str, dict[str, Any]]] = loop.create_future()
        watch = self.log.chats[learner.user_id]
        sent = time.time()
        watch.waiter = (check, sent, future)
        try:
            response = await self.http.post(path, json=body, params={"token": self.log.token})
            if response.status_code != 200:
                raise httpx.HTTPStatusError(response.text[:200], request=response.request, response=response)
            at, _method, message = await asyncio.wait_for(future, timeout)
        finally:
            watch.waiter = None
        return sent, at, message

    async def learner_round(self, learner: Learner, slots: list[float], recorder: Recorder) -> None:
        flow = self.flow
        # A learner behind schedule stops sending this long after its last slot: a bot that does not keep up
        # would otherwise stretch the round by its whole backlog. What it did not send is counted.
        stop = (slots[-1] if slots else 0.0) + STRAGGLE_S
        for number, due in enumerate(slots):
            if time.time() > stop:
                recorder.unsent += len(slots) - number
                break
            if flow.side == "gateway" and learner.course is None:
                recorder.exhausted += 1
                continue
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            recorder.late.append(max(0.0, -delay))
            step = STEPS[flow.side][learner.step]
            path, body = flow.request(learner)
            recorder.sent += 1
            try:
                _sent, at, message = await self.update(
                    learner, flow.check(learner), path, body, self.options.answer_timeout_s
                )
            except TimeoutError:
                recorder.timeouts[step] += 1
                learner.step = 0
                continue
            except httpx.HTTPError as exc:
                recorder.errors[f"{step}: {str(exc)[:80]}"] += 1
                learner.step = 0
                continue
            recorder.answer[step].append(at - due)
            recorder.service.append(at - _sent)
            recorder.last_answer = max(recorder.last_answer, at)
            if flow.advance(learner, message):
                self.log.chats[learner.user_id].points.append((due, recorder))
                self.log.chats[learner.user_id].congratulations.append((due, recorder))

    async def run_round(self, learners: list[Learner], seconds: float, recorder: Recorder) -> None:
        rate, n = self.options.rate, len(learners)
        start = time.time() + 0.3
        total = int(seconds * rate)
        slots: list[list[float]] = [[] for _ in learners]
        for k in range(total):
            slots[k % n].append(start + k / rate)
        recorder.first_due = start
        await asyncio.gather(*(self.learner_round(lr, s, recorder) for lr, s in zip(learners, slots, strict=True)))
        # The points notifications still on their way (only the gateway sends them).
        deadline = time.monotonic() + self.options.points_timeout_s
        pending = [self.log.chats[lr.user_id].points for lr in learners]
        while any(pending) and time.monotonic() < deadline:  # noqa: ASYNC110 - filled by the call log's task
            await asyncio.sleep(0.1)
        for learner, queue in zip(learners, pending, strict=True):
            if queue and len(recorder.missing_examples) < 3:
                recorder.missing_examples.append(list(self.log.chats[learner.user_id].history))
            recorder.points_missing += len(queue)
            queue.clear()
            self.log.chats[learner.user_id].congratulations.clear()


# -- the platform -------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running_platform(platform: TestPlatform, log_dir: Path) -> AsyncIterator[Stack]:
    """Every service migrated, its queues declared, the demo catalog loaded, and the stack started."""
    envs: dict[str, dict[str, str]] = {}
    for name, definition in DEFINITIONS.items():
        schema = definition.metadata.schema or name
        env = platform.settings_env(schema)
        env["TELEGRAM_WEBHOOK_SECRET"] = WEBHOOK_SECRET
        envs[name] = env
        await asyncio.to_thread(migrate, definition, "upgrade", "head", database_url=platform.database_url(schema))
        await declare_consumer_queues(platform.settings_for(definition), definition.consumers)
    resources = await catalog_service.open_resources(platform.settings_for(catalog_service))
    try:
        await catalog_service.commands["demo-catalog"].run(resources)
    finally:
        await resources.close()
    stack = Stack(
        StackConfig(
            env=envs,
            ports={name: (free_port(), free_port()) for name, *_ in SERVICES},
            emulator_port=free_port(),
            log_dir=log_dir,
        )
    )
    try:
        await asyncio.to_thread(stack.start)
        yield stack
    finally:
        await asyncio.to_thread(stack.stop)
        for process in stack.processes:
            if "Traceback" in process.tail(200):
                say(f"  {process.name}'s log ends with:\n{process.tail(12)}")


def echo_process(stack: Stack, log_dir: Path) -> Process:
    return Process(
        "echo-bot",
        [sys.executable, "-m", "bench.echo_bot", "--api", stack.emulator_url, "--token", ECHO_TOKEN],
        {**os.environ, "PYTHONUNBUFFERED": "1"},
        log_dir / "echo-bot.log",
    )


async def wait_polling(http: httpx.AsyncClient, token: str, process: Process) -> None:
    """Until the bot's long poll is in the call log (it started and asked for updates)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited:\n{process.tail()}")
        response = await http.get("/_emulator/calls", params={"token": token, "method": "getUpdates"})
        if response.status_code == 200 and response.json():
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{process.name} never polled:\n{process.tail()}")


async def free_courses(stack: Stack, platform: TestPlatform) -> list[FreeCourse]:
    """The demo catalog's free courses, with the ids the catalog gave them."""
    token = service_token(platform, caller="gateway-bot", audience="catalog")
    wanted = [c for c in DEMO_COURSES if c.price == 0 and len(c.lessons) == LESSONS_PER_FREE_COURSE]
    found: list[FreeCourse] = []
    async with httpx.AsyncClient(base_url=stack.api_url("catalog"), timeout=10) as client:
        for demo in wanted:
            response = await client.get(
                "/internal/courses",
                params={"category": demo.category, "page": 1, "page_size": 50},
                headers={"authorization": f"Bearer {token}"},
            )
            response.raise_for_status()
            match = next((c for c in response.json()["items"] if c["title"] == demo.title), None)
            if match is not None:
                found.append(FreeCourse(int(match["id"]), demo.category, demo.title))
    if not found:
        raise RuntimeError("the demo catalog has no free course with 3 lessons")
    return found


# -- warm-up: registration and enrolment (untimed) ----------------------------------------------------


def registration_steps(learner: Learner) -> list[tuple[str, dict[str, Any], Check]]:
    user = learner.user()

    def sent_message(method: str, _message: dict[str, Any]) -> bool:
        return method == "sendMessage"

    def consent_or_menu(method: str, message: dict[str, Any]) -> bool:
        # /start: the consent (inline buttons) for a newcomer, the main menu for a learner registered already.
        return method == "sendMessage" and (bool(inline_buttons(message)) or welcome_back(method, message))

    def asks_contact(method: str, message: dict[str, Any]) -> bool:
        return method == "sendMessage" and "request_contact" in str(message.get("reply_markup"))

    def welcome(method: str, message: dict[str, Any]) -> bool:
        return method == "sendMessage" and "Beauty Academy" in str(message.get("text") or "")

    return [
        ("/_emulator/updates/command", {"user": user, "command": "start"}, consent_or_menu),
        ("consent", {}, sent_message),  # the press: its message and data come from the answer before
        ("/_emulator/updates/message", {"user": user, "text": "Анна Тестова"}, asks_contact),
        ("/_emulator/updates/contact", {"user": user, "phone_number": learner.phone(), "own": True}, sent_message),
        ("/_emulator/updates/message", {"user": user, "text": "Москва"}, welcome),
    ]


async def register(driver: Driver, learner: Learner, attempts: int = 3) -> None:
    """Through the bot's conversation; an attempt whose answer does not come (an update the gateway failed
    on is not delivered again) starts over with /start, which a learner already registered passes."""
    for attempt in range(1, attempts + 1):
        try:
            await register_once(driver, learner)
        except TimeoutError:
            if attempt == attempts:
                raise
            say(f"  registration of {learner.user_id}: no answer, starting over (attempt {attempt + 1})")
        else:
            return


def welcome_back(method: str, message: dict[str, Any]) -> bool:
    return method == "sendMessage" and "С возвращением" in str(message.get("text") or "")  # welcome-back


async def register_once(driver: Driver, learner: Learner) -> None:
    consent: dict[str, Any] = {}
    for number, (step_path, step_body, check) in enumerate(registration_steps(learner)):
        path, body = step_path, step_body
        if path == "consent":
            data = button_data(consent, lambda _d: True)
            path = "/_emulator/updates/callback"
            body = {"user": learner.user(), "message_id": consent.get("message_id"), "data": data}
        try:
            _sent, _at, message = await driver.update(learner, check, path, body, timeout=20)
        except TimeoutError:
            history = list(driver.log.chats[learner.user_id].history)
            raise TimeoutError(f"registration of {learner.user_id}: no answer to {body}; the chat: {history}") from None
        if number == 0:
            if welcome_back("sendMessage", message):
                return  # registered by an attempt before, whose last answer was lost
            consent = message


async def enrol(stack: Stack, platform: TestPlatform, learners: list[Learner], courses: int) -> None:
    """Each learner on its first `courses` free courses, through progress's API with the gateway's token."""
    users_token = service_token(platform, caller="gateway-bot", audience="users")
    progress_token = service_token(platform, caller="gateway-bot", audience="progress")
    sem = asyncio.Semaphore(REGISTER_CONCURRENCY)
    async with (
        httpx.AsyncClient(base_url=stack.api_url("users"), timeout=10) as users,
        httpx.AsyncClient(base_url=stack.api_url("progress"), timeout=10) as progress,
    ):

        async def one(learner: Learner) -> None:
            async with sem:
                response = await users.get(
                    f"/internal/users/by-telegram/{learner.user_id}",
                    headers={"authorization": f"Bearer {users_token}"},
                )
                response.raise_for_status()
                learner.platform_id = int(response.json()["id"])
                for course in learner.courses[:courses]:
                    deadline = time.monotonic() + 60
                    while True:  # progress hears of the learner and the courses over the bus
                        response = await progress.post(
                            f"/internal/learners/{learner.platform_id}/enrolments",
                            json={"course_id": course.id},
                            headers={
                                "authorization": f"Bearer {progress_token}",
                                "idempotency-key": f"bench-enrol-{learner.platform_id}-{course.id}",
                            },
                        )
                        if response.status_code == 200 or time.monotonic() > deadline:
                            response.raise_for_status()
                            break
                        await asyncio.sleep(0.5)
                learner.courses = learner.courses[:courses]

        await asyncio.gather(*(one(learner) for learner in learners))


# -- measuring ----------------------------------------------------------------------------------------


async def bot_updates(http: httpx.AsyncClient, stack: Stack) -> dict[str, float]:
    """The gateway worker's `academy_bot_updates_total` by outcome (handled, throttled, failed...)."""
    try:
        response = await http.get(f"http://127.0.0.1:{stack.config.ports['gateway-bot'][1]}/metrics")
    except httpx.HTTPError:
        return {}
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "academy_bot_updates_total":
                out[sample.labels.get("outcome", "?")] = sample.value
    return out


def cpu_snapshot(processes: list[Process]) -> dict[str, float]:
    snapshot = {p.name: process_cpu_seconds(p.popen.pid) for p in processes if p.popen is not None}
    snapshot["bench (load generator)"] = time.process_time()
    return snapshot


async def measured_round(
    driver: Driver, learners: list[Learner], seconds: float, *, processes: list[Process], stack: Stack, label: str
) -> Recorder:
    recorder = Recorder(driver.flow.side)
    cpu = cpu_snapshot(processes)
    updates = await bot_updates(driver.http, stack)
    await driver.run_round(learners, seconds, recorder)
    recorder.cpu = {k: v - cpu.get(k, 0.0) for k, v in cpu_snapshot(processes).items()}
    after = await bot_updates(driver.http, stack)
    recorder.bot_updates = {k: v - updates.get(k, 0.0) for k, v in after.items() if v - updates.get(k, 0.0)}
    answers = recorder.all_answers()
    p99 = latency_summary(answers)["p99"] if answers else math.nan
    points = f", points p99 {latency_summary(recorder.points)['p99']:.0f} ms" if recorder.points else ""
    lost = sum(recorder.timeouts.values()) + sum(recorder.errors.values())
    say(
        f"  {label}: {driver.flow.side:7s} {len(answers)}/{recorder.sent} answered ({lost} lost), "
        f"answer p99 {p99:.0f} ms{points}"
    )
    return recorder


async def profile_round(
    driver: Driver, learners: list[Learner], stack: Stack, seconds: float, started: datetime
) -> tuple[Recorder, str, Path]:
    """The gateway's worker again, under cProfile (`bench.profiled`), for one more (uncounted) round."""
    worker = stack.process("gateway-bot-worker")
    await asyncio.to_thread(worker.stop)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"bot-{started.strftime('%Y%m%dT%H%M%SZ')}-gateway-worker.prof"
    original = list(worker.command)
    worker.command = [sys.executable, "-m", "bench.profiled", str(path), "academy_gateway_bot.app:main", "worker"]
    since = driver.log.since
    worker.start()
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:  # its first long poll after the restart
            response = await driver.http.get(
                "/_emulator/calls", params={"method": "getUpdates", "since": since, "token": driver.log.token}
            )
            if response.json() or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        recorder = await measured_round(
            driver, learners, seconds, processes=[worker], stack=stack, label="profiled round"
        )
    finally:
        await asyncio.to_thread(worker.stop)
        worker.command = original
        await asyncio.to_thread(worker.start)
    text = io.StringIO()
    if path.exists():
        stats = pstats.Stats(str(path), stream=text)
        text.write(time_by_package(stats) + "\n")
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(45)
    else:
        text.write(f"no profile was written ({path}); the worker's log:\n{worker.tail()}\n")
    return recorder, text.getvalue(), path


def time_by_package(stats: pstats.Stats) -> str:
    """Internal time summed by where the code lives: a first look at where the worker's time goes."""
    groups: dict[str, float] = defaultdict(float)
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    for (file, _line, function), (_cc, _nc, tottime, *_rest) in raw.items():
        if file == "~":
            idle = "poll" in function
            key = "(waiting in epoll: idle)" if idle else "(C functions: socket I/O, builtins)"
        elif "site-packages/" in file:
            key = file.split("site-packages/", 1)[1].split("/", 1)[0]
        elif "/src/academy_" in file:
            key = file.split("/src/", 1)[1].split("/", 1)[0]
        elif "/lib/python3" in file:
            key = "stdlib " + file.split("/lib/python3", 1)[1].split("/", 2)[1].removesuffix(".py")
        else:
            key = file
        groups[key] += tottime
    total = sum(groups.values()) or 1.0
    ranked = sorted(groups.items(), key=lambda kv: -kv[1])[:20]
    rows = [(key, f"{seconds:.2f} s", f"{seconds / total:.1%}") for key, seconds in ranked]
    return "Internal time by package:\n" + render_table(("where", "time", "share"), rows)


# -- the suite ----------------------------------------------------------------------------------------


def courses_needed(options: Options) -> int:
    """Free courses each learner needs for the run's lesson completions (one every five updates)."""
    seconds = options.warmup_seconds + options.rounds * options.seconds + (options.seconds if options.profile else 0)
    per_learner = seconds * options.rate / 5 / options.learners
    return math.ceil(per_learner / LESSONS_PER_FREE_COURSE) + 1


@dataclass
class Measurements:
    """What a run measured, and how long getting there took."""

    recorders: dict[str, list[Recorder]] = field(default_factory=lambda: {side: [] for side in SIDES})
    warmup: dict[str, Recorder] = field(default_factory=dict)
    setup: dict[str, float] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    run_id: str = ""
    profiled: Recorder | None = None
    profile_text: str = ""
    profile_path: Path | None = None


async def prepare_learners(
    options: Options, stack: Stack, platform: TestPlatform, driver: Driver, m: Measurements
) -> dict[str, list[Learner]]:
    """Untimed: the learners registered through the bot and enrolled on free courses; each side's learners."""
    courses = await free_courses(stack, platform)
    base = 7_000_000_000 + int(time.time()) % 100_000 * 10_000
    learners = [Learner(user_id=base + i, number=i + 1, courses=list(courses)) for i in range(options.learners)]
    t = time.perf_counter()
    sem = asyncio.Semaphore(REGISTER_CONCURRENCY)

    async def registered(learner: Learner) -> None:
        async with sem:
            await register(driver, learner)

    await asyncio.gather(*(registered(learner) for learner in learners))
    m.setup["registration_s"] = time.perf_counter() - t
    say(f"  {len(learners)} learners registered in {m.setup['registration_s']:.0f}s")
    t = time.perf_counter()
    enrolments = min(len(courses), courses_needed(options))
    await enrol(stack, platform, learners, enrolments)
    await driver.log.quiet(2.0, 40.0)  # the welcome and «course opened» notifications
    m.setup["enrolment_s"] = time.perf_counter() - t
    say(f"  enrolled on {enrolments} free course(s) each in {m.setup['enrolment_s']:.0f}s (notifications drained)")
    # The same users (chats) on both sides, each side's learners with a state of their own.
    return {"gateway": learners, "echo": [Learner(learner.user_id, learner.number) for learner in learners]}


async def drive_sides(  # noqa: PLR0917 - the run's parts, named where it is called
    options: Options,
    started: datetime,
    stack: Stack,
    platform: TestPlatform,
    http: httpx.AsyncClient,
    echo: Process,
    m: Measurements,
) -> None:
    async with CallLog(http, DEFAULT_BOT_TOKEN) as gateway_log, CallLog(http, ECHO_TOKEN) as echo_log:
        drivers = {
            "gateway": Driver(http, gateway_log, GatewayFlow(), options),
            "echo": Driver(http, echo_log, EchoFlow(), options),
        }
        sides = await prepare_learners(options, stack, platform, drivers["gateway"], m)
        processes = [*stack.processes, echo]
        for side in SIDES:
            m.warmup[side] = await measured_round(
                drivers[side], sides[side], options.warmup_seconds, processes=processes, stack=stack, label="warm-up"
            )
        for number in range(options.rounds):
            for side in SIDES if number % 2 == 0 else tuple(reversed(SIDES)):
                label = f"round {number + 1}/{options.rounds}"
                m.recorders[side].append(
                    await measured_round(
                        drivers[side], sides[side], options.seconds, processes=processes, stack=stack, label=label
                    )
                )
        if options.profile:
            m.profiled, m.profile_text, m.profile_path = await profile_round(
                drivers["gateway"], sides["gateway"], stack, options.seconds, started
            )
        m.failed = {**gateway_log.failed, **{f"echo {k}": v for k, v in echo_log.failed.items()}}


async def measure(options: Options, started: datetime) -> Measurements:
    m = Measurements()
    with tempfile.TemporaryDirectory(prefix="academy-bench-bot-") as tmp:
        # The processes' logs go away with the run unless BENCH_BOT_LOG_DIR names a directory to keep them in.
        log_dir = Path(os.environ.get("BENCH_BOT_LOG_DIR") or tmp)
        async with bench_platform("bot", list(DEFINITIONS.values())) as platform:
            m.run_id = platform.run_id
            t = time.perf_counter()
            async with running_platform(platform, log_dir) as stack:
                m.setup["platform_start_s"] = time.perf_counter() - t
                say(f"  the platform is up in {m.setup['platform_start_s']:.0f}s (logs in {log_dir})")
                limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
                async with httpx.AsyncClient(base_url=stack.emulator_url, timeout=30, limits=limits) as http:
                    response = await http.post(
                        "/_emulator/bots", json={"token": ECHO_TOKEN, "username": "bench_echo_bot"}
                    )
                    response.raise_for_status()
                    echo = echo_process(stack, log_dir)
                    echo.start()
                    try:
                        await wait_polling(http, ECHO_TOKEN, echo)
                        await drive_sides(options, started, stack, platform, http, echo, m)
                    finally:
                        await asyncio.to_thread(echo.stop)
    return m


async def run(options: Options) -> dict[str, Any]:
    started = datetime.now(UTC)
    wall = time.perf_counter()
    load_start = loadavg()
    throttle = GatewaySettings.model_fields["throttle_updates_per_minute"].default
    per_learner = options.rate * 60 / options.learners
    if per_learner > throttle * 0.85:
        say(
            f"warning: {per_learner:.0f} updates a minute per learner is near the gateway's per-learner limit "
            f"({throttle}/min, THROTTLE_UPDATES_PER_MINUTE): use more learners or a lower rate"
        )
    per_learner_updates = (options.warmup_seconds + options.rounds * options.seconds) * options.rate / options.learners
    if per_learner_updates < 10:
        say(
            f"warning: each learner sends {per_learner_updates:.0f} updates in the whole run, fewer than two cycles of "
            "five: few or no lessons will be completed (fewer learners or longer rounds)"
        )
    m = await measure(options, started)
    results = summarize(options, m)
    results.update(
        started_at=started.isoformat(),
        run_id=m.run_id,
        wall_seconds=round(time.perf_counter() - wall, 1),
        machine={**machine(), "loadavg_start": load_start, "loadavg_end": loadavg()},
    )
    if m.profile_path is not None:
        results["profile"] = str(m.profile_path)
    path = write_json(results, started, suite="bot")
    print_report(results, path)
    if m.profile_text:
        print()
        print(f"The gateway's worker under cProfile for one more round ({m.profile_path}):")
        print(m.profile_text)
    return results


def side_summary(rounds: list[Recorder], seconds: float) -> dict[str, Any]:
    answers = [x for r in rounds for x in r.all_answers()]
    sent = sum(r.sent for r in rounds)
    steps: dict[str, list[float]] = defaultdict(list)
    for r in rounds:
        for step, values in r.answer.items():
            steps[step] += values
    cpu: dict[str, float] = defaultdict(float)
    for r in rounds:
        for name, value in r.cpu.items():
            cpu[name] += value
    bot_updates: dict[str, float] = defaultdict(float)
    for r in rounds:
        for name, value in r.bot_updates.items():
            bot_updates[name] += value
    rates = [len(r.all_answers()) / max(seconds, r.last_answer - r.first_due) for r in rounds if r.all_answers()]
    return {
        "sent": sent,
        "unsent": sum(r.unsent for r in rounds),
        "answered": len(answers),
        "timeouts": dict(sum((r.timeouts for r in rounds), Counter())),
        "errors": dict(sum((r.errors for r in rounds), Counter())),
        "updates_per_s": rates,
        "updates_per_s_median": statistics.median(rates) if rates else math.nan,
        "answer_ms": latency_summary(answers),
        "answer_ms_per_round_p99": [latency_summary(r.all_answers())["p99"] for r in rounds],
        "service_ms": latency_summary([x for r in rounds for x in r.service]),
        "late_sends": sum(1 for r in rounds for x in r.late if x > 0.05),
        "late_ms": latency_summary([x for r in rounds for x in r.late]),
        "steps_ms": {step: latency_summary(values) for step, values in steps.items()},
        "points_ms": latency_summary([x for r in rounds for x in r.points]),
        "congratulation_ms": latency_summary([x for r in rounds for x in r.congratulation]),
        "points_missing": sum(r.points_missing for r in rounds),
        "points_missing_examples": [example for r in rounds for example in r.missing_examples][:3],
        "cpu_ms_per_update": {
            name: value * 1000 / len(answers) for name, value in sorted(cpu.items(), key=lambda kv: -kv[1]) if answers
        },
        "bot_updates": dict(bot_updates),
    }


def summarize(options: Options, m: Measurements) -> dict[str, Any]:
    results: dict[str, Any] = {
        "benchmark": "bot",
        "config": {**asdict(options), "updates_per_cycle": 5, "steps": STEPS},
        "setup_seconds": m.setup,
        "goals_ms": GOALS_MS,
        "echo": side_summary(m.recorders["echo"], options.seconds),
        "gateway": side_summary(m.recorders["gateway"], options.seconds),
        "warmup": {side: side_summary([r], options.warmup_seconds) for side, r in m.warmup.items()},
        "failed_bot_api_calls": m.failed,
        "slots_without_lesson": sum(r.exhausted for rs in m.recorders.values() for r in rs),
    }
    if m.profiled is not None:
        results["profiled_round"] = side_summary([m.profiled], options.seconds)
    gateway, echo = results["gateway"], results["echo"]
    results["ratios"] = {
        "answer_p50": gateway["answer_ms"]["p50"] / echo["answer_ms"]["p50"],
        "answer_p99": gateway["answer_ms"]["p99"] / echo["answer_ms"]["p99"],
        "updates_per_s": gateway["updates_per_s_median"] / echo["updates_per_s_median"],
    }
    # None: no sample (e.g. no course completed in the rounds), neither met nor missed.
    results["goals_met"] = {
        "answer_p99": gateway["answer_ms"]["p99"] < GOALS_MS["answer_p99"] if gateway["answer_ms"]["n"] else None,
        "points_p99": gateway["points_ms"]["p99"] < GOALS_MS["points_p99"] if gateway["points_ms"]["n"] else None,
    }
    return results


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.0f} ms"


def _x(subject: float, base: float) -> str:
    if not base or math.isnan(base) or math.isnan(subject):
        return "-"
    return f"{subject / base:.2f}x"


def print_report(results: dict[str, Any], path: Path) -> None:
    m, cfg = results["machine"], results["config"]
    echo, gateway = results["echo"], results["gateway"]
    print()
    print(
        f"The bot under load: the whole platform's gateway vs a bare aiogram echo bot, on one Bot API emulator - "
        f"{m['nproc']} CPU(s), Python {m['python']}"
    )
    print(
        f"{cfg['learners']} learners, {cfg['rate']:.0f} updates/s open-loop, {cfg['rounds']} counted round(s) of "
        f"{cfg['seconds']:.0f}s per side (sides alternating, after a {cfg['warmup_seconds']:.0f}s warm-up round each); "
        f"load avg {m['loadavg_start']} -> {m['loadavg_end']}"
    )
    print()
    rows: list[tuple[str, ...]] = []

    def add(metric: str, b: float, s: float) -> None:
        rows.append((metric, _ms(b), _ms(s), _x(s, b)))

    rows.append(
        (
            "updates answered / sent",
            f"{echo['answered']}/{echo['sent']}",
            f"{gateway['answered']}/{gateway['sent']}",
            "",
        )
    )
    rows.append(
        (
            "updates/s answered (median of rounds)",
            f"{echo['updates_per_s_median']:.1f}",
            f"{gateway['updates_per_s_median']:.1f}",
            _x(gateway["updates_per_s_median"], echo["updates_per_s_median"]),
        )
    )
    for q in ("p50", "p90", "p99"):
        add(f"answer latency {q} (update -> answer)", echo["answer_ms"][q], gateway["answer_ms"][q])
    add("answer latency max", echo["answer_ms"]["max"], gateway["answer_ms"]["max"])
    for q in ("p50", "p99"):
        add(f"points notification {q} (last lesson -> +N за курс)", math.nan, gateway["points_ms"][q])
    for q in ("p50", "p99"):
        add(f"  of which: congratulation {q} (last lesson -> Поздравляем)", math.nan, gateway["congratulation_ms"][q])
    timeouts = sum(echo["timeouts"].values()), sum(gateway["timeouts"].values())
    errors = sum(echo["errors"].values()), sum(gateway["errors"].values())
    rows.append(("timeouts / errors", f"{timeouts[0]} / {errors[0]}", f"{timeouts[1]} / {errors[1]}", ""))
    rows.append(("points notifications missing", "-", str(gateway["points_missing"]), ""))
    rows.append(("updates never sent (learner too far behind)", str(echo["unsent"]), str(gateway["unsent"]), ""))
    print(render_table(("metric", "baseline: echo", "gateway", "gateway/echo"), rows))
    print()
    step_rows = [
        (step, _ms(summary["p50"]), _ms(summary["p99"]), str(summary["n"]))
        for step, summary in gateway["steps_ms"].items()
    ]
    print("gateway answer latency by step:")
    print(render_table(("step", "p50", "p99", "n"), step_rows))
    print()
    print(
        "answer p99 per round: echo "
        + ", ".join(_ms(x) for x in echo["answer_ms_per_round_p99"])
        + "; gateway "
        + ", ".join(_ms(x) for x in gateway["answer_ms_per_round_p99"])
    )
    print(
        f"sends late by > 50 ms (the previous answer of that learner still pending): echo {echo['late_sends']}, "
        f"gateway {gateway['late_sends']}; gateway updates by outcome: {gateway['bot_updates']}"
    )
    cpu = gateway["cpu_ms_per_update"]
    print(
        "CPU per answered gateway update, by process: "
        + ", ".join(f"{name} {value:.1f} ms" for name, value in list(cpu.items())[:8])
    )
    echo_cpu = {k: v for k, v in echo["cpu_ms_per_update"].items() if k in {"echo-bot", "tg-emulator"}}
    print("CPU per answered echo update: " + ", ".join(f"{name} {value:.1f} ms" for name, value in echo_cpu.items()))
    if results["failed_bot_api_calls"]:
        print(f"Bot API calls the emulator refused: {results['failed_bot_api_calls']}")
    goals = results["goals_met"]
    verdict = {True: "met", False: "MISSED", None: "not measured"}
    print(
        f"goals at {cfg['rate']:.0f} updates/s: answer p99 < {GOALS_MS['answer_p99']:.0f} ms "
        f"{verdict[goals['answer_p99']]} ({_ms(gateway['answer_ms']['p99'])}), points p99 < "
        f"{GOALS_MS['points_p99']:.0f} ms {verdict[goals['points_p99']]} ({_ms(gateway['points_ms']['p99'])}, "
        f"{gateway['points_ms']['n']} course completions, {gateway['points_missing']} missing)"
    )
    if m["loadavg_start"] and m["loadavg_start"][0] > m["nproc"]:
        print(f"warning: the machine was busy (load average {m['loadavg_start'][0]} on {m['nproc']} CPUs)")
    print(f"results: {path}")
