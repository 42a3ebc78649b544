# The learner's rights over their personal data (handlers/privacy.py, 152-ФЗ): what is stored, and erasure.
privacy-my-data =
    📄 My data
privacy-erase =
    🗑 Withdraw consent / delete account
privacy-summary =
    📄 <b>Your data</b>

    What we store, and where:
    • <b>Profile</b> (the users service): name, phone, city, language, time zone, your consent and its version, profile photos (now: { $avatars }), the log of actions on your data. Name and phone are stored encrypted.
    • <b>Learning</b>: courses (now: { $courses }), completed lessons, reminder settings.
    • <b>Points</b>: points (now: { $points }), achievements ({ $achievements }), whether the leaderboards show your name.
    • <b>Money</b>: balance ({ $coins }), its transactions, purchases and payments ({ $payments }).
    • <b>This bot</b>: your Telegram ID, language, time zone and the notifications sent to you ({ $notifications }).

    All of it is in the file below (JSON). You can delete your data in the profile: «🗑 Withdraw consent / delete account».
privacy-partial =
    ⚠️ These sections did not answer just now: { $sections }. They are missing from the file — try «My data» again a little later.
privacy-section-progress =
    learning
privacy-section-gamification =
    points
privacy-section-billing =
    money
privacy-file-caption =
    📄 All your data at Beauty Academy (JSON).
privacy-erase-explained =
    ⚠️ <b>Withdrawing consent and deleting your account</b>

    If you withdraw your consent to the processing of your personal data, we delete:
    • your profile: name, phone, city, language;
    • your profile photos and their history;
    • your learning progress and transcripts;
    • your points, achievements and leaderboard places;
    • your chat with the bot and its notifications.

    Payments and purchases stay in the books without your name and phone: the accounting law requires us to keep them.

    What is deleted cannot be restored. You can come back any time: /start registers you again, as a new learner.

    Delete your account?
privacy-erase-confirm =
    🗑 Yes, delete my data
privacy-erase-cancel =
    ✖️ No, keep it
privacy-erase-cancelled =
    All right, nothing is deleted: your account stays.
privacy-erase-done-short =
    🗑 Account deleted.
privacy-erase-done =
    ✅ Consent withdrawn and your data deleted: profile, photos, progress, points and your chat with the bot. Payments stay in the books without your name.

    To learn again, send /start — we will register you anew.
# The confirmation of an earlier question (answered, cancelled or asked again since): erases nothing.
privacy-erase-stale =
    This question is out of date, so nothing is deleted. To delete your account, open the profile and press «🗑 Withdraw consent» again.
privacy-erase-already =
    Your account is deleted already. Send /start to register again.
