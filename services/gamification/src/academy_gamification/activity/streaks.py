"""The daily learning streak, computed from the set of study days (not from the order events came in)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class StreakRuns:
    current_days: int  # the run of consecutive days that ends on the last study day
    longest_days: int
    last_day: date | None


def streak_runs(days: list[date]) -> StreakRuns:
    """`days` sorted ascending and distinct."""
    longest = current = 0
    previous: date | None = None
    for day in days:
        current = current + 1 if previous is not None and day - previous == timedelta(days=1) else 1
        longest = max(longest, current)
        previous = day
    return StreakRuns(current_days=current, longest_days=longest, last_day=previous)


def extend_runs(runs: StreakRuns, day: date) -> StreakRuns:
    """`streak_runs(days + [day])` from `streak_runs(days)`, for a `day` on or after `runs.last_day`."""
    if runs.last_day is None:
        return StreakRuns(current_days=1, longest_days=max(runs.longest_days, 1), last_day=day)
    if day < runs.last_day:
        raise ValueError(f"{day} is before the last study day {runs.last_day}: recompute from every day")
    if day == runs.last_day:
        return runs
    current = runs.current_days + 1 if day - runs.last_day == timedelta(days=1) else 1
    return StreakRuns(current_days=current, longest_days=max(runs.longest_days, current), last_day=day)
