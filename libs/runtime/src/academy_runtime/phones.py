"""Phone numbers: read as learners type or share them, checked against the numbering plans, kept in E.164.

One module for every service and the bot, so a number is read the same way everywhere. The rules are
not ours: the shape of a stored number is ITU-T Recommendation E.164 ("+", a country code, at most 15
digits), and whether a number exists, which country it belongs to and what kind of line it is come
from Google's libphonenumber metadata (the `phonenumbers` package), which follows the numbering plans
each country publishes through the ITU.

Three ways a number comes in:

- typed by the learner (`read_typed_phone`): free text in any usual notation, read in the numbering
  plan of a region the caller takes from context, and also as an international number written
  without its "+"; when both readings are real numbers the answer is `AmbiguousPhone` and the bot
  asks which one was meant;
- shared through Telegram's contact button (`read_shared_phone`): international digits, with or
  without the "+";
- received by a service from another one (`check_e164`): E.164 exactly, nothing to guess.

Each returns a result, never raises on what a person typed. A number is accepted when it is valid in
its country's plan (`phonenumbers.is_valid_number`) and is a line a person answers: mobile, fixed-line
(many learners, in Russia above all, give a landline; it can be called, though an SMS to it is lost),
VoIP and personal numbers. Service numbers are refused: toll-free (8-800), premium-rate, shared-cost,
universal access, pager and voicemail numbers reach a company or a machine, not the learner.
Extensions are refused too: E.164 has no room for them, and a number that needs one is not the
learner's own line.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType, ValidationResult

__all__ = [
    "AmbiguousPhone",
    "PhoneRejection",
    "RejectedPhone",
    "ValidPhone",
    "check_e164",
    "format_phone",
    "mask_phone",
    "phone_region",
    "read_shared_phone",
    "read_typed_phone",
]


class PhoneRejection(StrEnum):
    """Why a text is not a phone number the academy can keep; the bot words each one for the learner."""

    NOT_A_NUMBER = "not_a_number"
    """Letters (other than an extension), symbols, control characters, or no digits at all."""
    TOO_SHORT = "too_short"
    """Fewer digits than any number of its plan has, or a local number without its area code."""
    TOO_LONG = "too_long"
    """More digits than any number of its plan has (or more text than any phone number is written in)."""
    INVALID = "invalid"
    """No country has such a number: an unknown country code or a range its plan does not use."""
    SERVICE_NUMBER = "service_number"
    """A real number, but a toll-free, premium-rate, shared-cost, UAN, pager or voicemail one."""
    EXTENSION = "extension"
    """A real number followed by an extension ("доб. 12", "ext. 12"): ask for the number alone."""
    NOT_E164 = "not_e164"
    """`check_e164` only: not written as "+" and digits in E.164, such as "+79161234567"."""


@dataclass(frozen=True, slots=True)
class ValidPhone:
    """One number, valid and accepted; `e164` is "+" and its digits, such as "+79161234567"."""

    e164: str


@dataclass(frozen=True, slots=True)
class AmbiguousPhone:
    """Typed digits that are two (or more) real numbers; `candidates` in E.164, the region's reading first.

    "84912345678" typed in Russia is +7 491 234-56-78 (trunk prefix 8, a Ryazan landline) and
    +84 912 345 678 (a Vietnamese mobile, its "+" left out): only the learner knows which.
    """

    candidates: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RejectedPhone:
    """Not a number the academy can keep, and why."""

    reason: PhoneRejection


# Lines a person answers (see the module docstring for why fixed-line and VoIP are among them).
_PERSONAL_LINES = frozenset(
    {
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
        PhoneNumberType.VOIP,
        PhoneNumberType.PERSONAL_NUMBER,
    }
)
_LENGTH_REASONS = {
    ValidationResult.TOO_SHORT: PhoneRejection.TOO_SHORT,
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: PhoneRejection.TOO_SHORT,  # dialable only inside its area
    ValidationResult.TOO_LONG: PhoneRejection.TOO_LONG,
}
_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: PhoneRejection.INVALID,
    NumberParseException.NOT_A_NUMBER: PhoneRejection.NOT_A_NUMBER,
    NumberParseException.TOO_SHORT_AFTER_IDD: PhoneRejection.TOO_SHORT,
    NumberParseException.TOO_SHORT_NSN: PhoneRejection.TOO_SHORT,
    NumberParseException.TOO_LONG: PhoneRejection.TOO_LONG,
}
# When no reading is a number, the answer is the reason of the reading that got furthest: a number
# that only needs its extension dropped says so rather than "not a number" from another reading.
_PROGRESS = {
    PhoneRejection.NOT_A_NUMBER: 0,
    PhoneRejection.NOT_E164: 0,
    PhoneRejection.TOO_SHORT: 1,
    PhoneRejection.TOO_LONG: 1,
    PhoneRejection.INVALID: 1,
    PhoneRejection.SERVICE_NUMBER: 2,
    PhoneRejection.EXTENSION: 3,
}

_PLUS_SIGNS = ("+", "\uff0b")
# Separators people and address books put between digits (libphonenumber's own list, spaces aside).
_SEPARATORS = frozenset(
    "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff0d/\uff0f.()\uff08\uff09[]\uff3b\uff3d~\u2053\u223c\uff5e"
)
# The longest honest notation ("+7 (916) 123-45-67 доб. 12345" and the like) is far shorter; the cap
# keeps a pasted essay away from the parser.
_MAX_TEXT_LENGTH = 64
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_MASKED_END = 2  # digits left visible at the end of a masked number
_MIN_MASKED = 4  # digits a mask hides at least, or the area code is hidden too


@dataclass(frozen=True, slots=True)
class _Text:
    value: str
    has_other_characters: bool  # letters or symbols: a number only if they spell an extension


def read_typed_phone(text: str, *, region: str | None) -> ValidPhone | AmbiguousPhone | RejectedPhone:
    """A number the learner typed, in any usual notation, read with the numbering plan of `region`.

    `region` is an ISO 3166-1 alpha-2 code ("RU") the caller takes from context (settings, the
    learner's country); None, or a code libphonenumber does not know, reads only international
    notations. Readings:

    - with "+": that international number ("+7 (916) 123-45-67", "+380 50 123 4567");
    - otherwise, in the region's plan: with its trunk prefix ("8 916 123 45 67"), without it
      ("916 123 45 67" → +79161234567 in RU, never India's +91), with its country code but no "+"
      ("79161234567"), after its international prefix ("8 10 44 20 7946 0958" in RU);
    - and, also, as international digits whose "+" was left out ("84912345678" → +84912345678) or
      replaced by the international prefix 00 ITU-T recommends ("00 44 20 7946 0958").

    Only readings that are valid numbers of a line a person answers become candidates: one is a
    `ValidPhone`, several an `AmbiguousPhone` (the region's reading first), none a `RejectedPhone`
    with the reason of the reading that came closest. Between two candidates, the learner's own
    spacing decides when it cuts through the country code of the "+"-less reading: "8 (495) 123-45-67"
    and "8 491 234 56 78" are Russian, "84912345678" is either.

    Full-width and other Unicode digits are read as digits; invisible formatting characters pasted
    from address books are dropped; control characters (NUL) make it not a number.
    """
    cleaned = _clean(text)
    if isinstance(cleaned, RejectedPhone):
        return cleaned
    known_region = region.upper() if region and region.upper() in phonenumbers.SUPPORTED_REGIONS else None
    readings = _typed_readings(cleaned.value, known_region)
    results = [_read(cleaned, reading.text, region=reading.region) for reading in readings]
    numbers: dict[str, _Reading] = {}  # each number with the first reading that gave it
    for reading, result in zip(readings, results, strict=True):
        if isinstance(result, ValidPhone):
            numbers.setdefault(result.e164, reading)
    if len(numbers) > 1:
        # The learner's spacing settles it when it cuts through the country code of the "+"-less
        # reading: "8 (495) 123-45-67" is a Moscow landline, not +84 951 234 567 in Vietnam.
        numbers = {
            e164: reading
            for e164, reading in numbers.items()
            if not (reading.plus_left_out and _splits_country_code(reading.text, e164))
        }
    if len(numbers) > 1:
        return AmbiguousPhone(tuple(numbers))
    if numbers:
        return ValidPhone(next(iter(numbers)))
    rejections = [r for r in results if isinstance(r, RejectedPhone)]
    return max(rejections, key=lambda r: _PROGRESS[r.reason])  # max keeps the first of equals


def read_shared_phone(phone_number: str) -> ValidPhone | RejectedPhone:
    """A number shared through Telegram's contact button (`Contact.phone_number`), in E.164.

    Telegram sends it in international format, usually without the "+": "84912345678" is
    +84 912 345 678 (Vietnam), "79161234567" is +7 916 123-45-67; it is never read in a national plan.
    Telegram's anonymous +888 numbers are not numbers libphonenumber knows and are rejected: they
    cannot be called.
    """
    cleaned = _clean(phone_number)
    if isinstance(cleaned, RejectedPhone):
        return cleaned
    international = cleaned.value if cleaned.value.startswith(_PLUS_SIGNS) else "+" + cleaned.value
    return _read(cleaned, international, region=None)


def check_e164(value: str) -> ValidPhone | RejectedPhone:
    """A number another service sends, which must already be E.164: "+79161234567", nothing else.

    For a service's input checks: `NOT_E164` when it is written any other way ("+7 916 123-45-67",
    "89161234567"), otherwise the same acceptance as a typed number.
    """
    if not _E164.fullmatch(value):
        return RejectedPhone(PhoneRejection.NOT_E164)
    result = _read(_Text(value, has_other_characters=False), value, region=None)
    if isinstance(result, ValidPhone) and result.e164 != value:
        return RejectedPhone(PhoneRejection.NOT_E164)  # not its canonical spelling
    return result


def format_phone(e164: str) -> str:
    """An E.164 number as people read it, in international format: "+79161234567" → "+7 916 123-45-67".

    The grouping is the one libphonenumber records for the country. Text that is not a number (an old
    row, say) comes back as it is: display never fails.
    """
    number = _parse_international(e164)
    return e164 if number is None else phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def mask_phone(e164: str, *, hidden: str = "*") -> str:
    """An E.164 number with its middle digits hidden, enough to recognise one's own number, not to read it.

    "+79161234567" → "+7 916 ***-**-67", "+442079460958" → "+44 20 **** **58", "+14155552671" →
    "+1 415-***-**71": the country code, the first group (area or operator code) and the last two
    digits stay; the first group is hidden too when fewer than four digits would be left hidden
    ("+6834002" → "+683 **02"). Text that is not a number keeps its first two and last two characters.
    """
    number = _parse_international(e164)
    country, _, national = (
        phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL).partition(" ") if number else ("", "", "")
    )
    if not national:
        return e164[:2] + hidden * max(len(e164) - 2 - _MASKED_END, 0) + e164[2:][-_MASKED_END:]
    digits = sum(ch.isdigit() for ch in national)
    first_group = len(re.split(r"\D", national, maxsplit=1)[0])
    visible_start = first_group if digits - first_group - _MASKED_END >= _MIN_MASKED else 0
    visible_end = _MASKED_END if digits > _MASKED_END else 0
    masked: list[str] = []
    seen = 0
    for ch in national:
        if ch.isdigit():
            masked.append(ch if seen < visible_start or seen >= digits - visible_end else hidden)
            seen += 1
        else:
            masked.append(ch)
    return f"{country} {''.join(masked)}"


def phone_region(e164: str) -> str | None:
    """The ISO 3166-1 alpha-2 region of an E.164 number ("+84912345678" → "VN"), to name the country
    when the bot asks which number was meant; None for non-geographic numbers and non-numbers."""
    number = _parse_international(e164)
    region = phonenumbers.region_code_for_number(number) if number else None
    return region if region in phonenumbers.SUPPORTED_REGIONS else None


def _clean(text: str) -> _Text | RejectedPhone:
    kept: list[str] = []
    other = False
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cf":  # bidi marks and zero-width spaces that address books copy with a number
            continue
        if category.startswith("C") and not ch.isspace():
            return RejectedPhone(PhoneRejection.NOT_A_NUMBER)
        kept.append(ch)
        other = other or not (ch.isdecimal() or ch.isspace() or ch in _SEPARATORS or ch in _PLUS_SIGNS)
    value = "".join(kept).strip()
    if len(value) > _MAX_TEXT_LENGTH:
        return RejectedPhone(PhoneRejection.TOO_LONG)
    return _Text(value, has_other_characters=other)


class _Reading(NamedTuple):
    text: str
    region: str | None
    plus_left_out: bool  # international digits the learner may have written without their "+"


def _typed_readings(text: str, region: str | None) -> list[_Reading]:
    if text.startswith(_PLUS_SIGNS):
        return [_Reading(text, None, plus_left_out=False)]
    readings = [_Reading(text, region, plus_left_out=False)] if region else []
    first_digits = [i for i, ch in enumerate(text) if ch.isdecimal()][:2]
    if len(first_digits) == len("00") and all(unicodedata.decimal(text[i]) == 0 for i in first_digits):
        readings.append(_Reading("+" + text[first_digits[-1] + 1 :], None, plus_left_out=True))
    else:
        readings.append(_Reading("+" + text, None, plus_left_out=True))
    return readings


def _splits_country_code(reading: str, e164: str) -> bool:
    """Whether the first group of digits as typed is shorter than the number's country code."""
    digits = reading.lstrip("".join(_PLUS_SIGNS)).lstrip()
    first_group = len(list(itertools.takewhile(str.isdecimal, digits)))
    return first_group < len(str(phonenumbers.parse(e164).country_code))


def _read(text: _Text, reading: str, *, region: str | None) -> ValidPhone | RejectedPhone:
    try:
        number = phonenumbers.parse(reading, region)
    except NumberParseException as error:
        return RejectedPhone(_PARSE_REASONS.get(error.error_type, PhoneRejection.NOT_A_NUMBER))
    if text.has_other_characters and not number.extension:
        return RejectedPhone(PhoneRejection.NOT_A_NUMBER)  # letters spelling digits, "#", "*": not a phone
    if not phonenumbers.is_valid_number(number):
        reason = _LENGTH_REASONS.get(phonenumbers.is_possible_number_with_reason(number), PhoneRejection.INVALID)
        return RejectedPhone(reason)
    if phonenumbers.number_type(number) not in _PERSONAL_LINES:
        return RejectedPhone(PhoneRejection.SERVICE_NUMBER)
    if number.extension:
        return RejectedPhone(PhoneRejection.EXTENSION)
    return ValidPhone(phonenumbers.format_number(number, PhoneNumberFormat.E164))


def _parse_international(e164: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(e164, None)
    except NumberParseException:
        return None
