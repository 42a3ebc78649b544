from prometheus_client import Counter

POINTS_AWARDED = Counter("academy_gamification_points_awarded_total", "Points awarded", ["reason"])
ACHIEVEMENTS_UNLOCKED = Counter(
    "academy_gamification_achievements_unlocked_total", "Achievements unlocked", ["condition_type"]
)
LEADERBOARD_READS = Counter(
    "academy_gamification_leaderboard_reads_total", "Leaderboard reads by where they were answered from", ["source"]
)
LEADERBOARD_REBUILDS = Counter(
    "academy_gamification_leaderboard_rebuilds_total", "Leaderboards rebuilt from PostgreSQL on read", ["scope"]
)
