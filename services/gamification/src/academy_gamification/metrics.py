from prometheus_client import Counter

POINTS_AWARDED = Counter("academy_gamification_points_awarded_total", "Points awarded", ["reason"])
