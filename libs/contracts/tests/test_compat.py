import copy

import pytest
from academy_contracts import CourseEnrolledV1, UserRegisteredV1
from academy_contracts.compat import check_compatibility, compare_event_schemas, next_version
from academy_contracts.generate import current_schemas
from academy_contracts.schemas import event_json_schema
from pydantic import Field

USER_REGISTERED = "users.user_registered.v1"


class WithOptionalReferral(UserRegisteredV1):
    referral_code: str | None = Field(default=None, description="Promo code the learner came with.")


class WithRequiredReferral(UserRegisteredV1):
    referral_code: str = Field(description="Promo code the learner came with.")

    @classmethod
    def example(cls):
        return cls(**UserRegisteredV1.example().model_dump(), referral_code="SPRING25")


def published() -> dict:
    return event_json_schema(UserRegisteredV1)


def data_def(schema: dict) -> dict:
    return schema["$defs"][schema["properties"]["data"]["$ref"].rsplit("/", 1)[1]]


def mutated(mutate) -> dict:
    schema = copy.deepcopy(published())
    mutate(data_def(schema))
    return schema


def test_identical_schemas_are_compatible():
    report = check_compatibility(current_schemas(), current_schemas())

    assert report.ok
    assert report.format() == ""


def test_adding_an_optional_field_is_compatible_drift():
    changes = compare_event_schemas(USER_REGISTERED, published(), event_json_schema(WithOptionalReferral))

    assert changes
    assert not any(change.breaking for change in changes)
    added = [change for change in changes if change.path == "data.referral_code"]
    assert added[0].detail == "optional property added"
    assert "run `make contracts`" in added[0].message()


def test_adding_a_required_field_is_breaking():
    changes = compare_event_schemas(USER_REGISTERED, published(), event_json_schema(WithRequiredReferral))

    breaking = [change for change in changes if change.breaking]
    assert [change.path for change in breaking] == ["data.referral_code"]
    assert "new required property" in breaking[0].message()
    assert "ship it as users.user_registered.v2 instead" in breaking[0].message()


def remove_city(data: dict) -> None:
    del data["properties"]["city"]


def require_city(data: dict) -> None:
    data["required"].append("city")


def make_username_optional_required_to_optional(data: dict) -> None:
    data["required"].remove("telegram_id")


def change_user_id_type(data: dict) -> None:
    data["properties"]["user_id"] = {"type": "string", "description": "now a string"}


def change_timestamp_format(data: dict) -> None:
    data["properties"]["registered_at"]["format"] = "date"


def tighten_max_length(data: dict) -> None:
    data["properties"]["full_name"]["anyOf"][0]["maxLength"] = 100


def change_locale_pattern(data: dict) -> None:
    data["properties"]["locale"]["pattern"] = "^(ru|en)$"


def make_city_non_nullable(data: dict) -> None:
    data["properties"]["city"] = data["properties"]["city"]["anyOf"][0]


@pytest.mark.parametrize(
    ("current_change", "path", "detail"),
    [
        (remove_city, "data.city", "property removed"),
        (require_city, "data.city", "property became required"),
        (make_username_optional_required_to_optional, "data.telegram_id", "no longer required"),
        (change_user_id_type, "data.user_id", "type changed from integer to string"),
        (change_timestamp_format, "data.registered_at", "format changed from 'date-time' to 'date'"),
        (tighten_max_length, "data.full_name", "maxLength tightened from 255 to 100"),
        (change_locale_pattern, "data.locale", "pattern changed"),
        (make_city_non_nullable, "data.city", "type changed from null, string to string"),
    ],
)
def test_breaking_changes_are_detected(current_change, path, detail):
    changes = compare_event_schemas(USER_REGISTERED, published(), mutated(current_change))

    breaking = [change for change in changes if change.breaking]
    assert [(change.path, detail in change.detail) for change in breaking] == [(path, True)]
    assert "ship it as users.user_registered.v2 instead" in breaking[0].message()


def test_relaxing_is_compatible():
    def relax(data: dict) -> None:
        data["properties"]["full_name"]["anyOf"][0]["maxLength"] = 500
        data["properties"]["city"]["description"] = "Where the learner works."

    changes = compare_event_schemas(USER_REGISTERED, published(), mutated(relax))

    assert {change.detail for change in changes} == {
        "maxLength relaxed from 255 to 500",
        "description changed",
    }
    assert not any(change.breaking for change in changes)


def test_enum_narrowing_is_breaking_and_widening_is_not():
    enrolled = event_json_schema(CourseEnrolledV1)
    source = data_def(enrolled)["properties"]["source"]
    assert sorted(source["enum"]) == ["free", "operator", "purchase"]

    narrowed = copy.deepcopy(enrolled)
    data_def(narrowed)["properties"]["source"]["enum"] = ["free", "purchase"]
    widened = copy.deepcopy(enrolled)
    data_def(widened)["properties"]["source"]["enum"] = ["free", "purchase", "operator", "gift"]

    narrowing = compare_event_schemas("progress.course_enrolled.v1", enrolled, narrowed)
    widening = compare_event_schemas("progress.course_enrolled.v1", enrolled, widened)

    assert [(change.breaking, change.path) for change in narrowing] == [(True, "data.source")]
    assert '"operator" no longer allowed' in narrowing[0].detail
    assert [(change.breaking, change.path) for change in widening] == [(False, "data.source")]


def test_changes_inside_nested_models_are_found():
    schemas = current_schemas()
    published_course = schemas["catalog.course_updated.v1"]
    current_course = copy.deepcopy(published_course)
    del current_course["$defs"]["CourseLesson"]["properties"]["is_free"]
    current_course["$defs"]["Money"]["properties"]["currency"]["pattern"] = "^(RUB|XTR)$"

    changes = compare_event_schemas("catalog.course_updated.v1", published_course, current_course)

    assert {(change.path, change.breaking) for change in changes} == {
        ("data.lessons[].is_free", True),
        ("data.price.currency", True),
    }


def test_removed_event_type_is_breaking_and_new_type_is_drift():
    committed = current_schemas()
    current = dict(committed)
    del current[USER_REGISTERED]
    del committed["billing.balance_low.v1"]

    report = check_compatibility(committed, current)

    assert [(change.event_type, change.breaking) for change in report.changes] == [
        ("billing.balance_low.v1", False),
        (USER_REGISTERED, True),
    ]
    assert "removed although it is published" in report.breaking[0].message()
    assert "new event type" in report.drift[0].message()
    assert report.format().startswith("BREAKING users.user_registered.v1")


def test_next_version_skips_versions_that_already_exist():
    assert next_version("users.user_registered.v1") == "users.user_registered.v2"
    assert next_version("users.user_registered.v1", {"users.user_registered.v2"}) == "users.user_registered.v3"
    assert next_version("users.user_registered.v9", {"billing.balance_low.v12"}) == "users.user_registered.v10"


def test_breaking_message_suggests_a_free_version():
    committed = current_schemas()
    # v2 and v3 exist: the next free version of v1 is v4.
    assert {"users.user_registered.v2", "users.user_registered.v3"} <= committed.keys()
    current = dict(committed)
    current[USER_REGISTERED] = mutated(remove_city)

    report = check_compatibility(committed, current)

    assert "ship it as users.user_registered.v4 instead" in report.breaking[0].message()


def test_a_reference_written_as_all_of_is_the_same_schema():
    # Older pydantic releases write a described `$ref` as `allOf: [{"$ref": ...}]`: not a change.
    current = current_schemas()["billing.payment_succeeded.v1"]
    legacy = copy.deepcopy(current)
    amount = data_def(legacy)["properties"]["amount"]
    data_def(legacy)["properties"]["amount"] = {
        "allOf": [{"$ref": amount["$ref"]}],
        "description": amount["description"],
    }

    changes = compare_event_schemas("billing.payment_succeeded.v1", legacy, current)

    assert not any(change.breaking for change in changes)
