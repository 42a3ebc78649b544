"""Request dependencies shared by the users service's modules."""

from __future__ import annotations

from typing import Annotated

from academy_runtime.auth import Caller, accepts
from academy_runtime.dependencies import settings_dependency

from academy_users.settings import UsersSettings

SettingsDep = Annotated[UsersSettings, settings_dependency(UsersSettings)]

# Who may call what (issue 9 §2): found from the callers' clients (gateway-bot's UsersClient, billing's
# receipt phone look-up). Support operators read and correct a learner's profile; the audit log names them.
Registrar = Annotated[Caller, accepts("gateway-bot")]
"""Registration: only the gateway, which speaks with the learner."""
LearnerReader = Annotated[Caller, accepts("gateway-bot", "billing", roles=("support",))]
"""A learner by id: the gateway, billing (a fiscal receipt's phone), support operators."""
TelegramLookup = Annotated[Caller, accepts("gateway-bot", roles=("support",))]
"""A learner by Telegram id: the gateway, support operators."""
ProfileEditor = Annotated[Caller, accepts("gateway-bot", roles=("support",))]
"""Profile changes: the gateway (the learner's own answers), support operators (recorded by name)."""
