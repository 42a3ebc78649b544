points-for-welcome =
    🎁 +{ $points } { $points ->
        [one] балл
        [few] балла
       *[many] баллов
    } за регистрацию! Всего баллов: { $total }.

points-for-course =
    ⭐ +{ $points } { $points ->
        [one] балл
        [few] балла
       *[many] баллов
    } за курс «{ $title }». Всего баллов: { $total }.

points-for-lesson =
    ⭐ +{ $points } { $points ->
        [one] балл
        [few] балла
       *[many] баллов
    } за урок. Всего баллов: { $total }.

points-for-achievement =
    ⭐ +{ $points } { $points ->
        [one] балл
        [few] балла
       *[many] баллов
    } за достижение «{ $title }». Всего баллов: { $total }.

points-for-streak =
    🔥 +{ $points } { $points ->
        [one] балл
        [few] балла
       *[many] баллов
    } за серию занятий. Всего баллов: { $total }.

points-for-other =
    ⭐ +{ $points } { $points ->
        [one] балл
        [few] балла
       *[many] баллов
    }. Всего баллов: { $total }.

points-level-reached =
    🎖 Новый уровень: { $level } — «{ $title }»!

ach-summary =
    🏆 <b>Баллы и достижения</b>

    ⭐ Баллы: <b>{ $points }</b>
    🎖 Уровень { $level } — «{ $level_title }»
    { $next }
    🔥 Серия: { $streak }
    📚 Уроков пройдено: { $lessons } · курсов: { $courses }

ach-to-next-level =
    📈 До следующего уровня: { $points } { $points ->
        [one] балл
        [few] балла
       *[many] баллов
    }

ach-top-level =
    📈 Вы на высшем уровне!

ach-streak-days =
    { $days } { $days ->
        [one] день
        [few] дня
       *[many] дней
    } подряд

ach-streak-none =
    начните сегодня

ach-unlocked-header =
    <b>Получено ({ $count }):</b>

ach-unlocked-line =
    🏅 { $title } — { $date }

ach-locked-header =
    <b>Впереди:</b>

ach-locked-line =
    🔒 { $title } — { $progress }/{ $target }

ach-none =
    Достижений пока нет — пройдите первый урок!

ach-leaderboard-button =
    📊 Рейтинг

lb-title =
    📊 <b>Рейтинг · { $scope }</b>

lb-scope-overall =
    🌍 Общий

lb-scope-city =
    🏙 { $city }

lb-scope-category =
    📂 { $category }

lb-entry =
    { $place } { $name } — { $points }

lb-empty =
    Пока здесь никого — станьте первым!

lb-me =
    👉 Вы на { $rank } месте: { $points } { $points ->
        [one] балл
        [few] балла
       *[many] баллов
    }

lb-me-none =
    Вас пока нет в этом рейтинге — пройдите урок, чтобы попасть в него.

lb-neighbours =
    Рядом с вами:

lb-back =
    ⬅️ К достижениям

lb-anonymous =
    Участник №{ $rank }

lb-anonymous-you =
    Участник №{ $rank } (вы)

lb-you-are-anonymous =
    🙈 Вы участвуете анонимно: другие видят «Участник №…» вместо вашего имени.

lb-hide-my-name =
    🙈 Скрыть моё имя в рейтинге

lb-show-my-name =
    👤 Показывать моё имя в рейтинге

lb-now-anonymous =
    Теперь в рейтинге вы — «Участник №…»

lb-now-named =
    Теперь в рейтинге видно ваше имя

lb-visibility-not-ready =
    Рейтинг ещё не знает о вас — попробуйте через минуту.
