"""What a phone number looks like: one definition for validation, storage, limits and masking.

A number is stored in one canonical form, E.164 (`+8613812345678`, `+865368123688`), with a
landline's extension after `;ext=` (`+865368123688;ext=12`), whatever the spelling typed:
`138 1234 5678`, `+86-138-1234-5678`, `8613812345678`, `0536-812 3688-12`, full-width digits.
Numbers without a country code are read as Chinese. Rate limits, the repeat check, masking
and the admin's search all compare canonical forms.
"""

import re

import phonenumbers

DEFAULT_REGION = "CN"

# Mainland mobile (with or without +86): 138 1234 5678.
MOBILE = re.compile(r"^(?:\+?86[- ]?)?(1[3-9]\d)(\d{4})(\d{4})$")
# A landline with its area code and an optional extension: 0536-812 3688-12.
LANDLINE = re.compile(r"^(0\d{2,3})[- ]?(\d{4,5})(\d{3})(?:-\d{1,6})?$")
# An extension after a dash, 转 ("transfer"), "ext" or ";ext=": what phonenumbers does not read.
_EXTENSION = re.compile(r"^(?P<number>.+?)(?:-|转|;ext=|ext\.?|x)(?P<extension>\d{1,6})$", re.I)


def phone_compact(value: str) -> str:
    """Without spaces and brackets, full-width dashes made plain: the form both patterns read."""
    return re.sub(r"[\s()（）]", "", value or "").replace("－", "-").replace("—", "-")


def _parse(text: str):
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(number):
        return number
    # A mobile number of the right shape in a block newer than the library's metadata.
    if MOBILE.match(text) and phonenumbers.is_possible_number(number):
        return number
    return None


def phone_parse(value: str) -> phonenumbers.PhoneNumber | None:
    """The number in `value`, in any spelling; None when it is not a valid phone number."""
    compact = phone_compact(value)
    if not compact:
        return None
    number = _parse(compact)
    if number is None and (match := _EXTENSION.match(compact)):
        # "0536-8123688-12": only a landline has an extension (a mobile's last four are not).
        number = _parse(match["number"])
        if number is not None and number.country_code == 86 and area_code_length(number):
            number.extension = match["extension"]
        else:
            number = None
    return number


def area_code_length(number: phonenumbers.PhoneNumber) -> int:
    """How many digits of the national number are its area code (10 of Beijing: 2); 0: none."""
    return phonenumbers.length_of_geographical_area_code(number)


def phone_format(number: phonenumbers.PhoneNumber) -> str:
    """The canonical form: E.164, and `;ext=` with the extension when there is one."""
    canonical = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{canonical};ext={number.extension}" if number.extension else canonical


def phone_display(value: str) -> str:
    """The number as staff dial it: 13812345678, 0536-8123688 (转12 for an extension); a number
    abroad in its international form. What cannot be read is shown as stored."""
    number = phone_parse(value) if value else None
    if number is None:
        return value or ""
    if number.country_code != 86:
        # Its extension is part of the international form.
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.national_significant_number(number)
    area = area_code_length(number)
    text = f"0{national[:area]}-{national[area:]}" if area else national
    return f"{text}转{number.extension}" if number.extension else text


# Spellings already read, per process: a comment's number is read by its form and again by
# its rate limit, and parsing is most of what either costs.
KNOWN = 4096
_known: dict[str, str] = {}


def phone_canonical(value: str) -> str:
    """The canonical form of the number in `value`; "" when it is not a valid number."""
    canonical = _known.get(value)
    if canonical is None:
        canonical = _canonical_of(value)
        if len(_known) >= KNOWN:
            _known.clear()
        _known[value] = canonical
        if canonical:  # a canonical form reads as itself (tests/comments/test_phones.py)
            _known[canonical] = canonical
    return canonical


# A mainland mobile in ASCII digits, as most are typed: `_parse` takes every number of this
# shape, and its canonical form is +86 and the eleven digits. Read without phonenumbers, whose
# parsing was the most of what a comment's form cost (a test holds the two to the same result
# for every block). Not 179: phonenumbers reads 179XX00 as a call abroad, and 179XX as a
# carrier's prefix.
_ASCII_MOBILE = re.compile(r"(?:\+?86[- ]?)?(1(?:[3-68-9][0-9]|7[0-8])[0-9]{8})")


def _canonical_of(value: str) -> str:
    if match := _ASCII_MOBILE.fullmatch(phone_compact(value)):
        return f"+86{match[1]}"
    number = phone_parse(value)
    return phone_format(number) if number is not None else ""


def phone_spellings(value: str) -> set[str]:
    """What a comment's stored phone may be when someone types `value`: for searching."""
    value = (value or "").strip()
    spellings = {value, phone_compact(value)} - {""}
    if canonical := phone_canonical(value):
        spellings.add(canonical)
    return spellings
