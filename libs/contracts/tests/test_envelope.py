import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from academy_contracts import CloudEvent
from pydantic import ValidationError


def make_event(**overrides):
    fields = {
        "source": "/beauty-academy/users",
        "type": "users.user_erased.v1",
        "time": datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        "data": {"user_id": 1, "telegram_id": 2, "erased_at": "2025-03-01T09:30:00Z"},
    }
    return CloudEvent(**(fields | overrides))


def test_defaults_fill_the_required_cloudevents_attributes():
    event = make_event()

    assert event.specversion == "1.0"
    assert event.datacontenttype == "application/json"
    assert uuid.UUID(event.id).version == 4
    assert make_event().id != event.id


def test_time_is_serialised_as_rfc3339_utc_with_z():
    event = make_event(time=datetime(2025, 3, 1, 12, 30, 5, 250000, tzinfo=timezone(timedelta(hours=3))))

    assert event.time == datetime(2025, 3, 1, 9, 30, 5, 250000, tzinfo=UTC)
    assert json.loads(event.to_json())["time"] == "2025-03-01T09:30:05.250000Z"


def test_time_from_json_with_offset_is_normalised_to_utc():
    event = CloudEvent.model_validate_json(make_event().to_json().replace(b"09:30:00Z", b"12:30:00+03:00"))

    assert event.time.utcoffset() == timedelta(0)
    assert event.time.hour == 9


@pytest.mark.parametrize("naive", [datetime(2025, 3, 1, 9, 30), "2025-03-01T09:30:00"])  # noqa: DTZ001
def test_naive_time_is_rejected(naive):
    with pytest.raises(ValidationError, match="timezone"):
        make_event(time=naive)


def test_numeric_time_is_rejected_even_though_pydantic_would_read_it_as_unix_time():
    with pytest.raises(ValidationError, match="RFC 3339"):
        make_event(time=1740821400)


def test_unset_optional_attributes_are_omitted_but_nulls_inside_data_are_kept():
    event = make_event(data={"user_id": 1, "username": None})

    body = json.loads(event.to_json())

    assert "subject" not in body
    assert "traceparent" not in body
    assert "partitionkey" not in body
    assert "dataschema" not in body
    assert body["data"] == {"user_id": 1, "username": None}


def test_extensions_round_trip():
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    event = make_event(traceparent=traceparent, partitionkey="42", subject="user/42")

    again = CloudEvent.model_validate_json(event.to_json())

    assert again == event
    assert again.traceparent == traceparent
    assert again.partitionkey == "42"


@pytest.mark.parametrize("value", ["garbage", "00-xyz-00f067aa0ba902b7-01", ""])
def test_malformed_traceparent_is_rejected(value):
    with pytest.raises(ValidationError, match="traceparent"):
        make_event(traceparent=value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("type", "UserRegistered"),
        ("type", "users.user_registered"),
        ("type", "users.user_registered.v0"),
        ("specversion", "0.3"),
        ("datacontenttype", "text/plain"),
        ("source", ""),
    ],
)
def test_invalid_attributes_are_rejected(field, value):
    with pytest.raises(ValidationError, match=field):
        make_event(**{field: value})


def test_unknown_extension_attributes_are_ignored():
    body = json.loads(make_event().to_json()) | {"comexampleextension": "value"}

    event = CloudEvent.model_validate(body)

    assert "comexampleextension" not in json.loads(event.to_json())


def test_envelope_is_immutable():
    event = make_event()

    with pytest.raises(ValidationError, match="frozen"):
        event.type = "users.user_registered.v1"
