from prometheus_client import Counter, Gauge

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
ERASED_LEARNER_EVENTS = Counter(
    "academy_progress_erased_learner_events_total",
    "Events about a learner already erased, by type, skipped without writing anything (a purchase, a refund, "
    "a time zone, a reminder that reached progress after the erasure)",
    ["event"],
)
ERASURES = Counter(
    "academy_progress_learner_erasures_total",
    "Erased learners forgotten: rows deleted (rows), transcript objects deleted from S3 (objects); by the "
    "erasure itself or by the sweep (how)",
    ["what", "how"],
)
ERASURE_OBJECTS_PENDING = Gauge(
    "academy_progress_erasure_objects_pending",
    "Erased learners whose transcript objects the last sweep could not delete from S3 (tried again next sweep)",
)
TRANSCRIPT_NAMES = Counter(
    "academy_progress_transcript_names_total",
    "Full-name look-ups for a transcript, by outcome: printed, none (the learner gave none), unavailable "
    "(users unreachable or failing: the request is refused with 503), unknown (users no longer knows them)",
    ["outcome"],
)
TRANSCRIPT_AVATARS = Counter(
    "academy_progress_transcript_avatars_total",
    "Avatar look-ups for a transcript, by outcome: embedded, none (the learner has none), unavailable (users "
    "unreachable or failing), refused (not an image progress draws: type, size, pixels)",
    ["outcome"],
)
