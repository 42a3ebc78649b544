from prometheus_client import Counter

REGISTRATIONS = Counter("academy_users_registrations_total", "Learners registered")
TIME_ZONES_SET = Counter(
    "academy_users_time_zones_set_total",
    "Learners' time zones set at registration or changed, by source (default: city unknown, the bot asks)",
    ["source"],
)
ERASURES = Counter("academy_users_erasures_total", "Learners erased, by grounds", ["grounds"])
PERSONAL_DATA_REENCRYPTED = Counter(
    "academy_users_personal_data_reencrypted_total", "Stored personal values re-encrypted under the active key"
)
AVATAR_UPLOADS = Counter(
    "academy_users_avatar_uploads_total",
    "Avatar uploads by outcome: accepted, or the refusal's code (not_an_image, image_type_mismatch, "
    "image_too_many_pixels, unsupported_image_type)",
    ["outcome"],
)
