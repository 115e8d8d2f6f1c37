"""Tracking numbers (回执编号): short, random, unique, and easy to read aloud or copy by hand."""

import re
import secrets
import unicodedata

# No 0/O, 1/I/L, or 5/S and 2/Z pairs that people confuse on a phone screen or in handwriting.
ALPHABET = "3456789ABCDEFGHJKMNPQRTUVWXY"
LENGTH = 10

_separators = re.compile(r"[\s\-_·\u2010-\u2015\u2212\u30fb]+")


def new_tracking_number() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise_tracking_number(value: str) -> str:
    """What a person typed, as stored: upper case, without spaces or dashes, full-width
    letters and digits (a Chinese keyboard's) made plain."""
    return _separators.sub("", unicodedata.normalize("NFKC", value or "")).upper()


def is_well_formed(value: str) -> bool:
    return len(value) == LENGTH and all(ch in ALPHABET for ch in value)
