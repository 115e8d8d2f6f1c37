"""Masking personal data for everybody who does not need to see it in full."""

import re

from .phones import LANDLINE, MOBILE, area_code_length, phone_compact, phone_parse


def mask_phone(phone: str) -> str:
    """138****5678 for a mobile, 0536-****688 for a landline; other forms keep the last 3.

    Reads any spelling: the canonical +8613812345678 as well as 138-1234-5678.
    """
    value = (phone or "").strip()
    if not value:
        return ""
    number = phone_parse(value)
    if number is not None and number.country_code == 86:
        national = str(number.national_number)
        if MOBILE.match(national):
            return f"{national[:3]}****{national[-4:]}"
        # The area code's length comes from the numbering plan (010, 0536), not a pattern.
        if area := area_code_length(number):
            return f"0{national[:area]}-****{national[-3:]}"
    compact = phone_compact(value)
    if match := MOBILE.match(compact):
        return f"{match[1]}****{match[3]}"
    if match := LANDLINE.match(compact):
        return f"{match[1]}-****{match[3]}"
    digits = re.sub(r"\D", "", compact)
    return f"****{digits[-3:]}" if len(digits) > 3 else "****"


def mask_email(email: str) -> str:
    """d***@example.cn: enough to recognise one's own address, not to harvest it."""
    local, at, domain = (email or "").partition("@")
    if not at:
        return "***" if email else ""
    return f"{local[:1]}***@{domain}"


def mask_name(name: str) -> str:
    """张*, 丁*楠, J*** Smith-like forms: the first character and, for longer names, the last."""
    value = (name or "").strip()
    if len(value) <= 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def phone_last_digits(phone: str, count: int = 4) -> str:
    """The number's last digits, its extension left out (+865368123688;ext=12: 3688)."""
    number = phone_parse(phone)
    digits = str(number.national_number) if number is not None else phone or ""
    return re.sub(r"\D", "", digits)[-count:]
