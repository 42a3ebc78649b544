from prometheus_client import Counter

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
