from prometheus_client import Counter, Gauge

COINS_MOVED = Counter("academy_billing_wallet_coins_total", "Coins moved through wallets", ["direction", "type"])
WALLET_CHANGES_REPLAYED = Counter(
    "academy_billing_wallet_changes_replayed_total", "Wallet changes whose reference was already applied", ["type"]
)
INSUFFICIENT_FUNDS = Counter(
    "academy_billing_insufficient_funds_total", "Debits refused because the wallet held too few coins", ["type"]
)
BALANCE_LOW = Counter("academy_billing_balance_low_total", "Wallets whose balance fell below their threshold")
AUDIT_MISMATCHES = Counter(
    "academy_billing_wallet_audit_mismatches_total", "Wallet audits that found the balance and the ledger disagree"
)
PAYMENTS = Counter(
    "academy_billing_payments_total",
    "Provider payments by method, purpose and what happened",
    ["method", "purpose", "outcome"],
)
PURCHASES = Counter("academy_billing_purchases_total", "Courses bought, by how they were paid", ["method"])
PRE_CHECKOUTS = Counter(
    "academy_billing_pre_checkouts_total", "Stars pre-checkout answers, by refusal reason", ["reason"]
)
NOTIFICATIONS = Counter(
    "academy_billing_provider_notifications_total",
    "YooKassa notifications by outcome (accepted, untrusted_source, malformed, unknown_payment, amount_mismatch)",
    ["outcome"],
)
REFUNDS = Counter("academy_billing_refunds_total", "Refunds by method and state", ["method", "state"])
RECONCILIATION_DIFFERENCES = Gauge(
    "academy_billing_reconciliation_differences", "Differences the last reconciliation report found"
)
RECONCILIATION_LAST_SUCCESS = Gauge(
    "academy_billing_reconciliation_last_success_timestamp_seconds",
    "Unix time at which the worker's reconciliation job last completed a pass (settle, sweep, report); "
    "0 until the first pass of the process",
)
REVENUE = Counter(
    "academy_billing_revenue_total",
    "Money received by provider payments that succeeded, in units of the currency (RUB, XTR: Telegram Stars), "
    "before refunds (academy_billing_refunds_total)",
    ["currency", "method", "purpose"],
)
RECONCILIATION_ACTIONS = Counter(
    "academy_billing_reconciliation_actions_total", "What the reconciliation job settled", ["action"]
)
LEARNER_CHECKS = Counter(
    "academy_billing_learner_checks_total",
    "Writes keyed by a learner id, by how the learner was found (projection, users_service) or refused "
    "(unknown, erased)",
    ["outcome"],
)
ERASURES = Counter(
    "academy_billing_learner_erasures_total",
    "Erased learners' records pseudonymised, by the erasure event or the sweep (how), complete or with "
    "something held back for a pending refund or payment (outcome)",
    ["how", "outcome"],
)
ERASED_LEARNER_EVENTS = Counter(
    "academy_billing_erased_learner_events_total",
    "Events about a learner already erased that billing skipped (an achievement's coins)",
    ["event"],
)
