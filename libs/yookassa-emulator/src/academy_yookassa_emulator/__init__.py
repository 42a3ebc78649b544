"""A local stand-in for the YooKassa API v3: payments, refunds, a confirmation page, notifications.

Serve it with ``academy-yookassa-emulator`` (or :class:`YooKassaEmulatorServer` in-process), point the
shop at ``http://host:port/v3`` and drive the payer with :class:`YooKassaEmulatorClient`.
"""

from academy_yookassa_emulator.app import create_app
from academy_yookassa_emulator.client import EmulatedPayment, EmulatorError, Notification, YooKassaEmulatorClient
from academy_yookassa_emulator.config import (
    DEFAULT_PORT,
    DEFAULT_SECRET_KEY,
    DEFAULT_SHOP_ID,
    YooKassaEmulatorConfig,
)
from academy_yookassa_emulator.server import YooKassaEmulatorServer, run_in_background
from academy_yookassa_emulator.state import Emulator

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_SECRET_KEY",
    "DEFAULT_SHOP_ID",
    "EmulatedPayment",
    "Emulator",
    "EmulatorError",
    "Notification",
    "YooKassaEmulatorClient",
    "YooKassaEmulatorConfig",
    "YooKassaEmulatorServer",
    "create_app",
    "run_in_background",
]
