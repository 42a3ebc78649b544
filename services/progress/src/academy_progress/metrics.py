from prometheus_client import Counter

ENROLMENTS = Counter("academy_progress_enrolments_total", "Learners enrolled on a course", ["source"])
PROJECTION_UPDATES = Counter(
    "academy_progress_course_projection_updates_total",
    "Catalog events applied to the course projection, by outcome (applied, stale)",
    ["event", "outcome"],
)
