"""Callback data: every factory fits Telegram's 64 bytes whatever its fields hold, and carries no free text.

A button's `callback_data` is 1-64 bytes. Ids, pages and amounts are bounded by their type; text an operator
or a learner typed (a category slug, a city) is not, so it never goes into callback data: a category travels
as a short reference resolved against the catalog's list.
"""

import inspect
import typing

import pytest
from academy_gateway_bot import callbacks
from aiogram.filters.callback_data import MAX_CALLBACK_LENGTH, CallbackData
from pydantic import ValidationError
from pydantic.fields import FieldInfo

FACTORIES = sorted(
    (
        factory
        for _, factory in inspect.getmembers(callbacks, inspect.isclass)
        if issubclass(factory, CallbackData) and factory is not CallbackData
    ),
    key=lambda factory: factory.__name__,
)
# Telegram ids and our own ids are 64-bit signed integers; without a bound, an int field may hold any of them.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def widest_int(field: FieldInfo) -> int:
    """The value of the field that is longest when written out, within its declared bounds."""
    low, high = INT64_MIN, INT64_MAX
    for constraint in field.metadata:
        if getattr(constraint, "ge", None) is not None:
            low = max(low, constraint.ge)
        if getattr(constraint, "le", None) is not None:
            high = min(high, constraint.le)
    return max((low, high), key=lambda value: len(str(value)))


def longest_value(factory: type[CallbackData], name: str, field: FieldInfo) -> object:
    annotation = field.annotation
    if typing.get_origin(annotation) is typing.Literal:
        return max(typing.get_args(annotation), key=lambda option: len(str(option).encode()))
    if annotation is bool:
        return True
    if annotation is int:
        return widest_int(field)
    if annotation is str:
        max_length = next((c.max_length for c in field.metadata if getattr(c, "max_length", None)), None)
        assert max_length is not None, (
            f"{factory.__name__}.{name} is free text: operator or learner text does not belong in callback data "
            "(carry an id, or a bounded reference such as callbacks.CategoryRef)"
        )
        # Bounded in characters; only ASCII is accepted, so also in bytes.
        with pytest.raises(ValidationError):
            factory.model_validate({**required_minimum(factory), name: "ж"})
        return "A" * max_length
    raise AssertionError(f"{factory.__name__}.{name}: no rule for {annotation!r}; teach this test its widest value")


def required_minimum(factory: type[CallbackData]) -> dict[str, object]:
    values: dict[str, object] = {}
    for name, field in factory.model_fields.items():
        if field.is_required():
            annotation = field.annotation
            values[name] = typing.get_args(annotation)[0] if typing.get_origin(annotation) is typing.Literal else 0
    return values


def test_the_factories_are_found() -> None:
    assert {factory.__name__ for factory in FACTORIES} >= {"CatalogCb", "CourseCb", "LeaderboardCb", "WalletCb"}


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda factory: factory.__name__)
def test_a_factory_packs_within_64_bytes_with_every_field_at_its_widest(factory: type[CallbackData]) -> None:
    widest = {name: longest_value(factory, name, field) for name, field in factory.model_fields.items()}

    packed = factory(**widest).pack()  # aiogram itself refuses more than 64 bytes

    assert len(packed.encode()) <= MAX_CALLBACK_LENGTH, packed
    assert factory.unpack(packed) == factory(**widest)


@pytest.mark.parametrize(
    "slug",
    [
        "nail-art",
        "permanent-makeup-microblading-and-lip-blush-advanced",
        "x" * 100,  # the longest slug the catalog accepts
    ],
)
def test_a_category_travels_as_a_short_reference_resolved_against_the_categories(slug: str) -> None:
    categories = ["manicure", slug, "pedicure"]

    ref = callbacks.category_ref(slug)

    assert len(ref) <= callbacks.CATEGORY_REF_LENGTH
    assert callbacks.category_for_ref(ref, categories) == slug
    assert ref == callbacks.category_ref(slug)  # stable: a button sent yesterday still opens its category
    packed = callbacks.CourseCb(action="continue", course_id=2**31 - 1, category=ref, page=10_000, fresh=True).pack()
    assert len(packed.encode()) <= MAX_CALLBACK_LENGTH


def test_a_slug_is_refused_where_a_reference_belongs() -> None:
    with pytest.raises(ValidationError):
        callbacks.CatalogCb(action="category", category="permanent-makeup-microblading-and-lip-blush-advanced")


def test_an_unknown_reference_resolves_to_nothing_and_a_button_from_before_references_still_opens() -> None:
    assert callbacks.category_for_ref(callbacks.category_ref("gone"), ["manicure", "pedicure"]) is None
    # Buttons sent before categories travelled as references carried the slug itself.
    assert callbacks.category_for_ref("manicure", ["manicure", "pedicure"]) == "manicure"
    assert callbacks.category_for_ref("", ["manicure"]) is None


def test_an_avatar_button_from_before_pages_still_unpacks() -> None:
    assert callbacks.AvatarCb.unpack("ava:restore:5") == callbacks.AvatarCb(action="restore", avatar_id=5, page=0)


@pytest.mark.parametrize(
    ("factory", "data"),
    [
        (callbacks.AvatarCb, "ava:restore:-1"),
        (callbacks.AvatarCb, "ava:restore:2147483648"),
        (callbacks.AvatarCb, "ava:page:0:-1"),
        (callbacks.AvatarCb, "ava:page:0:1001"),
        (callbacks.ErasureCb, "era:confirm:0:"),
        (callbacks.CourseCb, "crs:card:-7::0:0"),
        (callbacks.LessonCb, "lsn:open:1:9999999999:0"),
        (callbacks.WalletCb, "wal:older:-1:0"),
    ],
)
def test_a_forged_id_is_refused_by_its_factory(factory: type[CallbackData], data: str) -> None:
    """Ids are positive and fit the services' 32-bit ids (billing's transaction refs 64-bit): a forged one
    never unpacks, so no handler's filter takes it and the fallback answers «устарела»."""
    with pytest.raises(ValueError, match="validation error"):
        factory.unpack(data)
