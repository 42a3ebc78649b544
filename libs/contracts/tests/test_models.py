import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import ClassVar

import pytest
from academy_contracts import (
    EVENT_TYPES,
    AchievementUnlockedV2,
    CourseArchivedV1,
    CoursePublishedV1,
    EventData,
    LearnerInactiveV1,
    LessonCompletedV1,
    Money,
    PaymentSucceededV1,
    PointsAwardedFor,
    PointsAwardedV2,
    ProfileUpdatedV1,
    ProfileUpdatedV2,
    UserRegisteredV1,
    UserRegisteredV2,
)
from academy_contracts.schemas import data_json_schema
from pydantic import ValidationError

ALL_MODELS = list(EVENT_TYPES.values())
EVENT_TYPE = re.compile(r"^(?P<service>[a-z_]+)\.(?P<event>[a-z_]+)\.v(?P<version>[1-9][0-9]*)$")


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda model: model.event_type)
def test_declaration_is_consistent(model):
    match = EVENT_TYPE.fullmatch(model.event_type)

    assert match is not None
    assert match["service"] == model.source_service
    assert model.__name__.endswith(f"V{match['version']}")
    assert model.__module__ == f"academy_contracts.{model.source_service}"
    assert model.model_config["frozen"] is True
    assert model.model_config["extra"] == "forbid"


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda model: model.event_type)
def test_every_model_and_field_is_documented_with_an_example(model):
    schema = data_json_schema(model)
    documented = [schema, *schema.get("$defs", {}).values()]

    for node in documented:
        assert node.get("description"), f"{node.get('title')} has no description"
        assert node.get("examples"), f"{node.get('title')} has no example"
        for name, field in node["properties"].items():
            assert field.get("description"), f"{node.get('title')}.{name} has no description"


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda model: model.event_type)
def test_example_is_valid_and_timestamps_are_utc(model):
    example = model.example()

    assert model.model_validate(example.model_dump()) == example
    assert model.model_validate_json(example.model_dump_json()) == example
    assert example.occurred_at().utcoffset().total_seconds() == 0


def test_partition_key_and_subject_follow_the_user():
    example = LessonCompletedV1.example()

    assert LessonCompletedV1.partition_key_field() == "user_id"
    assert example.partition_key() == "42"
    assert example.event_subject() == "user/42"


def test_catalog_events_have_no_partition_key_and_a_course_subject():
    assert CoursePublishedV1.example().partition_key() is None
    assert CoursePublishedV1.example().event_subject() == "course/7"
    assert CourseArchivedV1.example().event_subject() == "course/7"


def test_unknown_field_is_an_error_when_constructing():
    fields = UserRegisteredV1.example().model_dump()

    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        UserRegisteredV1(**fields, phone="+79990000000")


def test_models_are_immutable():
    example = UserRegisteredV1.example()

    with pytest.raises(ValidationError, match="frozen"):
        example.city = "Казань"


def test_ids_are_strict_positive_integers():
    fields = UserRegisteredV1.example().model_dump()

    with pytest.raises(ValidationError, match="user_id"):
        UserRegisteredV1(**fields | {"user_id": "42"})
    with pytest.raises(ValidationError, match="user_id"):
        UserRegisteredV1(**fields | {"user_id": 0})
    with pytest.raises(ValidationError, match="consent_personal_data"):
        UserRegisteredV1(**fields | {"consent_personal_data": "yes"})


def test_naive_datetime_is_rejected_in_data():
    fields = UserRegisteredV1.example().model_dump()

    with pytest.raises(ValidationError, match="registered_at"):
        UserRegisteredV1(**fields | {"registered_at": datetime(2025, 3, 1, 9, 30)})  # noqa: DTZ001 - naive on purpose


def test_nullable_fields_may_be_absent():
    # The outbox stores events dumped with exclude_none: an absent nullable field reads as null.
    fields = UserRegisteredV1.example().model_dump(exclude_none=True) | {"city": None}
    del fields["city"]

    assert UserRegisteredV1.model_validate(fields).city is None


class TestMoney:
    @pytest.mark.parametrize(
        ("amount", "expected"),
        [
            (Decimal("1490.00"), "1490.00"),
            (Decimal("1490.5"), "1490.5"),
            ("1490.50", "1490.50"),
            ("-10", "-10"),
            (1490, "1490"),
        ],
    )
    def test_amount_is_a_decimal_in_python_and_a_string_in_json(self, amount, expected):
        money = Money(amount=amount, currency="RUB")

        assert isinstance(money.amount, Decimal)
        assert money.model_dump(mode="json") == {"amount": expected, "currency": "RUB"}
        assert Money.model_validate_json(money.model_dump_json()) == money

    @pytest.mark.parametrize("amount", ["1.234", Decimal("1.234"), 1490.5, "1e3", "12,50", "", " 1", True, "NaN"])
    def test_bad_amounts_are_rejected(self, amount):
        with pytest.raises(ValidationError, match="amount"):
            Money(amount=amount, currency="RUB")

    @pytest.mark.parametrize("currency", ["rub", "RU", "RUBX", "₽", ""])
    def test_currency_must_be_three_upper_case_letters(self, currency):
        with pytest.raises(ValidationError, match="currency"):
            Money(amount=Decimal(1), currency=currency)

    def test_telegram_stars_are_whole_numbers(self):
        assert Money(amount=Decimal(250), currency="XTR").amount == 250

        with pytest.raises(ValidationError, match="whole numbers"):
            Money(amount=Decimal("250.5"), currency="XTR")


class TestEventInvariants:
    def test_course_payment_names_the_course_and_top_up_does_not(self):
        fields = PaymentSucceededV1.example().model_dump()

        with pytest.raises(ValidationError, match="course_id is set exactly when purpose is 'course'"):
            PaymentSucceededV1(**fields | {"course_id": None})
        with pytest.raises(ValidationError, match="course_id is set exactly when purpose is 'course'"):
            PaymentSucceededV1(**fields | {"purpose": "top_up"})

    def test_stars_payments_are_in_xtr(self):
        fields = PaymentSucceededV1.example().model_dump()
        rubles = Money(amount=Decimal("250.00"), currency="RUB")

        with pytest.raises(ValidationError, match="XTR"):
            PaymentSucceededV1(**fields | {"amount": rubles})
        with pytest.raises(ValidationError, match="XTR"):
            PaymentSucceededV1(**fields | {"provider": "yookassa"})

    def test_profile_update_changes_something(self):
        fields = ProfileUpdatedV1.example().model_dump()

        assert ProfileUpdatedV1(**fields | {"changed_fields": (), "phone_changed": True}).phone_changed
        with pytest.raises(ValidationError, match="at least one"):
            ProfileUpdatedV1(**fields | {"changed_fields": (), "phone_changed": False})
        with pytest.raises(ValidationError, match="changed_fields"):
            ProfileUpdatedV1(**fields | {"changed_fields": ("phone",)})

    def test_a_time_zone_only_change_is_a_version_2_profile_update(self):
        fields = ProfileUpdatedV2.example().model_dump()

        assert ProfileUpdatedV2(**fields | {"changed_fields": ("time_zone",)}).changed_fields == ("time_zone",)
        with pytest.raises(ValidationError, match="changed_fields"):
            ProfileUpdatedV1(**ProfileUpdatedV1.example().model_dump() | {"changed_fields": ("time_zone",)})
        with pytest.raises(ValidationError, match="at least one"):
            ProfileUpdatedV2(**fields | {"changed_fields": (), "phone_changed": False})

    @pytest.mark.parametrize("model", [UserRegisteredV2, ProfileUpdatedV2])
    @pytest.mark.parametrize("zone", ["Asia/Novosibirsk", "America/Argentina/Buenos_Aires", "Etc/GMT-3", "UTC"])
    def test_time_zones_are_iana_names(self, model, zone):
        assert model(**model.example().model_dump() | {"time_zone": zone}).time_zone == zone

    @pytest.mark.parametrize("model", [UserRegisteredV2, ProfileUpdatedV2])
    @pytest.mark.parametrize("zone", ["", "+03:00", "Europe/", "/Moscow", "Asia Novosibirsk", "Europe/Moscow\n"])
    def test_a_time_zone_that_is_not_an_iana_name_is_refused(self, model, zone):
        with pytest.raises(ValidationError, match="time_zone"):
            model(**model.example().model_dump() | {"time_zone": zone})

    @pytest.mark.parametrize("model", [UserRegisteredV2, ProfileUpdatedV2])
    @pytest.mark.parametrize("revision", [0, -1, "2", 1.0])
    def test_revisions_are_positive_integers(self, model, revision):
        with pytest.raises(ValidationError, match="revision"):
            model(**model.example().model_dump() | {"revision": revision})

    @pytest.mark.parametrize(
        ("reason", "kind"),
        [("course_completed", "course"), ("lesson_completed", "lesson"), ("achievement", "achievement")],
    )
    def test_points_name_the_subject_of_their_reason(self, reason, kind):
        fields = PointsAwardedV2.example().model_dump()
        subject = PointsAwardedFor(kind=kind, id=7, title="Что-то")

        assert PointsAwardedV2(**fields | {"reason": reason, "awarded_for": subject}).awarded_for == subject
        other = "course" if kind != "course" else "lesson"
        with pytest.raises(ValidationError, match="cannot be for"):
            PointsAwardedV2(**fields | {"reason": reason, "awarded_for": PointsAwardedFor(kind=other, id=7)})
        with pytest.raises(ValidationError, match="cannot be for"):
            PointsAwardedV2(**fields | {"reason": "welcome", "awarded_for": subject})

    @pytest.mark.parametrize("model", [PointsAwardedV2, AchievementUnlockedV2])
    def test_levels_never_go_down(self, model):
        fields = model.example().model_dump()

        with pytest.raises(ValidationError, match="level_after"):
            model(**fields | {"level_before": fields["level_after"] | {"level": 5}})

    def test_an_achievement_worth_no_points_has_no_award(self):
        fields = AchievementUnlockedV2.example().model_dump()

        assert AchievementUnlockedV2(**fields | {"points": 0, "award_id": None}).award_id is None
        assert AchievementUnlockedV2(**fields | {"award_id": None}).points == 50  # awarded before (restored)
        with pytest.raises(ValidationError, match="no award_id"):
            AchievementUnlockedV2(**fields | {"points": 0})

    def test_completed_lessons_do_not_exceed_the_total(self):
        fields = LessonCompletedV1.example().model_dump()

        with pytest.raises(ValidationError, match="cannot exceed"):
            LessonCompletedV1(**fields | {"lessons_completed_in_course": 13, "lessons_total": 12})

    def test_period_start_is_a_date_not_an_instant(self):
        fields = LearnerInactiveV1.example().model_dump()

        assert LearnerInactiveV1.model_validate_json(
            LearnerInactiveV1.example().model_dump_json()
        ).period_start == date(2025, 3, 10)
        with pytest.raises(ValidationError, match="period_start"):
            LearnerInactiveV1(**fields | {"period_start": datetime(2025, 3, 10, tzinfo=UTC)})


class TestDeclarationChecks:
    def test_event_type_must_follow_the_naming_rule(self):
        with pytest.raises(TypeError, match=r"<service>\.<event>\.v<N>"):

            class BadNameV1(EventData):
                event_type: ClassVar[str] = "users.BadName"
                source_service: ClassVar[str] = "users"
                occurred_at_field: ClassVar[str] = "at"

    def test_event_type_must_start_with_the_producer(self):
        with pytest.raises(TypeError, match="source_service"):

            class WrongServiceV1(EventData):
                event_type: ClassVar[str] = "billing.wrong_service.v1"
                source_service: ClassVar[str] = "users"
                occurred_at_field: ClassVar[str] = "at"

    def test_class_name_carries_the_version(self):
        with pytest.raises(TypeError, match="must end with V2"):

            class SomethingHappenedV1(EventData):
                event_type: ClassVar[str] = "users.something_happened.v2"
                source_service: ClassVar[str] = "users"
                occurred_at_field: ClassVar[str] = "at"

    def test_occurred_at_field_must_exist(self):
        with pytest.raises(TypeError, match="occurred_at_field"):

            class SomethingHappenedV1(EventData):
                event_type: ClassVar[str] = "users.something_happened.v1"
                source_service: ClassVar[str] = "users"
                occurred_at_field: ClassVar[str] = "happened_at"
