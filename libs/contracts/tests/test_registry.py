import json
from datetime import UTC, datetime

import pytest
from academy_contracts import (
    EVENT_TYPES,
    EVENTS_EXCHANGE,
    CloudEvent,
    CoursePublishedV1,
    InvalidEventError,
    LessonCompletedV1,
    PaymentSucceededV1,
    UserRegisteredV1,
    build_event,
    parse_event,
    parse_event_as,
    routing_key,
)
from academy_contracts.registry import example_event

EXPECTED_TYPES = {
    "users.user_registered.v1",
    "users.user_registered.v2",
    "users.profile_updated.v1",
    "users.profile_updated.v2",
    "users.avatar_updated.v1",
    "users.user_erased.v1",
    "users.user_registered.v3",
    "users.profile_updated.v3",
    "users.avatar_removed.v1",
    "users.user_erased.v2",
    "catalog.course_published.v1",
    "catalog.course_updated.v1",
    "catalog.course_archived.v1",
    "progress.course_enrolled.v1",
    "progress.lesson_completed.v1",
    "progress.course_completed.v1",
    "progress.course_completed.v2",
    "progress.learner_inactive.v1",
    "gamification.points_awarded.v1",
    "gamification.points_awarded.v2",
    "gamification.achievement_unlocked.v1",
    "gamification.achievement_unlocked.v2",
    "billing.payment_succeeded.v1",
    "billing.payment_failed.v1",
    "billing.payment_refunded.v1",
    "billing.balance_changed.v1",
    "billing.balance_low.v1",
    "billing.course_purchased.v1",
    "billing.purchase_refunded.v1",
}
ALL_MODELS = list(EVENT_TYPES.values())
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_registry_holds_every_published_event_type():
    assert set(EVENT_TYPES) == EXPECTED_TYPES
    assert all(EVENT_TYPES[event_type].event_type == event_type for event_type in EVENT_TYPES)


def test_exchange_and_routing_key():
    assert EVENTS_EXCHANGE == "academy.events"
    assert routing_key(LessonCompletedV1) == "progress.lesson_completed.v1"


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        EVENT_TYPES["users.user_registered.v9"] = UserRegisteredV1  # type: ignore[index]


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda model: model.event_type)
@pytest.mark.parametrize(
    "encode",
    [
        CloudEvent.to_json,
        lambda event: event.to_json().decode(),
        lambda event: event.model_dump(mode="json"),
        # The outbox stores `model_dump(mode="json", exclude_none=True)`: nulls inside data disappear.
        lambda event: json.dumps(event.model_dump(mode="json", exclude_none=True)).encode(),
    ],
    ids=["bytes", "str", "dict", "exclude_none"],
)
def test_every_example_survives_the_wire(model, encode):
    data = model.example()
    event = build_event(data, traceparent=TRACEPARENT)

    parsed_event, parsed_data = parse_event(encode(event))

    assert parsed_event == event
    assert type(parsed_data) is model
    assert parsed_data == data


def test_build_event_fills_the_envelope_from_the_model():
    data = LessonCompletedV1.example()

    event = build_event(data, traceparent=TRACEPARENT)

    assert event.type == "progress.lesson_completed.v1"
    assert event.source == "/beauty-academy/progress"
    assert event.subject == "user/42"
    assert event.partitionkey == "42"
    assert event.time == data.completed_at
    assert event.traceparent == TRACEPARENT
    assert event.data["completed_at"] == "2025-03-04T20:15:00Z"


def test_build_event_takes_explicit_id_time_and_subject():
    published_at = datetime(2025, 3, 5, tzinfo=UTC)

    event = build_event(CoursePublishedV1.example(), event_id="evt-1", time=published_at, subject="course/7/v2")

    assert (event.id, event.time, event.subject) == ("evt-1", published_at, "course/7/v2")
    assert event.partitionkey is None
    assert json.loads(event.to_json())["data"]["price"] == {"amount": "4900.00", "currency": "RUB"}


def test_build_event_refuses_unregistered_models():
    class UnregisteredVariant(UserRegisteredV1):
        pass

    with pytest.raises(TypeError, match="not a registered event model"):
        build_event(UnregisteredVariant.example())


def test_example_events_are_deterministic():
    assert example_event(UserRegisteredV1) == example_event(UserRegisteredV1)


def test_parse_event_as_checks_the_type():
    body = build_event(LessonCompletedV1.example()).to_json()

    _, data = parse_event_as(body, LessonCompletedV1)
    assert data.lessons_total == 12

    with pytest.raises(InvalidEventError, match=r"expected billing\.payment_succeeded\.v1, got progress"):
        parse_event_as(body, PaymentSucceededV1)


def test_unknown_data_fields_are_ignored_when_reading():
    # A producer on a newer release may add an optional field; older consumers must keep working.
    body = json.loads(build_event(UserRegisteredV1.example()).to_json())
    body["data"]["referral_code"] = "SPRING25"

    _, data = parse_event(body)

    assert data == UserRegisteredV1.example()


def valid_body(model=UserRegisteredV1) -> dict:
    return json.loads(build_event(model.example()).to_json())


def with_data(model, **changes) -> dict:
    body = valid_body(model)
    body["data"] |= changes
    return body


def without(body: dict, *path: str) -> dict:
    target = body
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return body


INVALID = {
    "not json": (b"{not json", "not valid JSON"),
    "not utf-8": (b"\xff\xfe\x00", "not valid JSON"),
    "empty body": (b"", "not valid JSON"),
    "json array": (b"[1, 2]", "must be a JSON object"),
    "NaN": (b'{"a": NaN}', "not valid JSON"),
    "missing type": (without(valid_body(), "type"), "invalid CloudEvents envelope: type: Field required"),
    "missing data": (without(valid_body(), "data"), "invalid CloudEvents envelope: data: Field required"),
    "naive envelope time": (valid_body() | {"time": "2025-03-01T09:30:00"}, "envelope: time: "),
    "unknown type": (
        valid_body() | {"type": "users.user_teleported.v1"},
        "unknown event type 'users.user_teleported.v1'",
    ),
    "wrong source": (valid_body() | {"source": "/beauty-academy/billing"}, "comes from '/beauty-academy/users'"),
    "missing data field": (without(valid_body(), "data", "telegram_id"), "data.telegram_id: Field required"),
    "naive datetime in data": (
        with_data(UserRegisteredV1, registered_at="2025-03-01T09:30:00"),
        "data.registered_at: Input should have timezone info",
    ),
    "wrong currency": (
        with_data(PaymentSucceededV1, amount={"amount": "250", "currency": "stars"}),
        "data.amount.currency: String should match pattern",
    ),
    "amount with three decimals": (
        with_data(PaymentSucceededV1, amount={"amount": "1.234", "currency": "RUB"}),
        "data.amount.amount: Value error, amount must be a decimal string with at most 2 fraction digits",
    ),
    "amount as a JSON number": (
        with_data(PaymentSucceededV1, amount={"amount": 1.5, "currency": "RUB"}),
        "data.amount.amount: Value error",
    ),
    "id as a string": (with_data(UserRegisteredV1, user_id="42"), "data.user_id: Input should be a valid integer"),
    "invariant broken": (
        with_data(PaymentSucceededV1, purpose="top_up"),
        "data: Value error, course_id is set exactly when purpose is 'course'",
    ),
}


@pytest.mark.parametrize(("body", "reason"), INVALID.values(), ids=INVALID.keys())
def test_invalid_messages_raise_with_a_reason(body, reason):
    with pytest.raises(InvalidEventError) as caught:
        parse_event(body)

    assert reason in caught.value.reason
    assert str(caught.value) == caught.value.reason


def test_invalid_event_keeps_its_id_and_type_for_the_dead_letter_queue():
    body = with_data(UserRegisteredV1, user_id=-1)

    with pytest.raises(InvalidEventError) as caught:
        parse_event(body)

    assert caught.value.event_id == body["id"]
    assert caught.value.event_type == "users.user_registered.v1"


def test_reason_never_echoes_field_values():
    secret_name = "Секретная Фамилия"
    body = with_data(UserRegisteredV1, full_name=secret_name, user_id="not-a-number", city=123)

    with pytest.raises(InvalidEventError) as caught:
        parse_event(body)

    assert secret_name not in caught.value.reason
    assert "not-a-number" not in caught.value.reason
    assert "data.city" in caught.value.reason
