price-free =
    Бесплатно

money-price-stars =
    { $price } · ⭐ { $stars }

money-card-balance =
    👛 На вашем балансе: { $coins }

money-card-missing =
    До покупки за монеты не хватает { $missing }.

money-card-owned =
    ✅ Курс оплачен — открываем доступ, это займёт пару секунд.

money-card-not-on-sale =
    ⏸ Сейчас курс не продаётся. Загляните позже или откройте бесплатные уроки.

money-card-unavailable =
    ⏳ Оплата сейчас недоступна — попробуйте через минуту.

money-pay-stars =
    Оплатить ⭐ { $stars }

money-buy-coins =
    Купить за { $coins }

money-top-up-difference =
    Пополнить баланс

money-refresh =
    🔄 Обновить

money-confirm-text =
    🛒 Купить курс «{ $title }» за { $coins }?

    На балансе { $balance }, после покупки останется { $left }.

money-confirm-button =
    ✅ Подтвердить покупку за { $coins }

money-cancel-button =
    ✖️ Отмена

money-purchased =
    ✅ Курс «{ $title }» куплен за { $coins }. Баланс: { $balance }.

    Открываем курс…

money-insufficient =
    😕 На балансе { $balance }, а курс «{ $title }» стоит { $coins }: не хватает { $missing }.

    Пополните баланс или оплатите курс звёздами.

money-already-owned =
    Курс «{ $title }» уже ваш — повторно ничего не списано. Откройте уроки 👇

money-price-changed =
    Цена курса изменилась: теперь { $coins }. Ничего не списано — посмотрите новую цену и решите ещё раз.

money-not-on-sale =
    Курс «{ $title }» сейчас не продаётся. Ничего не списано.

money-invoice-sent =
    Счёт в звёздах отправлен 👇

money-stars-top-up-disabled =
    Пополнение звёздами сейчас недоступно. Пополните баланс рублями.

money-bad-amount =
    Такую сумму выбрать нельзя. Выберите другую.

topup-no-receipt-contact =
    Для чека об оплате (54-ФЗ) нужен ваш номер телефона, а его нет в профиле. Напишите в поддержку.

money-payment-unavailable =
    ⏳ Платёжная система сейчас недоступна. Попробуйте через минуту — деньги не списаны.

precheckout-unknown-invoice =
    Этот счёт нам неизвестен. Откройте курс и нажмите «Оплатить» ещё раз.

precheckout-not-yours =
    Этот счёт выставлен другому ученику. Откройте курс и получите свой.

precheckout-expired =
    Счёт устарел. Откройте курс и получите новый — звёзды не списаны.

precheckout-price-changed =
    Цена курса изменилась. Откройте курс, чтобы увидеть новую цену — звёзды не списаны.

precheckout-course-unavailable =
    Курс больше не продаётся — звёзды не списаны.

precheckout-already-owned =
    Этот курс уже ваш — платить ещё раз не нужно.

precheckout-already-paid =
    Этот счёт уже оплачен.

precheckout-top-up-disabled =
    Пополнение звёздами сейчас недоступно — звёзды не списаны. Пополните баланс рублями.

precheckout-declined =
    Оплату сейчас принять нельзя. Откройте курс и попробуйте ещё раз.

precheckout-retry-later =
    Платёжная система не ответила. Попробуйте через минуту — звёзды не списаны.

precheckout-not-registered =
    Сначала зарегистрируйтесь: отправьте боту /start.

stars-course-paid =
    ⭐ Оплата получена, открываем курс «{ $title }»…

stars-topped-up =
    ⭐ Оплата получена: +{ $coins }, баланс { $balance }.

stars-refunded =
    Курс «{ $title }» у вас уже есть, поэтому ⭐ { $stars } вернули на ваш счёт в Telegram. Ничего не списано.

stars-unknown-payment =
    Мы получили оплату, но не нашли счёт. Напишите в поддержку — мы разберёмся и вернём звёзды.

stars-processing =
    ⭐ Оплата получена. Зачисляем её — это может занять пару минут, мы напишем.

wallet-title =
    💰 <b>Баланс: { $coins }</b>

wallet-low =
    ⚠️ Баланс почти исчерпан — пополните, чтобы покупать курсы за монеты.

wallet-history =
    <b>Операции:</b>

wallet-history-older =
    <b>Операции (раньше):</b>

wallet-line =
    { $date } · { $amount } · { $reason }

wallet-empty =
    Операций пока нет. Пополните баланс, чтобы покупать курсы за монеты.

wallet-confirm-state =
    Подтверждать покупки: { $state }

wallet-on =
    вкл

wallet-off =
    выкл

wallet-newer =
    ← Новее

wallet-older =
    Старее →

wallet-top-up =
    💳 Пополнить

wallet-toggle-confirm =
    Подтверждать покупки: { $state }

wallet-confirm-on-saved =
    Теперь перед покупкой за монеты мы спросим подтверждение

wallet-confirm-off-saved =
    Покупки за монеты проходят в одно нажатие

wallet-reason-topup =
    пополнение

wallet-reason-purchase =
    покупка курса

wallet-reason-refund =
    возврат

wallet-reason-reward =
    награда за достижение

wallet-reason-adjustment =
    корректировка

wallet-reason-other =
    операция

wallet-back =
    ⬅️ К балансу

topup-title =
    💳 <b>Пополнение баланса</b>

    Выберите сумму. Оплата картой или СБП через ЮKassa, монеты придут сразу после оплаты.

topup-title-difference =
    До покупки курса не хватает { $missing }.

topup-preset =
    { $amount } ₽

topup-difference =
    { $amount } ₽ — столько не хватает

topup-custom =
    ✏️ Другая сумма

topup-stars =
    ⭐ Пополнить звёздами

topup-stars-title =
    ⭐ <b>Пополнение звёздами</b>

    Выберите, сколько звёзд перевести на баланс:

topup-stars-preset =
    ⭐ { $stars }

topup-ask-amount =
    Напишите сумму пополнения в рублях — целым числом от { $min } до { $max }, например 700.
    Передумали? /cancel

topup-not-a-number =
    Это не похоже на сумму. Напишите число рублей, например 700 (или /cancel).

topup-not-whole =
    Пополнить можно только на целое число рублей, без копеек. Например 700.

topup-zero =
    Ноль рублей пополнить не получится 🙂 Напишите сумму от { $min } до { $max } ₽.

topup-negative =
    Сумма не может быть отрицательной. Напишите сумму от { $min } до { $max } ₽.

topup-too-small =
    Минимальная сумма пополнения — { $min } ₽. Напишите сумму побольше.

topup-too-large =
    За один раз можно пополнить не больше чем на { $max } ₽. Напишите сумму поменьше.

topup-pay-text =
    💳 Пополнение на { $amount } ₽ (+{ $coins }).

    Нажмите кнопку, чтобы перейти к оплате. Когда оплата пройдёт, мы напишем.

topup-pay-button =
    Оплатить { $amount } ₽

# A number of coins in a grammatical case: «купить за 21 монету» (acc), «не хватает 1 монеты» (gen).
coins-nom = { $amount } { $count ->
        [one] монета
        [few] монеты
       *[many] монет
    }

coins-acc = { $amount } { $count ->
        [one] монету
        [few] монеты
       *[many] монет
    }

coins-gen = { $amount } { $count ->
        [one] монеты
       *[other] монет
    }
