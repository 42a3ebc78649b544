"""Request dependencies shared by progress's routers."""

from __future__ import annotations

from typing import Annotated

from academy_runtime.auth import Caller, accepts
from academy_runtime.dependencies import settings_dependency

from academy_progress.settings import ProgressSettings

SettingsDep = Annotated[ProgressSettings, settings_dependency(ProgressSettings)]

# Who may call what (issue 9 §2), from the callers' code: the gateway's handlers and notification
# consumers are the only services that call progress.
LearnerReader = Annotated[Caller, accepts("gateway-bot", roles=("support",))]
"""A learner's courses, lessons and preferences: the gateway, support operators."""
LearnerCommand = Annotated[Caller, accepts("gateway-bot")]
"""What the learner does (enrol, complete a lesson, watch time, reminders, a transcript): the gateway only."""
ReportReader = Annotated[Caller, accepts(roles=("support", "catalog-editor"))]
"""Reports (popular courses): operators; no service calls them."""
InactiveLearnersReader = Annotated[Caller, accepts("gateway-bot", roles=("support", "catalog-editor"))]
"""Inactive learners: operators, and the gateway (a broadcast's segment "inactive for N days", issue 12)."""
SegmentReader = Annotated[Caller, accepts("gateway-bot")]
"""Ids of the learners of courses or of a category (a broadcast's segment, issue 12): the gateway only."""
