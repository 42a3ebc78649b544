"""IANA time zone names: checked against the tz database and spelled canonically."""

import zoneinfo

import pytest
from academy_runtime.time_zones import TimeZoneName, canonical_time_zone, is_time_zone, time_zone_or
from pydantic import BaseModel, ValidationError


class Command(BaseModel):
    time_zone: TimeZoneName


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("Asia/Novosibirsk", "Asia/Novosibirsk"),
        ("asia/novosibirsk", "Asia/Novosibirsk"),
        (" Europe/Moscow ", "Europe/Moscow"),
        ("utc", "UTC"),
        ("america/argentina/buenos_aires", "America/Argentina/Buenos_Aires"),
    ],
)
def test_a_known_zone_is_spelled_as_the_tz_database_spells_it(typed, canonical):
    assert canonical_time_zone(typed) == canonical
    assert Command(time_zone=typed).time_zone == canonical


@pytest.mark.parametrize("name", ["Asia/Novosibirk", "Moscow", "+03:00", "", "localtime", "Factory", "../etc/passwd"])
def test_anything_else_is_refused(name):
    with pytest.raises(ValueError, match="IANA time zone"):
        canonical_time_zone(name)
    with pytest.raises(ValidationError, match="time_zone"):
        Command(time_zone=name)


def test_exact_spelling_check():
    assert is_time_zone("Asia/Vladivostok")
    assert not is_time_zone("asia/vladivostok")
    assert not is_time_zone("localtime")


def test_an_unknown_or_missing_zone_falls_back_to_the_default():
    assert time_zone_or("Asia/Novosibirsk", "Europe/Moscow") == zoneinfo.ZoneInfo("Asia/Novosibirsk")
    assert time_zone_or("Mars/Olympus_Mons", "Europe/Moscow") == zoneinfo.ZoneInfo("Europe/Moscow")
    assert time_zone_or(None, "Europe/Moscow") == zoneinfo.ZoneInfo("Europe/Moscow")
