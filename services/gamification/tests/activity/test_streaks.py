from datetime import date

from academy_gamification.activity.streaks import StreakRuns, streak_runs


def test_no_days_is_no_streak():
    assert streak_runs([]) == StreakRuns(current_days=0, longest_days=0, last_day=None)


def test_the_current_run_ends_on_the_last_day_and_the_longest_is_kept():
    days = [date(2026, 3, d) for d in (1, 2, 3, 4, 7, 8)]
    assert streak_runs(days) == StreakRuns(current_days=2, longest_days=4, last_day=date(2026, 3, 8))


def test_runs_cross_month_boundaries():
    days = [date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 1)]
    assert streak_runs(days).current_days == 3
