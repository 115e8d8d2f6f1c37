"""Rates as operators write them ("5/m", "50/d", "1/10s"): plain Python, so that settings can
refuse a mistyped one at start-up instead of every request failing on it."""

import re

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_parse(rate: str) -> tuple[int, int]:
    """The count and seconds of a rate: "5/m" is (5, 60); "1/10s" and "50/d" work too."""
    match = _RATE.match(rate)
    if match is None or int(match.group(2) or 1) == 0:
        raise ValueError(f"a rate is count/period, e.g. 5/m or 50/d; not {rate!r}")
    count, multiple, unit = match.groups()
    return int(count), int(multiple or 1) * _UNIT_SECONDS[unit]
