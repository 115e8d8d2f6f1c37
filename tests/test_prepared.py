"""consult.prepared: the statements every comment runs are prepared once per PostgreSQL
connection and give what Django's own cursor gives; Django's other queries are never prepared;
with DATABASE_PREPARED_STATEMENTS off (or on SQLite) the cursor is Django's."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.consultations.models import Clause, consultation_without_texts
from consult.prepared import prepared_cursor
from consult.testing.weifang import load_weifang

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]

CONSULTATION_SELECT = '"consultations_consultation" WHERE "slug" = $1'
COMMENT_WRITE = 'WITH consult_parent AS (INSERT INTO "comments_comment"'


def prepared_statements() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return {row[0] for row in cursor.fetchall()}


def submit_three(consultation, clause):
    for n in range(3):
        comment_submit(
            consultation=consultation,
            clause=clause,
            body=f"第{n}条意见：建议明确牵头单位的完成时限。",
            channel="api",
            consent=True,
            email=f"prepared{n}@example.cn",
        )
        assert consultation_without_texts(consultation.slug).pk == consultation.pk


@pytest.fixture
def weifang():
    consultation = load_weifang()
    clause = Clause.objects.filter(consultation=consultation, responsibilities__isnull=False)
    return consultation, clause.order_by("pk").first()


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL prepares statements; SQLite's cursor is Django's own")
    connection.ensure_connection()


def test_a_comments_two_statements_are_prepared_and_nothing_else(postgresql, weifang):
    consultation, clause = weifang
    before = prepared_statements()
    submit_three(consultation, clause)
    new = prepared_statements() - before
    assert sorted(CONSULTATION_SELECT in s or s.startswith(COMMENT_WRITE) for s in new) == [
        True,
        True,
    ], new
    assert Comment.objects.filter(consultation=consultation).count() == 3
    # Django's queries are not even counted towards preparing them.
    assert connection.connection.prepare_threshold is None


def test_turned_off_nothing_is_prepared_and_the_values_go_in_the_text(
    postgresql, weifang, settings
):
    settings.DATABASE_PREPARED_STATEMENTS = False
    consultation, clause = weifang
    before = prepared_statements()
    with CaptureQueriesContext(connection) as queries:
        submit_three(consultation, clause)
    assert prepared_statements() == before
    lookups = [q["sql"] for q in queries if 'consultation" WHERE "slug" = ' in q["sql"]]
    assert lookups and all(f"'{consultation.slug}'" in sql for sql in lookups)  # client-bound
    assert Comment.objects.filter(consultation=consultation).count() == 3


def test_a_prepared_cursor_is_djangos_cursor_for_the_query_log_and_its_errors(weifang):
    consultation, _clause = weifang
    select = "SELECT slug FROM consultations_consultation WHERE id = %s"
    with CaptureQueriesContext(connection) as queries, prepared_cursor(connection) as cursor:
        cursor.execute(select, [consultation.pk])
        assert cursor.fetchone() == (consultation.slug,)
    # Logged (its parameter shown as PostgreSQL sees it, $1, where the server binds it).
    assert len(queries) == 1 and queries[0]["sql"].startswith(select.removesuffix("%s"))
    # A key taken: Django's exception, which the tracking number's retry catches.
    duplicate = "INSERT INTO consultations_consultation SELECT * FROM consultations_consultation"
    taken = pytest.raises(IntegrityError, match=r"(?i)unique|duplicate")
    with taken, prepared_cursor(connection) as cursor:
        cursor.execute(duplicate + " WHERE id = %s", [consultation.pk])


def test_the_comments_write_stays_short_enough_for_psycopgs_cache(postgresql, weifang):
    """psycopg parses a statement of more than MAX_CACHED_STATEMENT_LENGTH bytes anew on
    every execution (`_query2pg_nocache`): a few more columns would put the write back there."""
    consultation, clause = weifang
    seen = []

    def keep(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        submit_three(consultation, clause)
    writes = [sql for sql in seen if sql.startswith(COMMENT_WRITE)]
    assert writes
    limit = psycopg._queries.MAX_CACHED_STATEMENT_LENGTH
    assert all(len(sql.encode()) <= limit for sql in writes), [len(s.encode()) for s in writes]


@pytest.mark.parametrize(("value", "expected"), [(None, True), ("false", False), ("true", True)])
def test_the_environment_sets_it(value, expected):
    # As the README's table says: on unless DATABASE_PREPARED_STATEMENTS=false.
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_PREPARED_STATEMENTS"}
    env.update({"DEBUG": "false", "SECRET_KEY": "tests-only"})
    if value is not None:
        env["DATABASE_PREPARED_STATEMENTS"] = value
    code = "from consult import settings; print(settings.DATABASE_PREPARED_STATEMENTS)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(expected)
