"""The course preview is the bot's course card (gateway-bot handlers/learning.py, locales/*/learning.ftl)."""

from __future__ import annotations

from academy_console.preview import course_card


def course(**overrides):
    base = {
        "title": "Гель-лак <база>",
        "description": "С нуля",
        "full_description": "Подробно & по шагам",
        "price": "4900.00",
        "currency": "RUB",
        "duration_hours": 12,
        "lessons_count": 2,
        "lessons": [
            {"order": 1, "title": "Подготовка", "is_free": True},
            {"order": 2, "title": "Покрытие", "is_free": False},
        ],
    }
    return {**base, **overrides}


def test_the_russian_card_reads_as_the_bot_writes_it():
    assert course_card(course(), "Маникюр", "ru") == (
        "🎓 <b>Гель-лак &lt;база&gt;</b>\n\nС нуля\n\nПодробно &amp; по шагам\n\n📂 Маникюр\n🎬 Уроков: 2\n"
        "⏱ Длительность: 12 ч\n💰 Цена: 4\u00a0900 ₽\n\n🔓 <b>Бесплатные уроки:</b>\n• 1. Подготовка"
    )


def test_the_english_card_free_course_and_no_duration():
    card = course_card(course(price="0", duration_hours=None, lessons=[]), "Manicure", "en")
    assert "💰 Price: Free" in card
    assert "⏱ Duration: not set" in card
    assert "Free preview lessons" not in card


def test_stars_and_more_than_five_free_lessons():
    lessons = [{"order": i, "title": f"Урок {i}", "is_free": True} for i in range(1, 8)]
    card = course_card(course(price="250", currency="XTR", lessons=lessons), "Маникюр", "ru")
    assert "💰 Цена: 250 ⭐" in card
    assert "• 5. Урок 5" in card
    assert "• 6." not in card
    assert "…и ещё 2" in card
