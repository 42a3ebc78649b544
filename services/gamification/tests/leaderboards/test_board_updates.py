"""What a transaction owes the cached boards after its commit: each learner's latest standing, once."""

from academy_gamification.leaderboards.board import OVERALL, Board
from academy_gamification.leaderboards.service import _BoardUpdates

MOSCOW, KAZAN = Board("city", "москва"), Board("city", "казань")
NAILS = Board("category", "manicure")


def test_each_learners_latest_standing_is_written_and_a_left_city_removed():
    owed = _BoardUpdates(transaction=object())
    owed.standing[1] = [(OVERALL, 10), (MOSCOW, 10)]
    owed.standing[1] = [(OVERALL, 20), (MOSCOW, 20), (NAILS, 10)]  # a later event of the same learner
    owed.standing[2] = [(OVERALL, 5), (KAZAN, 5)]
    owed.left.append((MOSCOW, 2))

    removals, points = owed.updates()

    assert removals == [(MOSCOW, 2)]
    assert sorted(points, key=str) == sorted(
        [(OVERALL, 1, 20), (MOSCOW, 1, 20), (NAILS, 1, 10), (OVERALL, 2, 5), (KAZAN, 2, 5)], key=str
    )


def test_a_learner_who_moved_away_and_back_is_not_taken_off_the_board_they_are_on():
    owed = _BoardUpdates(transaction=object())
    owed.left.append((KAZAN, 3))  # moved from Kazan to Moscow...
    owed.left.append((MOSCOW, 3))  # ...and back, in the same transaction
    owed.standing[3] = [(OVERALL, 7), (KAZAN, 7)]

    removals, points = owed.updates()

    assert removals == [(MOSCOW, 3)]
    assert (KAZAN, 3, 7) in points
