"""The public comment counts: kept with the comments, never counted on a page view."""

import contextlib
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Q
from django.test.utils import CaptureQueriesContext

from consult.comments.models import Comment, CommentTally
from consult.comments.services import comment_submit
from consult.comments.tallies import tallies_of, tallies_rebuild
from consult.comments.workflow import CommentChange, comment_change_apply
from consult.consultations.models import Department, Membership
from consult.testing.weifang import load_weifang


def submit(consultation, label, n):
    return comment_submit(
        consultation=consultation,
        clause=consultation.clauses.get(label=label) if label else None,
        body=f"第{n}条意见：建议明确集聚区的评价指标，并公开评选结果。",
        channel="web",
        consent=True,
    ).comment


def counted(consultation):
    """What the tallies should say, counted from the comments themselves."""
    rows = (
        Comment.objects.filter(consultation=consultation)
        .values("clause_id")
        .annotate(n=Count("pk", filter=~Q(status="invalid")))
    )
    by_clause = {row["clause_id"]: row["n"] for row in rows if row["n"]}
    return by_clause, sum(by_clause.values())


def nonzero(tallies):
    by_clause, total = tallies
    return {key: n for key, n in by_clause.items() if n}, total


@pytest.mark.django_db
def test_counts_follow_submissions_and_invalid_marks(weifang_open, client):
    coordinator = get_user_model().objects.create_user("hyj", is_staff=True)
    Membership.objects.create(user=coordinator, department=Department.objects.get(name="市海渔局"))
    comments = [
        submit(weifang_open, label, n)
        for n, label in enumerate(["二(三)4", "二(三)4", "二(三)4", "二(一)1", "二(一)1", None])
    ]
    a, b = weifang_open.clauses.get(label="二(三)4"), weifang_open.clauses.get(label="二(一)1")
    assert nonzero(tallies_of(weifang_open.pk)) == ({a.pk: 3, b.pk: 2, None: 1}, 6)

    comment_change_apply(
        comments[0], coordinator, CommentChange(status="invalid", invalid_reason="与本草案无关。")
    )
    assert nonzero(tallies_of(weifang_open.pk)) == ({a.pk: 2, b.pk: 2, None: 1}, 5)
    assert nonzero(tallies_of(weifang_open.pk)) == counted(weifang_open)

    comment_change_apply(comments[0], coordinator, CommentChange(status="pending"))
    assert nonzero(tallies_of(weifang_open.pk)) == ({a.pk: 3, b.pk: 2, None: 1}, 6)

    # What the pages show is what the tallies say.
    detail = weifang_open.get_absolute_url()
    api = f"/api/consultations/{weifang_open.slug}/"
    assert client.get(api).json()["comment_count"] == 6
    assert client.get(detail).context["comment_total"] == 6

    # A rebuild from the comments finds the same numbers.
    before = nonzero(tallies_of(weifang_open.pk))
    tallies_rebuild([weifang_open.pk])
    assert nonzero(tallies_of(weifang_open.pk)) == before


@pytest.mark.django_db
def test_the_public_pages_never_count_comments(weifang_open, client):
    for n in range(3):
        submit(weifang_open, "二(三)4", n)
    for url in (weifang_open.get_absolute_url(), f"/api/consultations/{weifang_open.slug}/"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        touching = [q["sql"] for q in queries if '"comments_comment"' in q["sql"]]
        assert touching == [], url


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_on_one_clause_are_each_counted_once():
    weifang = load_weifang(slug="weifang-tally-race")
    start = threading.Barrier(6)
    errors = []

    def run(worker):
        try:
            start.wait()
            for n in range(5):
                submit(weifang, "二(三)4", worker * 10 + n)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert nonzero(tallies_of(weifang.pk)) == counted(weifang)
    assert counted(weifang)[1] == 30
    assert CommentTally.objects.filter(consultation=weifang).count() > 1  # spread over slots


@pytest.mark.django_db(transaction=True)
def test_two_comments_moved_opposite_ways_at_once_are_both_moved(monkeypatch):
    """A move from 二(三)4 to 二(四)2 beside one from 二(四)2 to 二(三)4, on the same slot (one
    chance in eight each): each updated its old clause's row first, then waited for the
    other's, and PostgreSQL ended one move with a deadlock (a 500 for its member of staff)."""
    import random

    from consult.comments import references
    from consult.comments.references import comment_move_to_clause
    from consult.testing.services import unavailable

    if connection.vendor != "postgresql":
        unavailable("PostgreSQL is needed: SQLite locks the whole database instead")
    weifang = load_weifang(slug="weifang-opposite-moves")
    root = get_user_model().objects.create_superuser("root", "root@example.cn", "pw")
    one, other = submit(weifang, "二(三)4", 1), submit(weifang, "二(四)2", 2)
    monkeypatch.setattr(random, "randrange", lambda slots: 0)
    # Each move, its first row updated, waits (a while at most) for the other to update its
    # own first row: the moment they deadlocked.
    both_started = threading.Barrier(2, timeout=3)
    first_row_updated = threading.local()
    tally_add = references.tally_add

    def tally_add_then_wait(**change):
        tally_add(**change)
        if not getattr(first_row_updated, "done", False):
            first_row_updated.done = True
            # Broken: the other waits for this row, so go on.
            with contextlib.suppress(threading.BrokenBarrierError):
                both_started.wait()

    monkeypatch.setattr(references, "tally_add", tally_add_then_wait)
    errors = []

    def move(comment, label):
        try:
            comment_move_to_clause(comment, weifang.clauses.get(label=label), by=root)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=move, args=(one, "二(四)2")),
        threading.Thread(target=move, args=(other, "二(三)4")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert Comment.objects.get(pk=one.pk).clause.label == "二(四)2"
    assert Comment.objects.get(pk=other.pk).clause.label == "二(三)4"
    assert nonzero(tallies_of(weifang.pk)) == counted(weifang)
