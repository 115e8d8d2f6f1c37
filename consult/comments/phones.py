"""What a Chinese phone number looks like: one definition for validation and for masking."""

import re

# Mainland mobile (with or without +86): 138 1234 5678.
MOBILE = re.compile(r"^(?:\+?86[- ]?)?(1[3-9]\d)(\d{4})(\d{4})$")
# A landline with its area code and an optional extension: 0536-812 3688-12.
LANDLINE = re.compile(r"^(0\d{2,3})[- ]?(\d{4,5})(\d{3})(?:-\d{1,6})?$")


def phone_compact(value: str) -> str:
    """Without spaces and brackets, full-width dashes made plain: the form both patterns read."""
    return re.sub(r"[\s()（）]", "", value or "").replace("－", "-").replace("—", "-")
