from prometheus_client import Counter

REGISTRATIONS = Counter("academy_users_registrations_total", "Learners registered")
