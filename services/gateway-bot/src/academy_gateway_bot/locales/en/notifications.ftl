notify-achievement =
    🏆 New achievement: <b>{ $title }</b>!

notify-achievement-description =
    { $description }

notify-achievements-button =
    🏆 My achievements

notify-course-completed =
    🎓 Congratulations! You completed “{ $title }”!

    What next? Download your learning transcript — it is handy for your portfolio.

notify-next-course =
    As a next step we recommend “{ $title }”.

notify-next-course-button =
    📚 { $title }

notify-inactive =
    👋 It has been { $days } { $days ->
        [one] day
       *[other] days
    } since your last lesson — we miss you!

    Shall we continue “{ $title }”? Lessons left: { $left }.

notify-inactive-general =
    👋 It has been { $days } { $days ->
        [one] day
       *[other] days
    } since your last lesson — we miss you!

    Have a look at the catalog for new courses.

notify-opt-out-hint =
    Don't want these reminders? Press “🔕 No reminders”.

notify-continue-button =
    ▶️ Continue: { $title }

notify-course-opened =
    🎉 “{ $title }” is open! Shall we start with the first lesson?

notify-course-reopened =
    🎉 “{ $title }” is open again, with your progress kept. Shall we go on?

notify-balance-top-up =
    💰 Balance topped up: +{ $delta }, now { $balance }.

notify-balance-refund =
    💰 Refunded to your balance: +{ $delta }, now { $balance }.

notify-balance-refund-debit =
    💰 A top-up was refunded: { $delta }, now { $balance }. The money goes back to where you paid from.

notify-balance-achievement-reward =
    🎁 Achievement reward: +{ $delta }, balance { $balance }.

notify-balance-credit =
    💰 Credited to your balance: +{ $delta }, now { $balance }.

notify-balance-debit =
    💰 Taken from your balance: { $delta }, now { $balance }.

notify-balance-low =
    👛 Only { $balance } left on your balance. Top up to buy courses in one tap.

notify-purchase-refunded =
    ↩️ Your purchase of “{ $title }” was cancelled, { $returned }; access to the course is closed.

notify-returned-stars =
    ⭐ { $amount } went back to your Telegram account

notify-returned-coins =
    the coins went back to your balance

notify-returned-money =
    { $amount } go back to where you paid from

notify-payment-failed =
    ❌ The top-up of { $amount } did not go through: the payment was cancelled and nothing was charged. You can try again.

notify-balance-button =
    💰 Balance

announcements-off-button =
    🔕 No more announcements

announcements-off =
    We will not send you announcements any more. Notifications about your courses, points and payments stay.

announcements-on-button =
    🔔 Send announcements again

announcements-on =
    We will send you announcements again.
