"""IANA time zone names as the services accept them: known to the tz database, spelled canonically.

Every service that schedules something for a learner, or takes a zone from a learner, checks it the
same way: `canonical_time_zone("asia/novosibirsk")` is `"Asia/Novosibirsk"`, and a name the tz database
does not know is a `ValueError` (a 422 when it comes through a request model typed `TimeZoneName`).
"""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

# Names the tz database lists that are not places: `localtime` is whatever the host is set to.
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})


@cache
def _zones_by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in zoneinfo.available_timezones() if name not in _NOT_ZONES}


def canonical_time_zone(name: str) -> str:
    """The tz database's spelling of `name` (case-insensitive); ValueError when it is not a zone it knows."""
    zone = _zones_by_folded_name().get(name.strip().casefold())
    if zone is None:
        msg = "not an IANA time zone name (for example Europe/Moscow or Asia/Novosibirsk)"
        raise ValueError(msg)
    return zone


def is_time_zone(name: str) -> bool:
    """Whether `name` is a zone of the tz database, spelled exactly as it spells it."""
    return _zones_by_folded_name().get(name.casefold()) == name


def time_zone_or(name: str | None, default: str) -> zoneinfo.ZoneInfo:
    """The zone called `name`, or `default` when there is none or this tz database does not know it (a
    newer producer may send a zone an older host lacks: the learner still gets messages, at the default)."""
    if name is not None and is_time_zone(name):
        return zoneinfo.ZoneInfo(name)
    return zoneinfo.ZoneInfo(default)


TimeZoneName = Annotated[str, StringConstraints(max_length=64), AfterValidator(canonical_time_zone)]
"""A request field holding an IANA time zone name; stored and answered in its canonical spelling."""
