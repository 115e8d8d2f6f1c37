"""Numbers read from a query string or a form, before they reach a query."""

BIGGEST_KEY = 2**63 - 1  # SQLite's integers, and PostgreSQL's bigint


def is_number(value) -> bool:
    """A primary key or revision number as the database can take it. str.isdigit alone would
    take "²", and a number no column holds fails the query (Django guards an exact lookup on
    an integer field against it, not `__in` or a foreign key); int() refuses over 4,300
    digits, so the length is checked first."""
    value = str(value or "")
    return (
        value.isascii()
        and value.isdigit()
        and len(value) <= len(str(BIGGEST_KEY))
        and int(value) <= BIGGEST_KEY
    )


# The last year whose drill-down Django can bound: it computes the end of a year, month or day
# outside its own check of the parameters, and datetime stops at 9999-12-31.
LAST_DRILLABLE_YEAR = 9998


# The date drill-down's parts, and the numbers each may be.
_DRILL_DOWN_RANGES = {"year": (1, LAST_DRILLABLE_YEAR), "month": (1, 12), "day": (1, 31)}


def lookup_value_usable(lookup: str, value, date_hierarchy: str | None = None) -> bool:
    """Whether an admin list's query-string value can reach the database without failing the
    page: PostgreSQL refuses NUL in any text and reads a regular expression it cannot compile
    as an error, and the date drill-down needs plain numbers in range (Django takes "+9999" and
    overflows on a month of ten digits)."""
    value = str(value)
    if "\x00" in value or lookup.endswith(("__regex", "__iregex")):
        return False
    if date_hierarchy and lookup.startswith(f"{date_hierarchy}__"):
        part = lookup.removeprefix(f"{date_hierarchy}__")
        if part in _DRILL_DOWN_RANGES:
            least, most = _DRILL_DOWN_RANGES[part]
            return is_number(value) and least <= int(value) <= most
    return True


class UsableLookupValues:
    """A ModelAdmin mixin: a list filter's value that would fail the query is a 400
    (`DisallowedModelAdminLookup`), as an unknown parameter is, not a 500."""

    def lookup_allowed(self, lookup, value, request=None):
        return lookup_value_usable(lookup, value, self.date_hierarchy) and super().lookup_allowed(
            lookup, value, request
        )
