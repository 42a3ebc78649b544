# Avatars (handlers/avatars.py): setting one from a photo, the history, going back, deleting.
avatar-change =
    📷 Сменить фото
avatar-my-photos =
    🖼 Мои фото
avatar-open-profile =
    👤 Профиль
avatar-send-photo =
    📷 Пришлите фото — оно сразу станет фото профиля.
    Можно и файлом, без сжатия: JPEG, PNG или WebP до 10 МБ.
    Передумали — /cancel.
avatar-send-photo-again =
    Пришлите фото или отправьте /cancel.
avatar-not-registered =
    Чтобы поставить фото профиля, сначала зарегистрируйтесь: отправьте /start.
avatar-confirm =
    Сделать это фото аватаром?
avatar-confirm-yes =
    ✅ Да
avatar-confirm-no =
    ✖️ Нет
avatar-set =
    ✅ Фото профиля обновлено.
# A second press of Yes or No, by how the first one went.
avatar-offer-accepted =
    Это фото уже стоит в профиле.
avatar-offer-declined =
    Хорошо, фото профиля не меняем.
avatar-offer-refused =
    Это фото не подошло — пришлите другое.
avatar-offer-expired =
    Это предложение устарело. Пришлите фото ещё раз.
# Refusals (the users service's checks; Telegram lets a bot download files of up to 20 MB).
avatar-refused-too-big =
    😕 Файл слишком большой для фото профиля.
avatar-refused-not-an-image =
    😕 Это не изображение — для фото профиля нужна картинка.
avatar-refused-unsupported-type =
    😕 Этот формат изображения не подходит.
avatar-refused-detected =
    Формат файла: { $format }.
avatar-refused-type-mismatch =
    😕 Файл не тот, чем называется: его содержимое не совпадает с типом. Сохраните картинку заново как JPEG или PNG.
avatar-refused-too-many-pixels =
    😕 В изображении слишком много пикселей. Уменьшите его (например, до 4000 × 4000) и пришлите снова.
avatar-formats =
    Подойдёт фото или картинка файлом: JPEG, PNG или WebP до 10 МБ.
avatar-history-empty =
    У вас пока нет фото профиля. Нажмите «📷 Сменить фото» и пришлите снимок.
avatar-history =
    🖼 Фото профиля: { $count }.
# $numbers: «№1–10», «№11»…
avatar-history-shown =
    Выше — { $numbers }, под номерами.
# Photos whose images are gone from storage: $numbers is «№3, №5».
avatar-history-missing =
    😕 Не удалось показать { $numbers }: этих фото больше нет. Их не вернуть — можно прислать новое.
avatar-history-none-shown =
    😕 Не удалось показать ни одно фото: { $numbers } больше нет. Их не вернуть — можно прислать новое.
avatar-history-restore-hint =
    «↩️ Вернуть» снова ставит фото в профиль.
avatar-number =
    №{ $number }
avatar-number-range =
    №{ $first }–{ $last }
avatar-history-older =
    ⬅️ Старше
avatar-history-newer =
    Новее ➡️
# The profile card when the current photo's image is gone from storage.
avatar-card-unavailable =
    📷 Фото профиля сейчас недоступно — пришлите новое: «📷 Сменить фото».
# Added to avatar-history only when one of the photos is the current one.
avatar-history-remove-hint =
    «🗑 Удалить текущее фото» убирает текущее.
avatar-history-item =
    №{ $number } · { $date }
avatar-history-item-current =
    №{ $number } · текущее · { $date }
avatar-restore =
    ↩️ Вернуть №{ $number }
avatar-remove =
    🗑 Удалить текущее фото
avatar-restored =
    ✅ Это фото снова в вашем профиле.
avatar-gone =
    Этого фото больше нет. Откройте «Мои фото» заново.
avatar-not-current-any-more =
    Это фото уже не текущее. Откройте «Мои фото» заново.
avatar-removed =
    🗑 Текущее фото удалено, профиль пока без фото. Можно поставить новое или вернуть прежнее в «Мои фото».
