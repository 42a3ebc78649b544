# Answers to what no other handler took (handlers/fallback.py).
fallback-unknown-command =
    🤔 I don't know that command.
fallback-unknown-text =
    🤔 I didn't understand that message.
fallback-voice =
    🎙 I can't listen to voice or audio messages yet.
fallback-photo =
    🖼 A photo doesn't fit here right now.
fallback-video =
    🎬 I can't watch videos yet.
fallback-sticker =
    😊 Nice sticker! But I can't answer stickers.
fallback-document =
    📎 I can't read files yet.
fallback-other =
    🤔 I can't work with this kind of message yet.
fallback-use-menu =
    Pick a section with the menu buttons below, or send /help to see every command.
fallback-not-registered =
    To begin, send /start.
fallback-step-consent =
    Right now I need your answer to the consent: press “I agree” or “I do not agree” under its text.
fallback-step-name =
    Right now I'm waiting for your first and last name as text, for example: Anna Petrova.
fallback-step-phone =
    Right now I'm waiting for your phone number: press “Share my number” or type it, for example +7 916 123-45-67.
fallback-step-city =
    Right now I'm waiting for your city: pick it with a button or type it.
fallback-step-amount =
    Right now I'm waiting for the top-up amount in roubles, as a number, for example 500.
fallback-step-photo =
    Right now I'm waiting for a profile photo: send a photo or an image file (JPEG, PNG, WebP).
fallback-step-cancel =
    Changed your mind? Send /cancel.
fallback-stale-button =
    This button is out of date. Open the section again from the menu.
