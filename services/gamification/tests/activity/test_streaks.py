import random
from datetime import date, timedelta

import pytest
from academy_gamification.activity.streaks import StreakRuns, extend_runs, streak_runs


def test_no_days_is_no_streak():
    assert streak_runs([]) == StreakRuns(current_days=0, longest_days=0, last_day=None)


def test_the_current_run_ends_on_the_last_day_and_the_longest_is_kept():
    days = [date(2026, 3, d) for d in (1, 2, 3, 4, 7, 8)]
    assert streak_runs(days) == StreakRuns(current_days=2, longest_days=4, last_day=date(2026, 3, 8))


def test_runs_cross_month_boundaries():
    days = [date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 1)]
    assert streak_runs(days).current_days == 3


def test_extending_the_runs_day_by_day_gives_what_recomputing_from_every_day_gives():
    """The handler grows the stored streak by one day instead of re-reading every study day: for any
    ascending days, folding `extend_runs` equals `streak_runs` of all of them (and a day before the last
    one is refused: the handler recomputes then)."""
    rng = random.Random(20261130)
    for _ in range(500):
        day, days = date(2026, 1, 1), []
        for _ in range(rng.randint(1, 30)):
            day += timedelta(days=rng.choice([0, 1, 1, 1, 2, 5]))
            days.append(day)
        runs = StreakRuns(current_days=0, longest_days=0, last_day=None)
        for one in days:
            runs = extend_runs(runs, one)
        assert runs == streak_runs(sorted(set(days)))
    with pytest.raises(ValueError, match="recompute"):
        extend_runs(StreakRuns(current_days=2, longest_days=2, last_day=date(2026, 1, 5)), date(2026, 1, 4))
