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
