from prometheus_client import Counter, Gauge

COURSES_PUBLISHED = Counter("academy_catalog_courses_published_total", "Courses published")
COURSES_ARCHIVED = Counter("academy_catalog_courses_archived_total", "Courses archived")
COURSES_UPDATED = Counter("academy_catalog_courses_updated_total", "Changes to published courses announced")
CACHE_REQUESTS = Counter(
    "academy_catalog_cache_requests_total",
    "Learner queries by cache outcome: local_hit (from the process's memory), hit (from Redis), miss, or error "
    "(Redis unreachable: served from PostgreSQL)",
    ["query", "outcome"],
)
CACHE_SUBSCRIBED = Gauge(
    "academy_catalog_cache_subscribed",
    "1 while the process follows cache invalidations (pub/sub) and may answer from its memory, else 0",
)
CACHE_INVALIDATIONS = Counter(
    "academy_catalog_cache_invalidations_total", "Cache generations bumped after a committed change", ["outcome"]
)
ENROLMENTS_RECORDED = Counter(
    "academy_catalog_enrolments_recorded_total", "Enrolments recorded for the course of the month"
)
