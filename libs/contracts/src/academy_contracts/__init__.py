"""Beauty Academy event contracts: the CloudEvents envelope and one pydantic model per event version.

    from academy_contracts import build_event, parse_event, UserRegisteredV1

This package depends on pydantic only, so any team can install it to publish or consume our events.
"""

from academy_contracts.base import EventData
from academy_contracts.billing import (
    BalanceChangedV1,
    BalanceLowV1,
    CoursePurchasedV1,
    PaymentFailedV1,
    PaymentRefundedV1,
    PaymentSucceededV1,
    PurchaseRefundedV1,
)
from academy_contracts.catalog import CourseArchivedV1, CourseLesson, CoursePublishedV1, CourseUpdatedV1
from academy_contracts.envelope import CLOUDEVENTS_CONTENT_TYPE, CloudEvent
from academy_contracts.gamification import (
    AchievementUnlockedV1,
    AchievementUnlockedV2,
    Level,
    PointsAwardedFor,
    PointsAwardedV1,
    PointsAwardedV2,
)
from academy_contracts.primitives import Money
from academy_contracts.progress import (
    CourseCompletedV1,
    CourseCompletedV2,
    CourseEnrolledV1,
    LearnerInactiveV1,
    LessonCompletedV1,
)
from academy_contracts.registry import (
    EVENT_TYPES,
    EVENTS_EXCHANGE,
    EVENTS_EXCHANGE_TYPE,
    InvalidEventError,
    build_event,
    parse_event,
    parse_event_as,
    routing_key,
)
from academy_contracts.users import (
    AvatarUpdatedV1,
    ProfileUpdatedV1,
    ProfileUpdatedV2,
    UserErasedV1,
    UserRegisteredV1,
    UserRegisteredV2,
)

__version__ = "0.1.0"

__all__ = [
    "CLOUDEVENTS_CONTENT_TYPE",
    "EVENTS_EXCHANGE",
    "EVENTS_EXCHANGE_TYPE",
    "EVENT_TYPES",
    "AchievementUnlockedV1",
    "AchievementUnlockedV2",
    "AvatarUpdatedV1",
    "BalanceChangedV1",
    "BalanceLowV1",
    "CloudEvent",
    "CourseArchivedV1",
    "CourseCompletedV1",
    "CourseCompletedV2",
    "CourseEnrolledV1",
    "CourseLesson",
    "CoursePublishedV1",
    "CoursePurchasedV1",
    "CourseUpdatedV1",
    "EventData",
    "InvalidEventError",
    "LearnerInactiveV1",
    "LessonCompletedV1",
    "Level",
    "Money",
    "PaymentFailedV1",
    "PaymentRefundedV1",
    "PaymentSucceededV1",
    "PointsAwardedFor",
    "PointsAwardedV1",
    "PointsAwardedV2",
    "ProfileUpdatedV1",
    "ProfileUpdatedV2",
    "PurchaseRefundedV1",
    "UserErasedV1",
    "UserRegisteredV1",
    "UserRegisteredV2",
    "build_event",
    "parse_event",
    "parse_event_as",
    "routing_key",
]
