"""Statements the request of a comment runs every time, prepared by PostgreSQL once per
connection.

Django's psycopg cursors bind parameters on the client (its default), so PostgreSQL parses and
plans every statement anew: for a comment's one write that was half of PostgreSQL's CPU per
comment (3.0 ms, 1.5 ms prepared; bench/intake.py reports it). A `prepared_cursor` binds on the
server and has psycopg prepare what it runs, the first time on each connection. Nothing else
is prepared or even counted (the connection's `prepare_threshold` stays None, Django's
default): Django's own queries are not kept, and poolers see them as before.

DATABASE_PREPARED_STATEMENTS=false makes it Django's cursor: for a pooler that cannot keep
prepared statements, or connections that live one request (CONN_MAX_AGE=0), where preparing
would cost a round trip and save nothing.
"""

from contextlib import contextmanager
from functools import cache

from django.conf import settings


@contextmanager
def prepared_cursor(connection):
    """Django's cursor (its health check, time zone, errors, query log and execute wrappers),
    binding on the server and preparing its statements where the database is PostgreSQL."""
    if connection.vendor != "postgresql" or not settings.DATABASE_PREPARED_STATEMENTS:
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    raw = connection.connection
    factory, threshold = raw.cursor_factory, raw.prepare_threshold
    # Django makes its cursors with the connection's factory; a connection its health check
    # replaces has Django's factory and gives an unprepared cursor, once.
    raw.cursor_factory = _preparing_cursor()
    try:
        cursor = connection.cursor()
    finally:
        raw.cursor_factory = factory
    raw.prepare_threshold = 0  # prepared from the first run: only these statements come here
    try:
        with cursor:
            yield cursor
    finally:
        raw.prepare_threshold = threshold


@cache
def _preparing_cursor():
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        # psycopg keeps the statement it ran, which Django's query log reads, only when it
        # does not prepare it.
        def _send_query_prepared(self, name, pgq, **options):
            self._query = pgq
            return super()._send_query_prepared(name, pgq, **options)

    return PreparingCursor
