# Answers to what no other handler took (handlers/fallback.py).
fallback-unknown-command =
    🤔 Такой команды я не знаю.
fallback-unknown-text =
    🤔 Я не понял сообщение.
fallback-voice =
    🎙 Голосовые и аудиосообщения я пока не слушаю.
fallback-photo =
    🖼 Фото сейчас не подходит.
fallback-video =
    🎬 Видео я пока не смотрю.
fallback-sticker =
    😊 Красивый стикер! Но отвечать на стикеры я не умею.
fallback-document =
    📎 Файлы я пока не читаю.
fallback-other =
    🤔 С таким сообщением я пока не умею работать.
fallback-use-menu =
    Выберите раздел кнопками меню ниже или отправьте /help — там все команды.
fallback-not-registered =
    Чтобы начать, отправьте /start.
fallback-step-consent =
    Сейчас нужен ответ на согласие: нажмите «Принимаю» или «Не принимаю» под текстом согласия.
fallback-step-name =
    Сейчас я жду ваше имя и фамилию текстом, например: Анна Петрова.
fallback-step-phone =
    Сейчас я жду номер телефона: нажмите «Поделиться номером» или напишите его, например +7 916 123-45-67.
fallback-step-city =
    Сейчас я жду ваш город: выберите его кнопкой или напишите текстом.
fallback-step-amount =
    Сейчас я жду сумму пополнения в рублях числом, например 500.
fallback-step-photo =
    Сейчас я жду фото для профиля: пришлите фото или картинку файлом (JPEG, PNG, WebP).
fallback-step-cancel =
    Передумали — отправьте /cancel.
fallback-stale-button =
    Эта кнопка устарела. Откройте раздел заново из меню.
