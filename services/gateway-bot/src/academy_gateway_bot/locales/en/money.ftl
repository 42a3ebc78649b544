price-free =
    Free

money-price-stars =
    { $price } · ⭐ { $stars }

money-card-balance =
    👛 Your balance: { $coins }

money-card-missing =
    You need { $missing } more to buy it with coins.

money-card-owned =
    ✅ The course is paid for — opening it now, this takes a couple of seconds.

money-card-not-on-sale =
    ⏸ This course is not on sale right now. Check back later or open the free lessons.

money-card-unavailable =
    ⏳ Payment is unavailable right now — please try again in a minute.

money-pay-stars =
    Pay ⭐ { $stars }

money-buy-coins =
    Buy for { $coins }

money-top-up-difference =
    Top up the balance

money-refresh =
    🔄 Refresh

money-confirm-text =
    🛒 Buy “{ $title }” for { $coins }?

    Your balance is { $balance }; { $left } will be left after the purchase.

money-confirm-button =
    ✅ Confirm the purchase for { $coins }

money-cancel-button =
    ✖️ Cancel

money-purchased =
    ✅ “{ $title }” bought for { $coins }. Balance: { $balance }.

    Opening the course…

money-insufficient =
    😕 Your balance is { $balance } and “{ $title }” costs { $coins }: { $missing } short.

    Top up your balance or pay in Stars.

money-already-owned =
    “{ $title }” is already yours — nothing was charged again. Open the lessons 👇

money-price-changed =
    The price has changed: it is now { $coins }. Nothing was charged — see the new price and decide again.

money-not-on-sale =
    “{ $title }” is not on sale right now. Nothing was charged.

money-invoice-sent =
    Here is your invoice in Stars 👇

money-stars-top-up-disabled =
    Topping up with Stars is unavailable right now. Please top up in roubles.

money-bad-amount =
    That amount cannot be chosen. Please pick another.

topup-no-receipt-contact =
    The payment receipt (54-FZ) needs your phone number, and your profile has none. Please contact support.

money-payment-unavailable =
    ⏳ The payment system is unavailable right now. Please try again in a minute — nothing was charged.

precheckout-unknown-invoice =
    We do not know this invoice. Open the course and press “Pay” again.

precheckout-not-yours =
    This invoice belongs to another learner. Open the course to get your own.

precheckout-expired =
    This invoice has expired. Open the course to get a new one — no Stars were taken.

precheckout-price-changed =
    The price of the course has changed. Open the course to see the new price — no Stars were taken.

precheckout-course-unavailable =
    This course is no longer on sale — no Stars were taken.

precheckout-already-owned =
    You already own this course — no need to pay again.

precheckout-already-paid =
    This invoice has already been paid.

precheckout-top-up-disabled =
    Topping up with Stars is unavailable right now — no Stars were taken. Please top up in roubles.

precheckout-declined =
    The payment cannot be accepted now. Open the course and try again.

precheckout-retry-later =
    The payment system did not answer. Please try again in a minute — no Stars were taken.

precheckout-not-registered =
    Please register first: send /start to the bot.

stars-course-paid =
    ⭐ Payment received, opening “{ $title }”…

stars-topped-up =
    ⭐ Payment received: +{ $coins }, balance { $balance }.

stars-refunded =
    You already own “{ $title }”, so the ⭐ { $stars } went back to your Telegram balance. Nothing was charged.

stars-unknown-payment =
    We received a payment but could not find its invoice. Write to support — we will sort it out and return the Stars.

stars-processing =
    ⭐ Payment received. We are crediting it — this may take a couple of minutes; we will let you know.

wallet-title =
    💰 <b>Balance: { $coins }</b>

wallet-low =
    ⚠️ Your balance is running low — top up to buy courses with coins.

wallet-history =
    <b>Transactions:</b>

wallet-history-older =
    <b>Earlier transactions:</b>

wallet-line =
    { $date } · { $amount } · { $reason }

wallet-empty =
    No transactions yet. Top up to buy courses with coins.

wallet-confirm-state =
    Confirm purchases: { $state }

wallet-on =
    on

wallet-off =
    off

wallet-newer =
    ← Newer

wallet-older =
    Older →

wallet-top-up =
    💳 Top up

wallet-toggle-confirm =
    Confirm purchases: { $state }

wallet-confirm-on-saved =
    We will ask you to confirm before buying with coins

wallet-confirm-off-saved =
    Purchases with coins now take one tap

wallet-reason-topup =
    top-up

wallet-reason-purchase =
    course purchase

wallet-reason-refund =
    refund

wallet-reason-reward =
    achievement reward

wallet-reason-adjustment =
    adjustment

wallet-reason-other =
    transaction

wallet-back =
    ⬅️ Balance

topup-title =
    💳 <b>Top up</b>

    Choose an amount. Pay by card or SBP through YooKassa; the coins arrive as soon as the payment goes through.

topup-title-difference =
    You need { $missing } more for the course.

topup-preset =
    { $amount } ₽

topup-difference =
    { $amount } ₽ — what is missing

topup-custom =
    ✏️ Another amount

topup-stars =
    ⭐ Top up with Stars

topup-stars-title =
    ⭐ <b>Top up with Stars</b>

    Choose how many Stars to put on your balance:

topup-stars-preset =
    ⭐ { $stars }

topup-ask-amount =
    Type the amount in roubles — a whole number from { $min } to { $max }, e.g. 700.
    Changed your mind? /cancel

topup-not-a-number =
    That does not look like an amount. Type a number of roubles, e.g. 700 (or /cancel).

topup-not-whole =
    Only whole roubles, no kopecks. For example 700.

topup-zero =
    Zero roubles cannot be topped up 🙂 Type an amount from { $min } to { $max } ₽.

topup-negative =
    The amount cannot be negative. Type an amount from { $min } to { $max } ₽.

topup-too-small =
    The smallest top-up is { $min } ₽. Please type a larger amount.

topup-too-large =
    A single top-up is at most { $max } ₽. Please type a smaller amount.

topup-pay-text =
    💳 Top-up of { $amount } ₽ (+{ $coins }).

    Press the button to pay. We will tell you when the payment goes through.

topup-pay-button =
    Pay { $amount } ₽

# A number of coins in a grammatical case: «купить за 21 монету» (acc), «не хватает 1 монеты» (gen).
coins-nom = { $amount } { $count ->
        [one] coin
       *[other] coins
    }

coins-acc = { $amount } { $count ->
        [one] coin
       *[other] coins
    }

coins-gen = { $amount } { $count ->
        [one] coin
       *[other] coins
    }
