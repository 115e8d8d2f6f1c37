"""What an export relies on around it: the directory its file is built in, and how it reads
the comments (no server-side cursor that a connection pooler could lose between fetches)."""

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consult.comments.exports import export_rows
from consult.comments.models import Comment, Export
from consult.comments.services import comment_submit

pytestmark = pytest.mark.django_db

QUEUE = "/admin/comments/comment/"


@pytest.fixture
def comments(weifang_open):
    def submit(label, n):
        return comment_submit(
            consultation=weifang_open,
            clause=weifang_open.clauses.get(label=label),
            body=f"建议{n}：公开补贴标准。",
            channel="web",
            consent=True,
            phone=f"1371234{n:04d}",
            email=f"p{n}@example.cn",
            submitter_name="孙八",
        ).comment

    return [submit("二(四)2", 1), submit("二(四)2", 2), submit("二(三)4", 3)]


def export(client, comments, action):
    return client.post(
        QUEUE + "?scope=all", {"action": action, "_selected_action": [c.pk for c in comments]}
    )


def test_a_large_export_is_built_on_a_machine_where_var_dir_was_never_created(
    client, comments, settings, tmp_path, django_capture_on_commit_callbacks
):
    """Only `make run` creates var/; a production machine set up without it must still build
    large exports. EXPORT_INLINE_ROWS is 1 so that three comments make a large export: it is
    then built by the task (run in-process in tests), in VAR_DIR, not inside the request."""
    settings.VAR_DIR = tmp_path / "absent"
    settings.EXPORT_INLINE_ROWS = 1
    client.force_login(User.objects.create_superuser("root", password="pw"))
    with django_capture_on_commit_callbacks(execute=True):
        response = export(client, comments, "export_csv")
    assert response.status_code == 302
    job = Export.objects.get()
    assert (job.status, job.error, job.total) == ("done", "", 3)
    with job.file.open("rb") as handle:
        rows = list(csv.reader(io.StringIO(handle.read().decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == [c.tracking_number for c in comments]


def _named_cursors(statements):
    def record(execute, sql, params, many, context):
        # A server-side cursor is a named one (psycopg's ServerCursor); a client's has no name.
        if getattr(context["cursor"].cursor, "name", None):
            statements.append(sql)
        return execute(sql, params, many, context)

    return connection.execute_wrapper(record)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no server-side cursors")
def test_the_admin_export_reads_through_no_server_side_cursor(client, comments):
    """Behind PgBouncer in transaction mode, a server-side cursor held between fetches
    outside a transaction may be looked for on another server connection, where it does not
    exist: the inline export must read with plain statements only."""
    client.force_login(User.objects.create_superuser("root", password="pw"))
    named = []
    with _named_cursors(named), CaptureQueriesContext(connection) as queries:
        response = export(client, comments, "export_csv")
    assert response.status_code == 200
    assert any('FROM "comments_comment"' in query["sql"] for query in queries)
    assert named == []


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_the_comments_are_read_a_chunk_per_statement_each_once_in_order(comments, chunk):
    """Every comment once, in primary-key order, across chunk boundaries (3 rows in chunks of
    3 included); each chunk is a statement of its own, so nothing is left open between
    them."""
    user = User.objects.create_superuser("root", password="pw")
    named = []
    with _named_cursors(named), CaptureQueriesContext(connection) as queries:
        rows = list(export_rows(Comment.objects.all(), True, user, chunk=chunk))
    expected = Comment.objects.order_by("pk").values_list("tracking_number", flat=True)
    assert [row[0] for row in rows[1:]] == list(expected)
    reads = [
        q
        for q in queries
        if q["sql"].startswith("SELECT") and 'FROM "comments_comment"' in q["sql"]
    ]
    assert len(reads) == len(comments) // chunk + 1  # the last one finds fewer than `chunk`
    assert named == []
