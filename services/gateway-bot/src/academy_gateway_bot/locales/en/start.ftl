welcome-new =
    👋 Welcome to Beauty Academy, { $name }!

    Learn manicure, pedicure, lash extensions, brow design, podology, marketing and running your own business. Your welcome points are on their way.

welcome-back =
    Welcome back, { $name }! 💅 Shall we continue learning?

value-unknown =
    not set

consent-text =
    👋 Hello! This is Beauty Academy — training for beauty professionals.

    <b>Consent to the processing of personal data</b> (version { $version })

    By pressing “I agree” you consent, under Russian Federal Law No. 152-FZ “On Personal Data”, to Beauty Academy processing your name, phone number, city, Telegram id and profile photo (if you send one), and the record of your learning and payments. Purposes: registration, access to courses, tracking progress and achievements, suggesting communities and learning notifications. The data is kept while your account exists and is not shared with third parties except where the law requires. You can withdraw your consent at any time with “🗑 Withdraw consent / delete account” in your profile (or by writing to support), and we will delete your data; payment records, which the law requires us to keep, stay without your name and phone. /mydata sends you a file of everything stored about you.

    Without your consent we store nothing about you.

consent-accept =
    ✅ I agree

consent-decline =
    ✖️ I do not agree

consent-accepted =
    ✅ Consent (version { $version }) accepted on { $when }.

consent-declined =
    Understood. We have stored nothing about you. If you change your mind, send /start — we would be glad to see you at the academy. 💐

consent-outdated =
    The consent text has been updated; please read the new version.

consent-use-buttons =
    Please answer with a button under the consent text (or /cancel).

registration-ask-name =
    What is your name? Write your first and last name, for example: <i>Anna Smith</i>.

registration-name-invalid =
    A name has 2 to 100 characters and is made of letters (spaces, hyphens and apostrophes are fine). Please try again.

registration-ask-phone =
    Share your phone number with the button below or type it, for example: <i>+44 20 7946 0958</i>.

registration-share-phone =
    📱 Share my number

registration-phone-not-own =
    That is someone else's contact. Press “📱 Share my number” to send yours.

registration-ask-city =
    Which city do you work in? Pick one or type yours — we will suggest communities nearby.

registration-city-invalid =
    A city name has 2 to 100 letters (spaces and hyphens are fine). Please try again.

registration-already =
    You are already registered. 🙂

conversation-cancelled =
    Cancelled. Your answers were discarded.

conversation-nothing-to-cancel =
    Nothing to cancel.

conversation-start-again =
    To register, send /start.

menu-title =
    Main menu. Choose a section 👇

language-choose =
    Choose your language / Выберите язык:

language-changed =
    ✅ The bot now speaks English.

error-temporary =
    ⚠️ The service is temporarily unavailable. Please try again in a minute.

error-throttled =
    ⏳ Too many messages. Please wait a moment.

menu-catalog =
    📚 Course catalog

menu-my-courses =
    🎓 My courses

menu-achievements =
    🏆 Points & achievements

menu-communities =
    👥 Communities

menu-profile =
    👤 Profile

menu-language =
    🌐 Language / Язык

common-back =
    ⬅️ Back

menu-balance =
    💰 Balance

help =
    Commands:
    /start — start
    /menu — main menu
    /catalog — course catalog
    /mycourses — my courses and progress
    /achievements — points and achievements
    /leaderboard — leaderboard
    /communities — communities
    /transcript — learning transcript (PDF)
    /balance — balance and top-ups
    /profile — profile, photo, deleting the account
    /mydata — my data (what is stored, as a file)
    /language — language
    /cancel — cancel the current step
    /help — help

# A typed or shared phone number the numbering plans refuse (academy_runtime.phones.PhoneRejection).
registration-phone-not-a-number =
    That doesn't look like a phone number. Type it in digits with the country code, for example +7 916 123-45-67, or press “📱 Share my number”.
registration-phone-too-short =
    The number is missing digits — perhaps the area or operator code. For example: +7 916 123-45-67.
registration-phone-too-long =
    The number has too many digits. Type it with the country code, for example +7 916 123-45-67.
registration-phone-invalid =
    No country has such a number. Check the digits and the country code, for example +7 916 123-45-67.
registration-phone-service-number =
    That is a service number (toll-free or premium): nobody can call you on it. Give your mobile or home number.
registration-phone-extension =
    No extension, please — type the number without it.
registration-phone-not-e164 =
    That doesn't look like a phone number. Type it with the country code, for example +7 916 123-45-67.
registration-phone-which =
    This number can be read in more than one way. Which one is yours?

# Quick picks of the city step (any other city can be typed).
city-moscow = Moscow
city-saint-petersburg = Saint Petersburg
city-novosibirsk = Novosibirsk
city-yekaterinburg = Yekaterinburg
city-kazan = Kazan
city-krasnodar = Krasnodar
