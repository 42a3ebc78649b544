"""Phone numbers as learners type and share them, read against the numbering plans (issue 8, case 6)."""

import pytest
from academy_runtime.phones import (
    AmbiguousPhone,
    PhoneRejection,
    RejectedPhone,
    ValidPhone,
    check_e164,
    format_phone,
    mask_phone,
    phone_region,
    read_shared_phone,
    read_typed_phone,
)


def test_a_national_number_typed_without_trunk_prefix_is_read_in_the_region_not_as_india():
    # The old rule took any 10 digits as international: "916 123 45 67" became +9161234567 (India).
    assert read_typed_phone("916 123 45 67", region="RU") == ValidPhone("+79161234567")


def test_a_shared_contact_is_international_even_without_its_plus():
    # The old rule read an 11-digit number starting with 8 as Russian: this Vietnamese one became +74912345678.
    assert read_shared_phone("84912345678") == ValidPhone("+84912345678")


def test_typed_digits_that_are_a_russian_and_a_vietnamese_number_are_asked_back():
    assert read_typed_phone("84912345678", region="RU") == AmbiguousPhone(("+74912345678", "+84912345678"))


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+7 (916) 123-45-67", "+79161234567"),
        ("8 916 123 45 67", "+79161234567"),
        ("8 (916) 123-45-67", "+79161234567"),
        ("916 123 45 67", "+79161234567"),
        ("9161234567", "+79161234567"),
        ("79161234567", "+79161234567"),
        ("7 916 123 45 67", "+79161234567"),
        ("  +7 916 123 45 67\n", "+79161234567"),
        ("+7.916.123.45.67", "+79161234567"),
        ("+380 50 123 4567", "+380501234567"),
        ("380501234567", "+380501234567"),
        ("00 44 20 7946 0958", "+442079460958"),  # 00, the international prefix ITU-T recommends
        ("8 10 44 20 7946 0958", "+442079460958"),  # Russia's own international prefix
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("+49 30 1234567", "+49301234567"),
        ("8 (495) 123-45-67", "+74951234567"),  # a landline: the spacing cuts +84 (Vietnam) in two
        ("8 491 234 56 78", "+74912345678"),
        ("＋７ ９１６ １２３ ４５ ６７", "+79161234567"),  # full-width, as some keyboards type
        ("\u202a+7 916 123-45-67\u202c", "+79161234567"),  # bidi marks an address book copies with it
    ],
)
def test_usual_notations_typed_in_russia_are_one_number(typed, e164):
    assert read_typed_phone(typed, region="RU") == ValidPhone(e164)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("call me", PhoneRejection.NOT_A_NUMBER),
        ("+7 916 CALL-ME", PhoneRejection.NOT_A_NUMBER),  # letters that spell digits are not taken
        ("+7 (916) abc", PhoneRejection.NOT_A_NUMBER),
        ("7+9161234567", PhoneRejection.NOT_A_NUMBER),
        ("+7 916 123-45-67\x00", PhoneRejection.NOT_A_NUMBER),
        ("+7 916 \x00123-45-67", PhoneRejection.NOT_A_NUMBER),
        ("*100#", PhoneRejection.NOT_A_NUMBER),
        ("", PhoneRejection.NOT_A_NUMBER),
        ("+", PhoneRejection.NOT_A_NUMBER),
        ("12345", PhoneRejection.TOO_SHORT),
        ("123 45 67", PhoneRejection.TOO_SHORT),  # a Moscow number without its area code
        ("+7 916 123 45 6", PhoneRejection.TOO_SHORT),
        ("1" * 100, PhoneRejection.TOO_LONG),
        ("+7 916 123 45 67 890 12", PhoneRejection.TOO_LONG),
        ("2079460958", PhoneRejection.INVALID),  # +7 207… is no Russian range, +20 79… no Egyptian one
        ("+999 123 456 789", PhoneRejection.INVALID),  # no such country code
        ("8-800-555-35-35", PhoneRejection.SERVICE_NUMBER),  # toll-free: nobody answers it for the learner
        ("+7 916 123 45 67 доб. 12", PhoneRejection.EXTENSION),
        ("8 916 123 45 67, ext. 12", PhoneRejection.EXTENSION),
    ],
)
def test_what_is_not_a_number_to_keep_is_rejected_with_its_reason(typed, reason):
    assert read_typed_phone(typed, region="RU") == RejectedPhone(reason)


def test_a_landline_is_accepted():
    assert read_typed_phone("8 (495) 123-45-67", region="RU") == ValidPhone("+74951234567")
    assert check_e164("+442079460958") == ValidPhone("+442079460958")


def test_ambiguous_candidates_are_only_valid_numbers():
    # "8 916 …" read as +89 16… is no number, so it is not offered.
    assert read_typed_phone("89161234567", region="RU") == ValidPhone("+79161234567")


def test_the_region_decides_the_national_reading():
    assert read_typed_phone("9161234567", region="IN") == ValidPhone("+919161234567")
    assert read_typed_phone("020 7946 0958", region="gb") == ValidPhone("+442079460958")


@pytest.mark.parametrize("region", [None, "ZZ", "ru-RU", ""])
def test_without_a_known_region_only_international_notations_are_read(region):
    assert read_typed_phone("+7 916 123 45 67", region=region) == ValidPhone("+79161234567")
    assert read_typed_phone("84912345678", region=region) == ValidPhone("+84912345678")
    assert read_typed_phone("916 123 45 67", region=region) == RejectedPhone(PhoneRejection.INVALID)


@pytest.mark.parametrize(
    ("shared", "result"),
    [
        ("79161234567", ValidPhone("+79161234567")),
        ("+79161234567", ValidPhone("+79161234567")),
        ("380501234567", ValidPhone("+380501234567")),
        ("89161234567", RejectedPhone(PhoneRejection.INVALID)),  # never read with the Russian trunk prefix
        ("+888 0123 4567", RejectedPhone(PhoneRejection.TOO_SHORT)),  # Telegram's anonymous numbers
        ("78005553535", RejectedPhone(PhoneRejection.SERVICE_NUMBER)),
        ("7916123\x004567", RejectedPhone(PhoneRejection.NOT_A_NUMBER)),
        ("", RejectedPhone(PhoneRejection.NOT_A_NUMBER)),
    ],
)
def test_shared_contacts(shared, result):
    assert read_shared_phone(shared) == result


@pytest.mark.parametrize(
    ("value", "result"),
    [
        ("+79161234567", ValidPhone("+79161234567")),
        ("+84912345678", ValidPhone("+84912345678")),
        ("+7 916 123-45-67", RejectedPhone(PhoneRejection.NOT_E164)),
        ("89161234567", RejectedPhone(PhoneRejection.NOT_E164)),
        ("+79161234567\n", RejectedPhone(PhoneRejection.NOT_E164)),
        ("+０79161234567", RejectedPhone(PhoneRejection.NOT_E164)),
        ("+" + "1" * 16, RejectedPhone(PhoneRejection.NOT_E164)),  # E.164 has at most 15 digits
        ("+9161234567", RejectedPhone(PhoneRejection.INVALID)),  # what the old rule stored
        ("+78005553535", RejectedPhone(PhoneRejection.SERVICE_NUMBER)),
    ],
)
def test_a_service_accepts_only_valid_e164(value, result):
    assert check_e164(value) == result


@pytest.mark.parametrize(
    ("e164", "shown", "masked", "region"),
    [
        ("+79161234567", "+7 916 123-45-67", "+7 916 ***-**-67", "RU"),
        ("+84912345678", "+84 912 345 678", "+84 912 *** *78", "VN"),
        ("+442079460958", "+44 20 7946 0958", "+44 20 **** **58", "GB"),
        ("+14155552671", "+1 415-555-2671", "+1 415-***-**71", "US"),
        ("+380501234567", "+380 50 123 4567", "+380 50 *** **67", "UA"),
        ("+6834002", "+683 4002", "+683 **02", "NU"),  # too short to show its first group too
        ("+881612345678", "+881 6 123 45678", "+881 6 *** ***78", None),  # satellite: no country
    ],
)
def test_display_and_mask(e164, shown, masked, region):
    assert format_phone(e164) == shown
    assert mask_phone(e164) == masked
    assert phone_region(e164) == region


def test_display_of_a_stored_value_that_is_no_number_does_not_fail():
    assert format_phone("garbage") == "garbage"
    assert mask_phone("garbage") == "ga***ge"
    assert mask_phone("+9161234567") == "+91 ******67"  # what the old rule stored for "916 123 45 67"
    assert mask_phone("+7 916", hidden="•") == "+7 •16"
    assert phone_region("garbage") is None


def test_the_mask_shows_at_most_the_area_code_and_two_digits():
    masked = mask_phone("+79161234567", hidden="•")

    assert masked == "+7 916 •••-••-67"
    assert "1234" not in masked.replace(" ", "").replace("-", "")
