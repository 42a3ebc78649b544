profile-card =
    👤 Профиль

    Имя: { $name }
    Город: { $city }
    Баллы: { $points }
    Уровень: { $level }

profile-not-registered =
    Вы ещё не зарегистрированы. Отправьте /start.

profile-details =
    👤 <b>Профиль</b>

    Имя: { $name }
    Город: { $city }
    Телефон: { $phone }
    Часовой пояс: { $time_zone }
    Баллы: { $points }
    Уровень: { $level }

profile-edit-name =
    ✏️ Изменить имя

profile-edit-city =
    🏙 Изменить город

profile-ask-name =
    Напишите новое имя и фамилию (или /cancel).

profile-ask-city =
    Напишите новый город или выберите из списка (или /cancel).

profile-saved =
    ✅ Сохранено.

reminders-off-button =
    🔕 Не напоминать

reminders-on-button =
    🔔 Включить напоминания

reminders-off =
    🔕 Напоминания отключены. Включить их снова можно кнопкой ниже.

reminders-on =
    🔔 Напоминания снова включены.

profile-time-zone-default =
    { $time_zone } (по умолчанию: укажите свой город, чтобы напоминания приходили днём)
