notify-achievement =
    🏆 Новое достижение: <b>{ $title }</b>!

notify-achievement-description =
    { $description }

notify-achievements-button =
    🏆 Мои достижения

notify-course-completed =
    🎓 Поздравляем! Вы прошли курс «{ $title }»!

    Что дальше? Скачайте справку об обучении — она пригодится в портфолио.

notify-next-course =
    А следующим шагом рекомендуем курс «{ $title }».

notify-next-course-button =
    📚 { $title }

notify-inactive =
    👋 Вы не занимались уже { $days } { $days ->
        [one] день
        [few] дня
       *[many] дней
    } — мы скучаем!

    Продолжим курс «{ $title }»? Осталось уроков: { $left }.

notify-inactive-general =
    👋 Вы не занимались уже { $days } { $days ->
        [one] день
        [few] дня
       *[many] дней
    } — мы скучаем!

    Загляните в каталог: там есть новые курсы.

notify-opt-out-hint =
    Не хотите таких напоминаний? Нажмите «🔕 Не напоминать».

notify-continue-button =
    ▶️ Продолжить: { $title }

notify-course-opened =
    🎉 Курс «{ $title }» открыт! Начнём с первого урока?

notify-course-reopened =
    🎉 Курс «{ $title }» снова открыт, ваш прогресс сохранён. Продолжим?

notify-balance-top-up =
    💰 Баланс пополнен: +{ $delta }, теперь { $balance }.

notify-balance-refund =
    💰 Возврат на баланс: +{ $delta }, теперь { $balance }.

notify-balance-refund-debit =
    💰 Пополнение возвращено: { $delta }, теперь { $balance }. Деньги вернутся туда, откуда вы платили.

notify-balance-achievement-reward =
    🎁 Награда за достижение: +{ $delta }, баланс { $balance }.

notify-balance-credit =
    💰 Начислено на баланс: +{ $delta }, теперь { $balance }.

notify-balance-debit =
    💰 Списано с баланса: { $delta }, теперь { $balance }.

notify-balance-low =
    👛 На балансе осталось { $balance }. Пополните, чтобы покупать курсы в одно нажатие.

notify-purchase-refunded =
    ↩️ Покупка курса «{ $title }» отменена, { $returned }; доступ к курсу закрыт.

notify-returned-stars =
    ⭐ { $amount } вернулись на ваш счёт в Telegram

notify-returned-coins =
    монеты вернулись на баланс

notify-returned-money =
    { $amount } вернутся туда, откуда вы платили

notify-payment-failed =
    ❌ Пополнение на { $amount } не прошло: платёж отменён, деньги не списаны. Можно попробовать ещё раз.

notify-balance-button =
    💰 Баланс

announcements-off-button =
    🔕 Не присылать объявления

announcements-off =
    Больше не будем присылать объявления. Уведомления о ваших курсах, баллах и оплатах останутся.

announcements-on-button =
    🔔 Снова присылать объявления

announcements-on =
    Снова будем присылать объявления.
