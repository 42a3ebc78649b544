import pytest
from academy_billing.settings import DEV_YOOKASSA_SECRET_KEY, BillingSettings
from academy_runtime.testing import real_service_keys_env
from pydantic import ValidationError


def test_defaults_point_at_the_local_database_and_payment_emulator(monkeypatch):
    for name in ("ENVIRONMENT", "DATABASE_URL", "YOOKASSA_API_URL", "HTTP_PORT"):
        monkeypatch.delenv(name, raising=False)

    settings = BillingSettings(_env_file=None)

    assert (settings.service_name, settings.db_schema, settings.http_port, settings.worker_metrics_port) == (
        "billing",
        "billing",
        8105,
        9105,
    )
    assert settings.database_url == "postgresql+asyncpg://academy_billing@127.0.0.1:5432/beauty_academy"
    assert settings.yookassa_api_url == "http://127.0.0.1:8181/v3"
    assert "185.71.76.0/27" in settings.yookassa_trusted_networks
    assert settings.low_balance_threshold_coins == 100
    assert settings.coins_per_rub == 1


def _set_real_credentials(monkeypatch):
    # Production refuses every placeholder (academy_runtime.placeholders), the defaults included.
    monkeypatch.setenv("RABBITMQ_URL", "amqp://billing:9c1f0e7d5a@rabbitmq:5672/")
    monkeypatch.setenv("S3_ACCESS_KEY", "AKIA7Q2PRODKEY")
    monkeypatch.setenv("YOOKASSA_SHOP_ID", "506751")


@pytest.mark.parametrize("environment", ["test", "production"])
def test_the_development_yookassa_key_is_refused_outside_development(monkeypatch, environment):
    monkeypatch.setenv("ENVIRONMENT", environment)
    for name, value in real_service_keys_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("S3_SECRET_KEY", "real-s3-secret")
    _set_real_credentials(monkeypatch)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "987654:real-bot-token")
    monkeypatch.delenv("YOOKASSA_SECRET_KEY", raising=False)

    with pytest.raises(ValidationError, match="YOOKASSA_SECRET_KEY"):
        BillingSettings(_env_file=None)

    monkeypatch.setenv("YOOKASSA_SECRET_KEY", "live_real-shop-secret")
    assert BillingSettings(_env_file=None).yookassa_secret_key.get_secret_value() == "live_real-shop-secret"
    assert DEV_YOOKASSA_SECRET_KEY not in repr(BillingSettings(_env_file=None))


@pytest.mark.parametrize(("name", "value"), [("LOW_BALANCE_THRESHOLD_COINS", "0"), ("COINS_PER_RUB", "0")])
def test_wallet_settings_must_be_positive(monkeypatch, name, value):
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError):
        BillingSettings(_env_file=None)


def test_production_refuses_the_emulator_bot_token(monkeypatch):
    # Billing refunds Stars through the Bot API itself: with the emulator's token it could not.
    monkeypatch.setenv("ENVIRONMENT", "production")
    for name, value in real_service_keys_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("S3_SECRET_KEY", "real-s3-secret")
    _set_real_credentials(monkeypatch)
    monkeypatch.setenv("YOOKASSA_SECRET_KEY", "live_real-shop-secret")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)

    with pytest.raises(ValidationError, match="TELEGRAM_BOT_TOKEN"):
        BillingSettings(_env_file=None)


def test_a_trusted_network_that_is_not_a_network_is_refused(monkeypatch):
    monkeypatch.setenv("YOOKASSA_TRUSTED_NETWORKS", '["185.71.76.0/27", "not-a-network"]')

    with pytest.raises(ValidationError, match="not-a-network"):
        BillingSettings(_env_file=None)
