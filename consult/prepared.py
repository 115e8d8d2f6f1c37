"""Statements the request of a comment runs every time, prepared by PostgreSQL once per
connection.

Django's psycopg cursors bind parameters on the client (its default), so PostgreSQL parses and
plans every statement anew: for a comment's one write that was half of PostgreSQL's CPU per
comment (3.0 ms, 1.5 ms prepared; bench/intake.py reports it). A `prepared_cursor` binds on the
server, and psycopg prepares each statement it has run `prepare_threshold` times on that
connection (the DATABASES option, set from DATABASE_PREPARED_STATEMENTS). Django's own cursors
still never prepare: poolers that cannot keep prepared statements (PgBouncer in transaction
mode before 1.21, or without `max_prepared_statements`) need that setting off, which makes this
cursor Django's.
"""

from contextlib import contextmanager


@contextmanager
def prepared_cursor(connection):
    """A cursor of Django's (its errors, its query log and execute wrappers) whose statements
    PostgreSQL prepares when the connection prepares any; elsewhere, Django's cursor."""
    with connection.cursor() as cursor:
        if getattr(connection.connection, "prepare_threshold", None) is None:
            yield cursor
            return
        from django.db.backends.postgresql.base import ServerBindingCursor

        with type(cursor)(ServerBindingCursor(connection.connection), connection) as binding:
            yield binding
