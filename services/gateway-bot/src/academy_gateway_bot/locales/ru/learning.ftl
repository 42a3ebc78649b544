catalog-title =
    📚 <b>Каталог курсов</b>

    Выберите направление — покажу курсы по нему.

catalog-top =
    🔥 Курс месяца: <b>{ $title }</b>

catalog-top-button =
    🔥 Курс месяца: { $title }

catalog-empty =
    📚 Каталог пока пуст — скоро здесь появятся курсы.

catalog-category =
    📂 <b>{ $category }</b>

    Курсов: { $total } · страница { $page } из { $pages }
    Выберите курс:

catalog-category-empty =
    📂 <b>{ $category }</b>

    В этом направлении пока нет курсов — загляните позже.

catalog-course-button =
    { $title } · { $price }

catalog-page =
    { $page }/{ $pages }

catalog-all-categories =
    ⬅️ Все направления

course-untitled =
    Курс №{ $id }

course-not-found =
    Этот курс больше недоступен. Загляните в каталог — там много других!

course-closed =
    Запись на этот курс сейчас закрыта. Загляните в каталог — там много других!

course-card =
    🎓 <b>{ $title }</b>

    { $description }

    📂 { $category }
    🎬 Уроков: { $lessons }
    ⏱ Длительность: { $duration }

course-price =
    💰 Цена: { $price }

course-hours =
    { $hours } ч

course-no-duration =
    не указана

course-free-lessons =
    🔓 <b>Бесплатные уроки:</b>
    { $lessons }

course-free-lessons-more =
    …и ещё { $count }

course-read-more =
    📖 Читать полностью

course-about =
    🎓 <b>{ $title }</b>

    { $text }

course-archived =
    🗄 Курс снят с публикации, но у вас он остаётся: все уроки доступны.

course-your-progress =
    📈 Ваш прогресс: { $bar }

course-completed =
    🎓 Курс пройден!

course-enrol-free =
    ✅ Записаться бесплатно

course-buy =
    💳 Купить за { $price }

course-lessons =
    📖 Уроки курса

course-continue =
    ▶️ Продолжить обучение

course-enrolled =
    🎉 Вы записаны на курс «{ $title }»!

    Начнём с первого урока?

course-already-enrolled =
    Вы уже записаны на курс «{ $title }». Продолжим?

course-start-lesson =
    ▶️ Урок { $order }: { $title }

lessons-title =
    📖 <b>{ $title }</b>

    Пройдено уроков: { $done } из { $total }
    { $bar }

    ✅ пройден · ▶️ доступен · 🔒 после записи

lessons-button =
    { $mark } { $order }. { $title }

lessons-back-to-course =
    ⬅️ К описанию курса

lessons-page =
    { $page }/{ $pages }

lesson-view =
    🎬 <b>Урок { $order } из { $total }. { $title }</b>
    📚 { $course }

lesson-description =
    { $description }

lesson-read-more =
    📖 Читать полностью

lesson-text =
    🎬 <b>Урок { $order }. { $title }</b>

    { $text }

lesson-back =
    ⬅️ К уроку

lesson-video-minutes =
    ⏱ Видео: { $minutes } мин

lesson-materials =
    Смотрите видео, сверяйтесь с чек-листом и отметьте урок пройденным.

lesson-completed-on =
    ✅ Урок пройден { $date }

lesson-locked =
    🔒 Урок откроется после записи на курс.

lesson-video =
    ▶️ Смотреть видео

lesson-pdf =
    📄 Чек-лист (PDF)

lesson-complete =
    ✅ Урок пройден

lesson-to-list =
    📖 Все уроки

lesson-next =
    ➡️ Следующий урок: { $title }

lesson-done =
    ✅ Урок «{ $title }» пройден!

    Урок { $done } из { $total } пройден
    { $bar }

lesson-done-course =
    🎉 Урок «{ $title }» пройден — это был последний! { $total ->
        [one] Единственный урок курса позади.
       *[other] Все { $total } { $total ->
            [one] урок
            [few] урока
           *[many] уроков
        } курса позади.
    }

lesson-already-done =
    Этот урок уже пройден 👍

lesson-forbidden =
    🔒 Этот урок откроется после записи на курс.

lesson-retry =
    ⏳ Не получилось отметить урок — попробуйте ещё раз через минуту.

lesson-not-found =
    Этого урока больше нет в курсе.

my-title =
    🎓 <b>Мои курсы</b>

my-course-active =
    { $n }. <b>{ $title }</b>
    { $bar } · { $done } из { $total } { $total ->
        [one] урока
       *[other] уроков
    }

my-course-done =
    { $n }. ✅ <b>{ $title }</b>
    { $bar } · пройден { $date }

my-empty =
    🎓 У вас пока нет курсов.

    Загляните в каталог — там есть бесплатные курсы, с которых удобно начать.

my-open-catalog =
    📚 Открыть каталог

my-continue-button =
    ▶️ { $title }

my-review-button =
    🎓 { $title }

my-transcript-button =
    📄 Справка об обучении (PDF)

transcript-preparing =
    ⏳ Готовлю справку об обучении…

transcript-caption =
    📄 Ваша справка об обучении: { $courses ->
        [one] пройден { $courses } курс
        [few] пройдено { $courses } курса
       *[many] пройдено { $courses } курсов
    }, { $hours } { $hours ->
        [one] час
        [few] часа
       *[many] часов
    } обучения.

transcript-none =
    📄 Справка об обучении появится, когда вы пройдёте хотя бы один курс. Вперёд к урокам!

communities-title =
    👥 <b>Сообщества</b>

    Общайтесь с коллегами, задавайте вопросы и делитесь работами:

communities-line =
    { $icon } <b>{ $title }</b>{ $description }

communities-empty =
    👥 Для вашего города и направлений сообществ пока нет — мы сообщим, когда появятся!
