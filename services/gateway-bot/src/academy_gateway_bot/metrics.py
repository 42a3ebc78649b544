from prometheus_client import Counter

UPDATES = Counter("academy_bot_updates_total", "Telegram updates received", ["outcome"])
MESSAGES_SENT = Counter("academy_bot_notifications_sent_total", "Messages pushed to learners")
SEND_THROTTLED = Counter("academy_bot_send_throttled_total", "Sends delayed by the rate limiter")
TELEGRAM_RETRY_AFTER = Counter("academy_bot_retry_after_total", "429 answers from Telegram")
