"""A realistic catalog to load through the catalog's operator API: Russian courses with lessons."""

from __future__ import annotations

from typing import Any

LEVELS = ("с нуля", "базовый курс", "продвинутый уровень", "интенсив", "мастер-класс", "для опытных мастеров")
TOPICS = (
    "техника и материалы",
    "работа с клиентом",
    "стерильность и безопасность",
    "разбор ошибок",
    "скорость без потери качества",
    "сложные случаи",
    "модные техники сезона",
    "портфолио и фотосъёмка работ",
)


def course_command(slug: str, title_ru: str, number: int, lessons: int) -> dict[str, Any]:
    """A `CreateCourse` body: about what a real course card holds (the list shows every field but lessons)."""
    level = LEVELS[number % len(LEVELS)]
    free = number % 5 == 0
    return {
        "code": f"bench-{slug}-{number}",
        "title": f"{title_ru}: {level}, поток {number}",
        "description": (
            f"Практический курс по направлению «{title_ru}»: {level}. Видеоуроки с пошаговыми "
            "демонстрациями, чек-листы к каждому уроку и разбор типичных ошибок."
        ),
        "full_description": (
            f"Курс «{title_ru}» ({level}) собран практикующими мастерами. Вы пройдёте путь от подготовки "
            "рабочего места и подбора материалов до сложных техник, узнаете, как общаться с клиентом, "
            "как обеспечить стерильность и безопасность процедуры, как выстроить прайс и собрать "
            "портфолио. Каждый урок — короткое видео и PDF-чек-лист; после курса вы получите "
            "сертификат и доступ в профессиональное сообщество выпускников."
        ),
        "category": slug,
        "cover_image_url": f"https://cdn.beauty-academy.example/covers/{slug}/{number}.jpg",
        "is_top": number == 1,
        "currency": "RUB",
        "price": "0" if free else str(1490 + 500 * (number % 20)),
        "duration_hours": 4 + number % 30,
        "lessons": [lesson(slug, number, order) for order in range(1, lessons + 1)],
    }


def lesson(slug: str, number: int, order: int) -> dict[str, Any]:
    topic = TOPICS[(order - 1) % len(TOPICS)]
    return {
        "order": order,
        "title": f"Урок {order}. {topic.capitalize()}",
        "description": f"Разбираем тему «{topic}» на практике: показ, типичные ошибки и задание для отработки.",
        "video_url": f"https://video.beauty-academy.example/{slug}/{number}/{order}.mp4",
        "video_duration": 600 + 137 * order % 1800,
        "pdf_url": f"https://cdn.beauty-academy.example/checklists/{slug}/{number}/{order}.pdf",
        "is_free": order == 1,
    }
