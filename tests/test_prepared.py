"""consult.prepared: the statements every comment runs are prepared once per PostgreSQL
connection, give what Django's own cursor gives, and are Django's cursor where preparing is
off (other databases, or DATABASE_PREPARED_STATEMENTS=false for a pooler)."""

import json
import os
import subprocess
import sys

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.consultations.models import Clause, consultation_without_texts
from consult.prepared import prepared_cursor
from consult.testing.weifang import load_weifang

pytestmark = pytest.mark.django_db


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


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


@pytest.fixture
def weifang():
    consultation = load_weifang()
    clause = Clause.objects.filter(consultation=consultation, responsibilities__isnull=False)
    return consultation, clause.order_by("pk").first()


def test_a_comments_statements_are_prepared_on_postgresql(weifang):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL prepares statements; SQLite's cursor is Django's own")
    consultation, clause = weifang
    connection.ensure_connection()
    assert connection.connection.prepare_threshold is not None, "the settings prepare them"
    for _ in range(3):
        assert consultation_without_texts(consultation.slug).pk == consultation.pk
    submit_three(consultation, clause)
    statements = prepared_statements()
    assert any('"consultations_consultation" WHERE "slug" = $1' in s for s in statements)
    assert any(
        s.startswith('WITH consult_parent AS (INSERT INTO "comments_comment"') for s in statements
    )
    assert Comment.objects.filter(consultation=consultation).count() == 3
    # Django's own queries stay unprepared, as poolers and migrations expect of them.
    assert not any("pg_prepared_statements" in s for s in statements)


def test_a_prepared_cursor_is_djangos_cursor_for_the_query_log_and_its_errors(weifang):
    consultation, _clause = weifang
    select = "SELECT slug FROM consultations_consultation WHERE id = %s"
    with CaptureQueriesContext(connection) as queries, prepared_cursor(connection) as cursor:
        cursor.execute(select, [consultation.pk])
        assert cursor.fetchone() == (consultation.slug,)
    # Logged (its parameter shown as PostgreSQL sees it, $1, where the server binds it).
    assert len(queries) == 1 and queries[0]["sql"].startswith(select.removesuffix("%s"))
    # Django's exception, which the tracking number's retry catches.
    duplicate = "INSERT INTO consultations_consultation (id) VALUES (%s)"
    with pytest.raises(IntegrityError), prepared_cursor(connection) as cursor:
        cursor.execute(duplicate, [consultation.pk])


def test_without_a_threshold_nothing_is_prepared(weifang):
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL prepares")
    consultation, clause = weifang
    connection.ensure_connection()
    before = set(prepared_statements())
    connection.connection.prepare_threshold = None
    try:
        submit_three(consultation, clause)
        for _ in range(3):
            consultation_without_texts(consultation.slug)
        assert set(prepared_statements()) == before
        assert Comment.objects.filter(consultation=consultation).count() == 3
    finally:
        connection.connection.prepare_threshold = 2


@pytest.mark.parametrize(("value", "threshold"), [(None, 2), ("false", None), ("true", 2)])
def test_database_prepared_statements_sets_the_threshold(value, threshold):
    environment = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "test-only-" + "x" * 50,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
    }
    environment.pop("DATABASE_PREPARED_STATEMENTS", None)
    if value is not None:
        environment["DATABASE_PREPARED_STATEMENTS"] = value
    code = (
        "import json, consult.settings as s;"
        " print(json.dumps(s.DATABASES['default'].get('OPTIONS', {}).get('prepare_threshold')))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(output) == threshold
