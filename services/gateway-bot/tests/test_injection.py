"""Operator text that looks like markup reaches learners as the text it is (issue 9: injection payloads).

The bot sends HTML (parse_mode HTML); a course title or description an editor typed with `<b>`, a link,
a stray closing tag or `&` must show literally, neither as formatting nor as a message Telegram refuses
to parse. Learner text (names, cities) is refused at input unless it is letters and separators
(`handlers.registration.clean_name`), so the catalog's free text is the way in.
"""

import pytest

from .learning_support import new_category, open_course_card, publish_course, register, unique

pytestmark = pytest.mark.integration

MARKUP = '<b>Ногти</b> & <a href="tg://user?id=1">клик</a> </code> &amp; <script>alert(1)</script>'


async def test_markup_in_a_course_is_shown_as_text_on_its_card(gateway, tg):
    category = await new_category(gateway)
    title = f"{unique('Курс')} <i>{MARKUP[:20]}"
    course = await publish_course(
        gateway,
        category=category,
        title=title,
        description=f"Описание {MARKUP}",
        lesson_title="Урок {n} " + MARKUP.replace("{", "{{").replace("}", "}}"),
    )
    user, _ = await register(gateway, tg)

    card = await open_course_card(gateway, tg, user, category, course)

    assert title in card.text
    assert f"Описание {MARKUP}" in card.text
    # the free preview lesson, listed on the card (its title shortened to fit the line)
    assert f"Урок 1 {MARKUP[:60]}" in card.text
