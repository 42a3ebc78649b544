from prometheus_client import Counter, Gauge, Histogram

UPDATES = Counter("academy_bot_updates_total", "Telegram updates received", ["outcome"])
MESSAGES_SENT = Counter("academy_bot_notifications_sent_total", "Messages pushed to learners")
SEND_THROTTLED = Counter("academy_bot_send_throttled_total", "Sends delayed by the rate limiter")
TELEGRAM_RETRY_AFTER = Counter("academy_bot_retry_after_total", "429 answers from Telegram")

# Broadcasts (issue 12): each recipient's outcome once (`unknown` ones, a sender stopped mid-send, count as
# failed), and the recipients still to be sent of the broadcasts sending, paused or scheduled.
BROADCAST_DELIVERIES = Counter("academy_broadcast_deliveries_total", "Broadcast recipients by outcome", ["outcome"])
for _outcome in ("sent", "blocked", "failed", "skipped"):
    BROADCAST_DELIVERIES.labels(outcome=_outcome)  # every series exists from the start, at 0
BROADCAST_RECIPIENTS_PENDING = Gauge(
    "academy_broadcast_recipients_pending", "Broadcast recipients not sent yet (sending, paused or scheduled ones)"
)

# Notifications (`notifications.delivery`): each queued message's outcome once (`retried`: each deferral
# after a 429 or a network error), and how long a sent one waited in its chat's queue (queued → sent; mostly
# Telegram's second per chat when one fact brings several messages).
NOTIFICATION_DELIVERIES = Counter(
    "academy_bot_notification_deliveries_total", "Queued notifications by outcome", ["outcome"]
)
for _outcome in ("sent", "blocked", "failed", "retried"):
    NOTIFICATION_DELIVERIES.labels(outcome=_outcome)
NOTIFICATIONS_COMBINED = Counter(
    "academy_bot_notifications_combined_total",
    "Queued notifications sent in the same Bot API message as the one queued before them (due together)",
)
NOTIFICATION_QUEUED_SECONDS = Histogram(
    "academy_bot_notification_queued_seconds",
    "From a notification queued to it sent",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300),
)
