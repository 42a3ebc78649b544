from prometheus_client import Counter

ENROLMENTS = Counter("academy_progress_enrolments_total", "Learners enrolled on a course", ["source"])
PURCHASE_REFUNDS = Counter(
    "academy_progress_purchase_refunds_total",
    "Refunded purchases: enrolment revoked, kept by another standing purchase, none to revoke; "
    "and purchases that arrived after their refund (late_purchase, nothing enrolled)",
    ["outcome"],
)
PROJECTION_UPDATES = Counter(
    "academy_progress_course_projection_updates_total",
    "Catalog events applied to the course projection, by outcome (applied, stale)",
    ["event", "outcome"],
)
LESSONS_COMPLETED = Counter("academy_progress_lessons_completed_total", "First completions of a lesson")
COURSES_COMPLETED = Counter("academy_progress_courses_completed_total", "Enrolments completed")
INACTIVITY_REMINDERS = Counter("academy_progress_inactivity_reminders_total", "learner_inactive events written")
TRANSCRIPTS_RENDERED = Counter("academy_progress_transcripts_rendered_total", "Transcript PDFs rendered and stored")
LEARNER_TIME_ZONE_UPDATES = Counter(
    "academy_progress_learner_time_zone_updates_total",
    "Users events applied to the learners' time zones, by outcome (applied; stale: an older revision than held)",
    ["event", "outcome"],
)
LEARNER_CHECKS = Counter(
    "academy_progress_learner_checks_total",
    "Writes keyed by a learner id, by outcome: known, or refused with learner_not_found (unknown, erased)",
    ["outcome"],
)
