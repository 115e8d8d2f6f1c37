"""Masking personal data for everybody who does not need to see it in full."""

import re

from .phones import LANDLINE, MOBILE, phone_compact


def mask_phone(phone: str) -> str:
    """138****5678 for a mobile, 0536-****688 for a landline; other forms keep the last 3."""
    value = (phone or "").strip()
    if not value:
        return ""
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
    return re.sub(r"\D", "", phone or "")[-count:]
