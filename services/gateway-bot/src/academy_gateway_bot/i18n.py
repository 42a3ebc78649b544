"""The translation catalogue: every text the bot sends, Russian first, English second."""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram.utils.magic_filter import MagicFilter

DEFAULT_LOCALE = "ru"
LOCALES = ("ru", "en")
# Telegram language codes whose speakers read Russian more easily than English.
_RUSSIAN_READERS = {"ru", "uk", "be", "kk", "ky", "uz", "tg", "hy", "az", "ka"}

CATALOG: dict[str, dict[str, str]] = {
    "welcome.new": {
        "ru": "👋 Добро пожаловать в Beauty Academy, {name}!\n\n"
        "Здесь вы научитесь маникюру, педикюру, наращиванию ресниц, оформлению бровей, подологии, "
        "продвижению и ведению своего дела. Баллы за регистрацию уже начисляются.",
        "en": "👋 Welcome to Beauty Academy, {name}!\n\n"
        "Learn manicure, pedicure, lash extensions, brow design, podology, marketing and running your "
        "own business. Your welcome points are on their way.",
    },
    "welcome.back": {
        "ru": "С возвращением, {name}! 💅 Продолжим обучение?",
        "en": "Welcome back, {name}! 💅 Shall we continue learning?",
    },
    "points.awarded.welcome": {
        "ru": "🎁 +{points} баллов за регистрацию! Всего баллов: {total}.",
        "en": "🎁 +{points} points for joining! Total points: {total}.",
    },
    "points.awarded.other": {
        "ru": "⭐ +{points} баллов. Всего баллов: {total}.",
        "en": "⭐ +{points} points. Total points: {total}.",
    },
    "profile.card": {
        "ru": "👤 Профиль\n\nИмя: {name}\nГород: {city}\nБаллы: {points}\nУровень: {level}",
        "en": "👤 Profile\n\nName: {name}\nCity: {city}\nPoints: {points}\nLevel: {level}",
    },
    "profile.not_registered": {
        "ru": "Вы ещё не зарегистрированы. Отправьте /start.",
        "en": "You are not registered yet. Send /start.",
    },
    "value.unknown": {"ru": "не указан", "en": "not set"},
    # -- registration: the consent conversation (helper D) --
    "consent.text": {
        "ru": "👋 Здравствуйте! Это Beauty Academy — обучение для мастеров красоты.\n\n"
        "<b>Согласие на обработку персональных данных</b> (версия {version})\n\n"
        "Нажимая «Принимаю», вы в соответствии с Федеральным законом № 152-ФЗ «О персональных данных» "
        "даёте согласие Beauty Academy на обработку ваших данных: имени, номера телефона, города и "
        "идентификатора Telegram, а также сведений о вашем обучении. Цели: регистрация, доступ к курсам, "
        "учёт прогресса и достижений, подбор сообществ и уведомления об обучении. Данные хранятся, пока "
        "действует учётная запись, и не передаются третьим лицам, кроме случаев, предусмотренных законом. "
        "Согласие можно отозвать в любой момент, написав в поддержку: тогда мы удалим ваши данные.\n\n"
        "Без согласия мы ничего о вас не сохраним.",
        "en": "👋 Hello! This is Beauty Academy — training for beauty professionals.\n\n"
        "<b>Consent to the processing of personal data</b> (version {version})\n\n"
        "By pressing “I agree” you consent, under Russian Federal Law No. 152-FZ “On Personal Data”, to "
        "Beauty Academy processing your name, phone number, city and Telegram id, and the record of your "
        "learning. Purposes: registration, access to courses, tracking progress and achievements, suggesting "
        "communities and learning notifications. The data is kept while your account exists and is not "
        "shared with third parties except where the law requires. You can withdraw your consent at any time "
        "by writing to support, and we will delete your data.\n\n"
        "Without your consent we store nothing about you.",
    },
    "consent.accept": {"ru": "✅ Принимаю", "en": "✅ I agree"},
    "consent.decline": {"ru": "✖️ Не принимаю", "en": "✖️ I do not agree"},
    "consent.accepted": {
        "ru": "✅ Согласие (версия {version}) принято {when}.",
        "en": "✅ Consent (version {version}) accepted on {when}.",
    },
    "consent.declined": {
        "ru": "Понимаем. Мы ничего о вас не сохранили. Если передумаете, отправьте /start — "
        "мы будем рады видеть вас в академии. 💐",
        "en": "Understood. We have stored nothing about you. If you change your mind, send /start — "
        "we would be glad to see you at the academy. 💐",
    },
    "consent.outdated": {
        "ru": "Текст согласия обновился, пожалуйста, прочитайте новую версию.",
        "en": "The consent text has been updated; please read the new version.",
    },
    "consent.use_buttons": {
        "ru": "Пожалуйста, ответьте кнопкой под текстом согласия (или /cancel).",
        "en": "Please answer with a button under the consent text (or /cancel).",
    },
    "registration.ask_name": {
        "ru": "Как вас зовут? Напишите имя и фамилию, например: <i>Анна Смирнова</i>.",
        "en": "What is your name? Write your first and last name, for example: <i>Anna Smith</i>.",
    },
    "registration.name_invalid": {
        "ru": "Имя должно быть от 2 до 100 символов и состоять из букв (можно пробел, дефис, апостроф). "
        "Попробуйте ещё раз.",
        "en": "A name has 2 to 100 characters and is made of letters (spaces, hyphens and apostrophes "
        "are fine). Please try again.",
    },
    "registration.ask_phone": {
        "ru": "Поделитесь номером телефона кнопкой ниже или напишите его, например: <i>+7 916 123-45-67</i>.",
        "en": "Share your phone number with the button below or type it, for example: <i>+44 20 7946 0958</i>.",
    },
    "registration.share_phone": {"ru": "📱 Поделиться номером", "en": "📱 Share my number"},
    "registration.phone_invalid": {
        "ru": "Не похоже на номер телефона: нужно 10–15 цифр с кодом страны, например +7 916 123-45-67. "
        "Попробуйте ещё раз или нажмите кнопку.",
        "en": "That does not look like a phone number: it needs 10–15 digits with the country code, "
        "e.g. +44 20 7946 0958. Please try again or press the button.",
    },
    "registration.phone_not_own": {
        "ru": "Это чужой контакт. Нажмите «📱 Поделиться номером», чтобы отправить свой.",
        "en": "That is someone else's contact. Press “📱 Share my number” to send yours.",
    },
    "registration.ask_city": {
        "ru": "В каком городе вы работаете? Выберите или напишите свой — подберём сообщества мастеров рядом.",
        "en": "Which city do you work in? Pick one or type yours — we will suggest communities nearby.",
    },
    "registration.city_invalid": {
        "ru": "Название города — от 2 до 100 букв (можно пробел и дефис). Попробуйте ещё раз.",
        "en": "A city name has 2 to 100 letters (spaces and hyphens are fine). Please try again.",
    },
    "registration.already": {
        "ru": "Вы уже зарегистрированы. 🙂",
        "en": "You are already registered. 🙂",
    },
    "conversation.cancelled": {
        "ru": "Отменено. Ваши ответы удалены.",
        "en": "Cancelled. Your answers were discarded.",
    },
    "conversation.nothing_to_cancel": {"ru": "Нечего отменять.", "en": "Nothing to cancel."},
    "conversation.start_again": {
        "ru": "Чтобы зарегистрироваться, отправьте /start.",
        "en": "To register, send /start.",
    },
    "menu.title": {
        "ru": "Главное меню. Выберите раздел 👇",
        "en": "Main menu. Choose a section 👇",
    },
    "profile.details": {
        "ru": "👤 <b>Профиль</b>\n\nИмя: {name}\nГород: {city}\nТелефон: {phone}\nБаллы: {points}\nУровень: {level}",
        "en": "👤 <b>Profile</b>\n\nName: {name}\nCity: {city}\nPhone: {phone}\nPoints: {points}\nLevel: {level}",
    },
    "profile.edit_name": {"ru": "✏️ Изменить имя", "en": "✏️ Change name"},
    "profile.edit_city": {"ru": "🏙 Изменить город", "en": "🏙 Change city"},
    "profile.ask_name": {
        "ru": "Напишите новое имя и фамилию (или /cancel).",
        "en": "Write your new first and last name (or /cancel).",
    },
    "profile.ask_city": {
        "ru": "Напишите новый город или выберите из списка (или /cancel).",
        "en": "Type your new city or pick one (or /cancel).",
    },
    "profile.saved": {"ru": "✅ Сохранено.", "en": "✅ Saved."},
    "language.choose": {
        "ru": "Выберите язык / Choose your language:",
        "en": "Choose your language / Выберите язык:",
    },
    "language.changed": {
        "ru": "✅ Язык бота: русский.",
        "en": "✅ The bot now speaks English.",
    },
    # -- end of helper D's registration keys --
    "error.temporary": {
        "ru": "⚠️ Сервис временно недоступен. Попробуйте ещё раз через минуту.",
        "en": "⚠️ The service is temporarily unavailable. Please try again in a minute.",
    },
    "error.throttled": {
        "ru": "⏳ Слишком много сообщений. Подождите немного.",
        "en": "⏳ Too many messages. Please wait a moment.",
    },
    "menu.catalog": {"ru": "📚 Каталог курсов", "en": "📚 Course catalog"},
    "menu.my_courses": {"ru": "🎓 Мои курсы", "en": "🎓 My courses"},
    "menu.achievements": {"ru": "🏆 Баллы и достижения", "en": "🏆 Points & achievements"},
    "menu.communities": {"ru": "👥 Сообщества", "en": "👥 Communities"},
    "menu.profile": {"ru": "👤 Профиль", "en": "👤 Profile"},
    "menu.language": {"ru": "🌐 Язык / Language", "en": "🌐 Language / Язык"},
    # -- learning screens (catalog, course, lessons, my courses, achievements, communities) --
    "common.back": {"ru": "⬅️ Назад", "en": "⬅️ Back"},
    "price.free": {"ru": "Бесплатно", "en": "Free"},
    "catalog.title": {
        "ru": "📚 <b>Каталог курсов</b>\n\nВыберите направление — покажу курсы по нему.",
        "en": "📚 <b>Course catalog</b>\n\nChoose a field to see its courses.",
    },
    "catalog.top": {
        "ru": "\n\n🔥 Курс месяца: <b>{title}</b>",
        "en": "\n\n🔥 Course of the month: <b>{title}</b>",
    },
    "catalog.top_button": {"ru": "🔥 Курс месяца: {title}", "en": "🔥 Course of the month: {title}"},
    "catalog.empty": {
        "ru": "📚 Каталог пока пуст — скоро здесь появятся курсы.",
        "en": "📚 The catalog is empty for now — courses are coming soon.",
    },
    "catalog.category": {
        "ru": "📂 <b>{category}</b>\n\nКурсов: {total} · страница {page} из {pages}\nВыберите курс:",
        "en": "📂 <b>{category}</b>\n\nCourses: {total} · page {page} of {pages}\nChoose a course:",
    },
    "catalog.category_empty": {
        "ru": "📂 <b>{category}</b>\n\nВ этом направлении пока нет курсов — загляните позже.",
        "en": "📂 <b>{category}</b>\n\nNo courses in this field yet — check back soon.",
    },
    "catalog.course_button": {"ru": "{title} · {price}", "en": "{title} · {price}"},
    "catalog.page": {"ru": "{page}/{pages}", "en": "{page}/{pages}"},
    "catalog.all_categories": {"ru": "⬅️ Все направления", "en": "⬅️ All fields"},
    "course.untitled": {"ru": "Курс №{id}", "en": "Course #{id}"},
    "course.not_found": {
        "ru": "Этот курс больше недоступен. Загляните в каталог — там много других!",
        "en": "This course is no longer available. Have a look at the catalog for others!",
    },
    "course.card": {
        "ru": "🎓 <b>{title}</b>\n\n{description}\n\n📂 {category}\n🎬 Уроков: {lessons}\n"
        "⏱ Длительность: {duration}\n💰 Цена: {price}",
        "en": "🎓 <b>{title}</b>\n\n{description}\n\n📂 {category}\n🎬 Lessons: {lessons}\n"
        "⏱ Duration: {duration}\n💰 Price: {price}",
    },
    "course.hours": {"ru": "{hours} ч", "en": "{hours} h"},
    "course.no_duration": {"ru": "не указана", "en": "not set"},
    "course.free_lessons": {
        "ru": "\n\n🔓 <b>Бесплатные уроки:</b>\n{lessons}",
        "en": "\n\n🔓 <b>Free preview lessons:</b>\n{lessons}",
    },
    "course.your_progress": {"ru": "\n\n📈 Ваш прогресс: {bar}", "en": "\n\n📈 Your progress: {bar}"},
    "course.completed": {"ru": "\n\n🎓 Курс пройден!", "en": "\n\n🎓 Course completed!"},
    "course.enrol_free": {"ru": "✅ Записаться бесплатно", "en": "✅ Enrol for free"},
    "course.buy": {"ru": "💳 Купить за {price}", "en": "💳 Buy for {price}"},
    "course.lessons": {"ru": "📖 Уроки курса", "en": "📖 Lessons"},
    "course.continue": {"ru": "▶️ Продолжить обучение", "en": "▶️ Continue learning"},
    "course.enrolled": {
        "ru": "🎉 Вы записаны на курс «{title}»!\n\nНачнём с первого урока?",
        "en": "🎉 You are enrolled in “{title}”!\n\nShall we start with the first lesson?",
    },
    "course.already_enrolled": {
        "ru": "Вы уже записаны на курс «{title}». Продолжим?",
        "en": "You are already enrolled in “{title}”. Shall we continue?",
    },
    "course.start_lesson": {"ru": "▶️ Урок {order}: {title}", "en": "▶️ Lesson {order}: {title}"},
    "lessons.title": {
        "ru": "📖 <b>{title}</b>\n\nПройдено уроков: {done} из {total}\n{bar}\n\n"
        "✅ пройден · ▶️ доступен · 🔒 после записи",
        "en": "📖 <b>{title}</b>\n\nLessons completed: {done} of {total}\n{bar}\n\n"
        "✅ done · ▶️ open · 🔒 after enrolling",
    },
    "lessons.button": {"ru": "{mark} {order}. {title}", "en": "{mark} {order}. {title}"},
    "lessons.back_to_course": {"ru": "⬅️ К описанию курса", "en": "⬅️ Course details"},
    "lesson.view": {
        "ru": "🎬 <b>Урок {order} из {total}. {title}</b>\n📚 {course}",
        "en": "🎬 <b>Lesson {order} of {total}. {title}</b>\n📚 {course}",
    },
    "lesson.description": {"ru": "\n\n{description}", "en": "\n\n{description}"},
    "lesson.video_minutes": {"ru": "\n\n⏱ Видео: {minutes} мин", "en": "\n\n⏱ Video: {minutes} min"},
    "lesson.materials": {
        "ru": "\n\nСмотрите видео, сверяйтесь с чек-листом и отметьте урок пройденным.",
        "en": "\n\nWatch the video, follow the checklist, then mark the lesson completed.",
    },
    "lesson.completed_on": {"ru": "\n\n✅ Урок пройден {date}", "en": "\n\n✅ Completed on {date}"},
    "lesson.locked": {
        "ru": "\n\n🔒 Урок откроется после записи на курс.",
        "en": "\n\n🔒 This lesson opens once you enrol in the course.",
    },
    "lesson.video": {"ru": "▶️ Смотреть видео", "en": "▶️ Watch the video"},
    "lesson.pdf": {"ru": "📄 Чек-лист (PDF)", "en": "📄 Checklist (PDF)"},
    "lesson.complete": {"ru": "✅ Урок пройден", "en": "✅ Completed"},
    "lesson.to_list": {"ru": "📖 Все уроки", "en": "📖 All lessons"},
    "lesson.next": {"ru": "➡️ Следующий урок: {title}", "en": "➡️ Next lesson: {title}"},
    "lesson.done": {
        "ru": "✅ Урок «{title}» пройден!\n\nУрок {done} из {total} пройден\n{bar}",
        "en": "✅ Lesson “{title}” completed!\n\nLesson {done} of {total} done\n{bar}",
    },
    "lesson.done_course": {
        "ru": "🎉 Урок «{title}» пройден — это был последний! Все {total} уроков курса позади.",
        "en": "🎉 Lesson “{title}” completed — that was the last one! All {total} lessons are done.",
    },
    "lesson.already_done": {"ru": "Этот урок уже пройден 👍", "en": "You have already completed this lesson 👍"},
    "lesson.forbidden": {
        "ru": "🔒 Этот урок откроется после записи на курс.",
        "en": "🔒 This lesson opens once you enrol in the course.",
    },
    "lesson.not_found": {
        "ru": "Этот урок больше недоступен.",
        "en": "This lesson is no longer available.",
    },
    "my.title": {"ru": "🎓 <b>Мои курсы</b>", "en": "🎓 <b>My courses</b>"},
    "my.course_active": {
        "ru": "\n\n{n}. <b>{title}</b>\n{bar} · {done}/{total} уроков",
        "en": "\n\n{n}. <b>{title}</b>\n{bar} · {done}/{total} lessons",
    },
    "my.course_done": {
        "ru": "\n\n{n}. ✅ <b>{title}</b>\n{bar} · пройден {date}",
        "en": "\n\n{n}. ✅ <b>{title}</b>\n{bar} · completed {date}",
    },
    "my.empty": {
        "ru": "🎓 У вас пока нет курсов.\n\nЗагляните в каталог — там есть бесплатные курсы, с которых удобно начать.",
        "en": "🎓 You have no courses yet.\n\nHave a look at the catalog — there are free courses to start with.",
    },
    "my.open_catalog": {"ru": "📚 Открыть каталог", "en": "📚 Open the catalog"},
    "my.continue_button": {"ru": "▶️ {title}", "en": "▶️ {title}"},
    "my.review_button": {"ru": "🎓 {title}", "en": "🎓 {title}"},
    "my.transcript_button": {"ru": "📄 Справка об обучении (PDF)", "en": "📄 Learning transcript (PDF)"},
    "transcript.preparing": {"ru": "⏳ Готовлю справку…", "en": "⏳ Preparing your transcript…"},
    "transcript.caption": {
        "ru": "📄 Ваша справка об обучении: пройдено курсов — {courses}, часов обучения — {hours}.",
        "en": "📄 Your learning transcript: {courses} courses completed, {hours} hours of learning.",
    },
    "transcript.none": {
        "ru": "📄 Справка появится, когда вы пройдёте хотя бы один курс. Вперёд к урокам!",
        "en": "📄 Your transcript appears once you complete a course. On to the lessons!",
    },
    "ach.summary": {
        "ru": "🏆 <b>Баллы и достижения</b>\n\n⭐ Баллы: <b>{points}</b>\n🎖 Уровень {level} — «{level_title}»\n"
        "{next}\n🔥 Серия: {streak}\n📚 Уроков пройдено: {lessons} · курсов: {courses}",
        "en": "🏆 <b>Points & achievements</b>\n\n⭐ Points: <b>{points}</b>\n🎖 Level {level} — “{level_title}”\n"
        "{next}\n🔥 Streak: {streak}\n📚 Lessons completed: {lessons} · courses: {courses}",
    },
    "ach.to_next_level": {
        "ru": "📈 До следующего уровня: {points} баллов",
        "en": "📈 To the next level: {points} points",
    },
    "ach.top_level": {"ru": "📈 Вы на высшем уровне!", "en": "📈 You are at the top level!"},
    "ach.streak_days": {"ru": "{days} дн. подряд", "en": "{days} days in a row"},
    "ach.streak_none": {"ru": "начните сегодня", "en": "start today"},
    "ach.unlocked_header": {"ru": "\n\n<b>Получено ({count}):</b>", "en": "\n\n<b>Unlocked ({count}):</b>"},
    "ach.unlocked_line": {"ru": "\n🏅 {title} — {date}", "en": "\n🏅 {title} — {date}"},
    "ach.locked_header": {"ru": "\n\n<b>Впереди:</b>", "en": "\n\n<b>Still ahead:</b>"},
    "ach.locked_line": {"ru": "\n🔒 {title} — {progress}/{target}", "en": "\n🔒 {title} — {progress}/{target}"},
    "ach.none": {
        "ru": "\n\nДостижений пока нет — пройдите первый урок!",
        "en": "\n\nNo achievements yet — complete your first lesson!",
    },
    "ach.leaderboard_button": {"ru": "📊 Рейтинг", "en": "📊 Leaderboard"},
    "lb.title": {"ru": "📊 <b>Рейтинг · {scope}</b>\n", "en": "📊 <b>Leaderboard · {scope}</b>\n"},
    "lb.scope.overall": {"ru": "🌍 Общий", "en": "🌍 Overall"},
    "lb.scope.city": {"ru": "🏙 {city}", "en": "🏙 {city}"},
    "lb.scope.category": {"ru": "📂 {category}", "en": "📂 {category}"},
    "lb.entry": {"ru": "\n{place} {name} — {points}", "en": "\n{place} {name} — {points}"},
    "lb.empty": {"ru": "\nПока здесь никого — станьте первым!", "en": "\nNobody here yet — be the first!"},
    "lb.me": {
        "ru": "\n\n👉 Вы на {rank} месте: {points} баллов",
        "en": "\n\n👉 You are #{rank} with {points} points",
    },
    "lb.me_none": {
        "ru": "\n\nВас пока нет в этом рейтинге — пройдите урок, чтобы попасть в него.",
        "en": "\n\nYou are not on this board yet — complete a lesson to join it.",
    },
    "lb.neighbours": {"ru": "\n\nРядом с вами:", "en": "\n\nAround you:"},
    "lb.back": {"ru": "⬅️ К достижениям", "en": "⬅️ Achievements"},
    "communities.title": {
        "ru": "👥 <b>Сообщества</b>\n\nОбщайтесь с коллегами, задавайте вопросы и делитесь работами:",
        "en": "👥 <b>Communities</b>\n\nTalk to colleagues, ask questions and share your work:",
    },
    "communities.line": {
        "ru": "\n\n{icon} <b>{title}</b>{description}",
        "en": "\n\n{icon} <b>{title}</b>{description}",
    },
    "communities.empty": {
        "ru": "👥 Для вашего города и направлений сообществ пока нет — мы сообщим, когда появятся!",
        "en": "👥 No communities for your city and fields yet — we will tell you when they appear!",
    },
    "notify.achievement": {
        "ru": "🏆 Новое достижение: <b>{title}</b>!",
        "en": "🏆 New achievement: <b>{title}</b>!",
    },
    "notify.achievement_description": {"ru": "\n{description}", "en": "\n{description}"},
    "notify.achievements_button": {"ru": "🏆 Мои достижения", "en": "🏆 My achievements"},
    "notify.course_completed": {
        "ru": "🎓 Поздравляем! Вы прошли курс «{title}»!\n\n"
        "Что дальше? Скачайте справку об обучении — она пригодится в портфолио.",
        "en": "🎓 Congratulations! You completed “{title}”!\n\n"
        "What next? Download your learning transcript — it is handy for your portfolio.",
    },
    "notify.next_course": {
        "ru": "\n\nА следующим шагом рекомендуем курс «{title}».",
        "en": "\n\nAs a next step we recommend “{title}”.",
    },
    "notify.next_course_button": {"ru": "📚 {title}", "en": "📚 {title}"},
    "notify.inactive": {
        "ru": "👋 Вы не занимались уже {days} дн. — мы скучаем!\n\nПродолжим курс «{title}»? Осталось уроков: {left}.",
        "en": "👋 It has been {days} days since your last lesson — we miss you!\n\n"
        "Shall we continue “{title}”? Lessons left: {left}.",
    },
    "notify.inactive_general": {
        "ru": "👋 Вы не занимались уже {days} дн. — мы скучаем!\n\nЗагляните в каталог: там есть новые курсы.",
        "en": "👋 It has been {days} days since your last lesson — we miss you!\n\n"
        "Have a look at the catalog for new courses.",
    },
    "notify.opt_out_hint": {
        "ru": "\n\nНе хотите таких напоминаний? Нажмите «🔕 Не напоминать».",
        "en": "\n\nDon't want these reminders? Press “🔕 No reminders”.",
    },
    "notify.continue_button": {"ru": "▶️ Продолжить: {title}", "en": "▶️ Continue: {title}"},
    "reminders.off_button": {"ru": "🔕 Не напоминать", "en": "🔕 No reminders"},
    "reminders.on_button": {"ru": "🔔 Включить напоминания", "en": "🔔 Turn reminders on"},
    "reminders.off": {
        "ru": "🔕 Напоминания отключены. Включить их снова можно кнопкой ниже.",
        "en": "🔕 Reminders are off. You can turn them back on with the button below.",
    },
    "reminders.on": {"ru": "🔔 Напоминания снова включены.", "en": "🔔 Reminders are on again."},
    # -- money: paid course cards, purchases, Telegram Stars, the coins wallet, top-ups --
    "menu.balance": {"ru": "💰 Баланс", "en": "💰 Balance"},
    "money.price_stars": {"ru": "{price} · ⭐ {stars}", "en": "{price} · ⭐ {stars}"},
    "money.card_balance": {
        "ru": "\n\n👛 На вашем балансе: {coins}",
        "en": "\n\n👛 Your balance: {coins}",
    },
    "money.card_missing": {
        "ru": "\nДо покупки за монеты не хватает {missing}.",
        "en": "\nYou need {missing} more to buy it with coins.",
    },
    "money.card_owned": {
        "ru": "\n\n✅ Курс оплачен — открываем доступ, это займёт пару секунд.",
        "en": "\n\n✅ The course is paid for — opening it now, this takes a couple of seconds.",
    },
    "money.card_not_on_sale": {
        "ru": "\n\n⏸ Сейчас курс не продаётся. Загляните позже или откройте бесплатные уроки.",
        "en": "\n\n⏸ This course is not on sale right now. Check back later or open the free lessons.",
    },
    "money.card_unavailable": {
        "ru": "\n\n⏳ Оплата сейчас недоступна — попробуйте через минуту.",
        "en": "\n\n⏳ Payment is unavailable right now — please try again in a minute.",
    },
    "money.pay_stars": {"ru": "Оплатить ⭐ {stars}", "en": "Pay ⭐ {stars}"},
    "money.buy_coins": {"ru": "Купить за {coins}", "en": "Buy for {coins}"},
    "money.top_up_difference": {"ru": "Пополнить баланс", "en": "Top up the balance"},
    "money.refresh": {"ru": "🔄 Обновить", "en": "🔄 Refresh"},
    "money.confirm_text": {
        "ru": "🛒 Купить курс «{title}» за {coins}?\n\nНа балансе {balance}, после покупки останется {left}.",
        "en": "🛒 Buy “{title}” for {coins}?\n\nYour balance is {balance}; {left} will be left after the purchase.",
    },
    "money.confirm_button": {"ru": "✅ Подтвердить покупку за {coins}", "en": "✅ Confirm the purchase for {coins}"},
    "money.cancel_button": {"ru": "✖️ Отмена", "en": "✖️ Cancel"},
    "money.purchased": {
        "ru": "✅ Курс «{title}» куплен за {coins}. Баланс: {balance}.\n\nОткрываем курс…",
        "en": "✅ “{title}” bought for {coins}. Balance: {balance}.\n\nOpening the course…",
    },
    "money.insufficient": {
        "ru": "😕 На балансе {balance}, а курс «{title}» стоит {coins}: не хватает {missing}.\n\n"
        "Пополните баланс или оплатите курс звёздами.",
        "en": "😕 Your balance is {balance} and “{title}” costs {coins}: {missing} short.\n\n"
        "Top up your balance or pay in Stars.",
    },
    "money.already_owned": {
        "ru": "Курс «{title}» уже ваш — повторно ничего не списано. Откройте уроки 👇",
        "en": "“{title}” is already yours — nothing was charged again. Open the lessons 👇",
    },
    "money.price_changed": {
        "ru": "Цена курса изменилась: теперь {coins}. Ничего не списано — посмотрите новую цену и решите ещё раз.",
        "en": "The price has changed: it is now {coins}. Nothing was charged — see the new price and decide again.",
    },
    "money.not_on_sale": {
        "ru": "Курс «{title}» сейчас не продаётся. Ничего не списано.",
        "en": "“{title}” is not on sale right now. Nothing was charged.",
    },
    "money.invoice_sent": {"ru": "Счёт в звёздах отправлен 👇", "en": "Here is your invoice in Stars 👇"},
    "money.stars_top_up_disabled": {
        "ru": "Пополнение звёздами сейчас недоступно. Пополните баланс рублями.",
        "en": "Topping up with Stars is unavailable right now. Please top up in roubles.",
    },
    "money.bad_amount": {
        "ru": "Такую сумму выбрать нельзя. Выберите другую.",
        "en": "That amount cannot be chosen. Please pick another.",
    },
    "topup.no_receipt_contact": {
        "ru": "Для чека об оплате (54-ФЗ) нужен ваш номер телефона, а его нет в профиле. Напишите в поддержку.",
        "en": "The payment receipt (54-FZ) needs your phone number, and your profile has none. Please contact support.",
    },
    "money.payment_unavailable": {
        "ru": "⏳ Платёжная система сейчас недоступна. Попробуйте через минуту — деньги не списаны.",
        "en": "⏳ The payment system is unavailable right now. Please try again in a minute — nothing was charged.",
    },
    # Telegram shows these when the bot declines the payment at pre-checkout (no Stars are taken).
    "precheckout.unknown_invoice": {
        "ru": "Этот счёт нам неизвестен. Откройте курс и нажмите «Оплатить» ещё раз.",
        "en": "We do not know this invoice. Open the course and press “Pay” again.",
    },
    "precheckout.not_yours": {
        "ru": "Этот счёт выставлен другому ученику. Откройте курс и получите свой.",
        "en": "This invoice belongs to another learner. Open the course to get your own.",
    },
    "precheckout.expired": {
        "ru": "Счёт устарел. Откройте курс и получите новый — звёзды не списаны.",
        "en": "This invoice has expired. Open the course to get a new one — no Stars were taken.",
    },
    "precheckout.price_changed": {
        "ru": "Цена курса изменилась. Откройте курс, чтобы увидеть новую цену — звёзды не списаны.",
        "en": "The price of the course has changed. Open the course to see the new price — no Stars were taken.",
    },
    "precheckout.course_unavailable": {
        "ru": "Курс больше не продаётся — звёзды не списаны.",
        "en": "This course is no longer on sale — no Stars were taken.",
    },
    "precheckout.already_owned": {
        "ru": "Этот курс уже ваш — платить ещё раз не нужно.",
        "en": "You already own this course — no need to pay again.",
    },
    "precheckout.already_paid": {
        "ru": "Этот счёт уже оплачен.",
        "en": "This invoice has already been paid.",
    },
    "precheckout.top_up_disabled": {
        "ru": "Пополнение звёздами сейчас недоступно — звёзды не списаны. Пополните баланс рублями.",
        "en": "Topping up with Stars is unavailable right now — no Stars were taken. Please top up in roubles.",
    },
    "precheckout.declined": {
        "ru": "Оплату сейчас принять нельзя. Откройте курс и попробуйте ещё раз.",
        "en": "The payment cannot be accepted now. Open the course and try again.",
    },
    "precheckout.retry_later": {
        "ru": "Платёжная система не ответила. Попробуйте через минуту — звёзды не списаны.",
        "en": "The payment system did not answer. Please try again in a minute — no Stars were taken.",
    },
    "precheckout.not_registered": {
        "ru": "Сначала зарегистрируйтесь: отправьте боту /start.",
        "en": "Please register first: send /start to the bot.",
    },
    "stars.course_paid": {
        "ru": "⭐ Оплата получена, открываем курс «{title}»…",
        "en": "⭐ Payment received, opening “{title}”…",
    },
    "stars.topped_up": {
        "ru": "⭐ Оплата получена: +{coins}, баланс {balance}.",
        "en": "⭐ Payment received: +{coins}, balance {balance}.",
    },
    "stars.refunded": {
        "ru": "Курс «{title}» у вас уже есть, поэтому ⭐ {stars} вернули на ваш счёт в Telegram. Ничего не списано.",
        "en": "You already own “{title}”, so the ⭐ {stars} went back to your Telegram balance. Nothing was charged.",
    },
    "stars.unknown_payment": {
        "ru": "Мы получили оплату, но не нашли счёт. Напишите в поддержку — мы разберёмся и вернём звёзды.",
        "en": "We received a payment but could not find its invoice. Write to support — we will sort it out "
        "and return the Stars.",
    },
    "stars.processing": {
        "ru": "⭐ Оплата получена. Зачисляем её — это может занять пару минут, мы напишем.",
        "en": "⭐ Payment received. We are crediting it — this may take a couple of minutes; we will let you know.",
    },
    "wallet.title": {
        "ru": "💰 <b>Баланс: {coins}</b>",
        "en": "💰 <b>Balance: {coins}</b>",
    },
    "wallet.low": {
        "ru": "\n⚠️ Баланс почти исчерпан — пополните, чтобы покупать курсы за монеты.",
        "en": "\n⚠️ Your balance is running low — top up to buy courses with coins.",
    },
    "wallet.history": {"ru": "\n\n<b>Операции:</b>", "en": "\n\n<b>Transactions:</b>"},
    "wallet.history_older": {"ru": "\n\n<b>Операции (раньше):</b>", "en": "\n\n<b>Earlier transactions:</b>"},
    "wallet.line": {"ru": "\n{date} · {amount} · {reason}", "en": "\n{date} · {amount} · {reason}"},
    "wallet.empty": {
        "ru": "\n\nОпераций пока нет. Пополните баланс, чтобы покупать курсы за монеты.",
        "en": "\n\nNo transactions yet. Top up to buy courses with coins.",
    },
    "wallet.confirm_state": {
        "ru": "\n\nПодтверждать покупки: {state}",
        "en": "\n\nConfirm purchases: {state}",
    },
    "wallet.on": {"ru": "вкл", "en": "on"},
    "wallet.off": {"ru": "выкл", "en": "off"},
    "wallet.newer": {"ru": "← Новее", "en": "← Newer"},
    "wallet.older": {"ru": "Старее →", "en": "Older →"},
    "wallet.top_up": {"ru": "💳 Пополнить", "en": "💳 Top up"},
    "wallet.toggle_confirm": {
        "ru": "Подтверждать покупки: {state}",
        "en": "Confirm purchases: {state}",
    },
    "wallet.confirm_on_saved": {
        "ru": "Теперь перед покупкой за монеты мы спросим подтверждение",
        "en": "We will ask you to confirm before buying with coins",
    },
    "wallet.confirm_off_saved": {
        "ru": "Покупки за монеты проходят в одно нажатие",
        "en": "Purchases with coins now take one tap",
    },
    "wallet.reason.topup": {"ru": "пополнение", "en": "top-up"},
    "wallet.reason.purchase": {"ru": "покупка курса", "en": "course purchase"},
    "wallet.reason.refund": {"ru": "возврат", "en": "refund"},
    "wallet.reason.reward": {"ru": "награда за достижение", "en": "achievement reward"},
    "wallet.reason.adjustment": {"ru": "корректировка", "en": "adjustment"},
    "wallet.reason.other": {"ru": "операция", "en": "transaction"},
    "wallet.back": {"ru": "⬅️ К балансу", "en": "⬅️ Balance"},
    "topup.title": {
        "ru": "💳 <b>Пополнение баланса</b>\n\nВыберите сумму. Оплата картой или СБП через ЮKassa, "
        "монеты придут сразу после оплаты.",
        "en": "💳 <b>Top up</b>\n\nChoose an amount. Pay by card or SBP through YooKassa; "
        "the coins arrive as soon as the payment goes through.",
    },
    "topup.title_difference": {
        "ru": "\n\nДо покупки курса не хватает {missing}.",
        "en": "\n\nYou need {missing} more for the course.",
    },
    "topup.preset": {"ru": "{amount} ₽", "en": "{amount} ₽"},
    "topup.difference": {"ru": "{amount} ₽ — столько не хватает", "en": "{amount} ₽ — what is missing"},
    "topup.custom": {"ru": "✏️ Другая сумма", "en": "✏️ Another amount"},
    "topup.stars": {"ru": "⭐ Пополнить звёздами", "en": "⭐ Top up with Stars"},
    "topup.stars_title": {
        "ru": "⭐ <b>Пополнение звёздами</b>\n\nВыберите, сколько звёзд перевести на баланс:",
        "en": "⭐ <b>Top up with Stars</b>\n\nChoose how many Stars to put on your balance:",
    },
    "topup.stars_preset": {"ru": "⭐ {stars}", "en": "⭐ {stars}"},
    "topup.ask_amount": {
        "ru": "Напишите сумму пополнения в рублях — целым числом от {min} до {max}, например 700.\nПередумали? /cancel",
        "en": "Type the amount in roubles — a whole number from {min} to {max}, e.g. 700.\nChanged your mind? /cancel",
    },
    "topup.not_a_number": {
        "ru": "Это не похоже на сумму. Напишите число рублей, например 700 (или /cancel).",
        "en": "That does not look like an amount. Type a number of roubles, e.g. 700 (or /cancel).",
    },
    "topup.not_whole": {
        "ru": "Пополнить можно только на целое число рублей, без копеек. Например 700.",
        "en": "Only whole roubles, no kopecks. For example 700.",
    },
    "topup.zero": {
        "ru": "Ноль рублей пополнить не получится 🙂 Напишите сумму от {min} до {max} ₽.",
        "en": "Zero roubles cannot be topped up 🙂 Type an amount from {min} to {max} ₽.",
    },
    "topup.negative": {
        "ru": "Сумма не может быть отрицательной. Напишите сумму от {min} до {max} ₽.",
        "en": "The amount cannot be negative. Type an amount from {min} to {max} ₽.",
    },
    "topup.too_small": {
        "ru": "Минимальная сумма пополнения — {min} ₽. Напишите сумму побольше.",
        "en": "The smallest top-up is {min} ₽. Please type a larger amount.",
    },
    "topup.too_large": {
        "ru": "За один раз можно пополнить не больше чем на {max} ₽. Напишите сумму поменьше.",
        "en": "A single top-up is at most {max} ₽. Please type a smaller amount.",
    },
    "topup.pay_text": {
        "ru": "💳 Пополнение на {amount} ₽ (+{coins}).\n\nНажмите кнопку, чтобы перейти к оплате. "
        "Когда оплата пройдёт, мы напишем.",
        "en": "💳 Top-up of {amount} ₽ (+{coins}).\n\nPress the button to pay. We will tell you when the payment "
        "goes through.",
    },
    "topup.pay_button": {"ru": "Оплатить {amount} ₽", "en": "Pay {amount} ₽"},
    "notify.course_opened": {
        "ru": "🎉 Курс «{title}» открыт! Начнём с первого урока?",
        "en": "🎉 “{title}” is open! Shall we start with the first lesson?",
    },
    "notify.course_reopened": {
        "ru": "🎉 Курс «{title}» снова открыт, ваш прогресс сохранён. Продолжим?",
        "en": "🎉 “{title}” is open again, with your progress kept. Shall we go on?",
    },
    "notify.balance.top_up": {
        "ru": "💰 Баланс пополнен: +{delta}, теперь {balance}.",
        "en": "💰 Balance topped up: +{delta}, now {balance}.",
    },
    "notify.balance.refund": {
        "ru": "💰 Возврат на баланс: +{delta}, теперь {balance}.",
        "en": "💰 Refunded to your balance: +{delta}, now {balance}.",
    },
    "notify.balance.refund_debit": {
        "ru": "💰 Пополнение возвращено: {delta}, теперь {balance}. Деньги вернутся туда, откуда вы платили.",
        "en": "💰 A top-up was refunded: {delta}, now {balance}. The money goes back to where you paid from.",
    },
    "notify.balance.achievement_reward": {
        "ru": "🎁 Награда за достижение: +{delta}, баланс {balance}.",
        "en": "🎁 Achievement reward: +{delta}, balance {balance}.",
    },
    "notify.balance.credit": {
        "ru": "💰 Начислено на баланс: +{delta}, теперь {balance}.",
        "en": "💰 Credited to your balance: +{delta}, now {balance}.",
    },
    "notify.balance.debit": {
        "ru": "💰 Списано с баланса: {delta}, теперь {balance}.",
        "en": "💰 Taken from your balance: {delta}, now {balance}.",
    },
    "notify.balance_low": {
        "ru": "👛 На балансе осталось {balance}. Пополните, чтобы покупать курсы в одно нажатие.",
        "en": "👛 Only {balance} left on your balance. Top up to buy courses in one tap.",
    },
    "notify.purchase_refunded": {
        "ru": "↩️ Покупка курса «{title}» отменена, {returned}; доступ к курсу закрыт.",
        "en": "↩️ Your purchase of “{title}” was cancelled, {returned}; access to the course is closed.",
    },
    "notify.returned.stars": {
        "ru": "⭐ {amount} вернулись на ваш счёт в Telegram",
        "en": "⭐ {amount} went back to your Telegram account",
    },
    "notify.returned.coins": {"ru": "монеты вернулись на баланс", "en": "the coins went back to your balance"},
    "notify.returned.money": {
        "ru": "{amount} вернутся туда, откуда вы платили",
        "en": "{amount} go back to where you paid from",
    },
    "notify.payment_failed": {
        "ru": "❌ Пополнение на {amount} не прошло: платёж отменён, деньги не списаны. Можно попробовать ещё раз.",
        "en": "❌ The top-up of {amount} did not go through: the payment was cancelled and nothing was charged. "
        "You can try again.",
    },
    "notify.balance_button": {"ru": "💰 Баланс", "en": "💰 Balance"},
    "help": {
        "ru": "Команды:\n/start — начать\n/menu — главное меню\n/catalog — каталог курсов\n"
        "/mycourses — мои курсы и прогресс\n/achievements — баллы и достижения\n/leaderboard — рейтинг\n"
        "/communities — сообщества мастеров\n/transcript — справка об обучении (PDF)\n"
        "/balance — баланс и пополнение\n/profile — профиль\n/language — язык\n"
        "/cancel — отменить текущий шаг\n/help — помощь",
        "en": "Commands:\n/start — start\n/menu — main menu\n/catalog — course catalog\n"
        "/mycourses — my courses and progress\n/achievements — points and achievements\n"
        "/leaderboard — leaderboard\n/communities — communities\n/transcript — learning transcript (PDF)\n"
        "/balance — balance and top-ups\n/profile — profile\n/language — language\n"
        "/cancel — cancel the current step\n/help — help",
    },
}


def locale_for(language_code: str | None) -> str:
    if not language_code:
        return DEFAULT_LOCALE
    primary = language_code.split("-", 1)[0].lower()
    return "ru" if primary in _RUSSIAN_READERS else "en"


def t(key: str, locale: str = DEFAULT_LOCALE, **values: Any) -> str:
    texts = CATALOG[key]
    template = texts.get(locale) or texts[DEFAULT_LOCALE]
    return template.format(**values)


def button_filter(key: str) -> MagicFilter:
    """Matches a reply-keyboard button by its catalogue key, whatever language it was shown in."""
    return F.text.in_(set(CATALOG[key].values()))
