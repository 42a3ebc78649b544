from prometheus_client import Counter

COURSES_PUBLISHED = Counter("academy_catalog_courses_published_total", "Courses published")
COURSES_ARCHIVED = Counter("academy_catalog_courses_archived_total", "Courses archived")
