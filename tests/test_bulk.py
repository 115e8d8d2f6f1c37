"""consult.bulk.rows_insert: the rows it stores are the ones bulk_create would store."""

import datetime
import zoneinfo

import pytest
from django.db import connection, models
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from consult.bulk import _statement, rows_insert
from consult.comments.models import Comment, CommentRouting
from consult.notifications.models import Notification
from consult.testing.weifang import load_weifang

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# Text that quoting gets wrong if anything does: quotes, backslashes, JSON's own syntax, a
# percent sign (the driver's placeholder), newlines, CJK and an emoji outside the BMP.
AWKWARD = "他说：\"建议\" 'O''Brien' \\n 反斜杠\\ %s %(x)s {\"a\": [1]}\n第二行\t𠀀🙂"


def stored(model, pk):
    row = model_to_dict(model.objects.get(pk=pk))
    row.pop("id", None)
    return row


def comments(consultation, clause, count):
    # Microseconds and a non-local offset: each must come back as the same instant.
    moment = datetime.datetime(2031, 3, 4, 5, 6, 7, 891011, tzinfo=datetime.UTC)
    return [
        Comment(
            consultation=consultation,
            clause=clause if n % 2 else None,
            tracking_number=f"T{n:09d}",
            body=AWKWARD + str(n),
            body_digest="d" * 64,
            submitter_name=AWKWARD[:50],
            phone="13800138000",
            email=f"a{n}@example.cn",
            wants_reply=bool(n % 2),
            consent=True,
            consent_at=moment,
            submitted_at=moment.astimezone(SHANGHAI) + datetime.timedelta(seconds=n),
        )
        for n in range(count)
    ]


def test_rows_come_back_as_bulk_create_stores_them():
    consultation = load_weifang(slug="bulk-insert")
    clause = consultation.clauses.order_by("path").last()
    ours = comments(consultation, clause, 3)
    theirs = comments(consultation, clause, 3)
    for comment in theirs:
        comment.tracking_number = "B" + comment.tracking_number[1:]
    with CaptureQueriesContext(connection) as queries:
        returned = rows_insert(Comment, ours)
    Comment.objects.bulk_create(theirs)

    assert returned is ours
    assert len(queries) == 1
    if connection.vendor == "postgresql":
        assert "jsonb_to_recordset" in queries[0]["sql"]
    assert [c.pk for c in ours] == sorted(c.pk for c in ours)  # in the order given
    for mine, reference in zip(ours, theirs, strict=True):
        assert not mine._state.adding
        assert stored(Comment, mine.pk) == stored(Comment, reference.pk)
        fresh = Comment.objects.get(pk=mine.pk)
        assert (fresh.tracking_number, fresh.submitted_at, fresh.consent_at) == (
            mine.tracking_number,
            mine.submitted_at,
            mine.consent_at,
        )


def test_json_and_foreign_keys_and_defaults():
    consultation = load_weifang(slug="bulk-json")
    department = consultation.issuer
    comment = rows_insert(Comment, comments(consultation, None, 1))[0]
    context = {"names": [AWKWARD, "市海洋发展局"], "nested": {"n": 1, "ok": True, "none": None}}
    notifications = [
        Notification(
            kind=Notification.Kind.COMMENT_ROUTED,
            key=f"bulk:{n}",
            to=["a@example.cn", AWKWARD],
            department=department if n else None,
            consultation=consultation,
            comment=comment,
            context=context,
            due_at=comment.submitted_at,
        )
        for n in range(2)
    ]
    rows_insert(Notification, notifications)
    for notification in notifications:
        fresh = Notification.objects.get(pk=notification.pk)
        assert fresh.context == context
        assert fresh.to == ["a@example.cn", AWKWARD]
        assert fresh.created_at is not None  # auto_now_add, as save() would set it
        assert fresh.due_at == comment.submitted_at
    assert Notification.objects.get(key="bulk:0").department_id is None
    assert Notification.objects.get(key="bulk:1").department_id == department.pk


def test_nothing_to_insert_runs_nothing():
    with CaptureQueriesContext(connection) as queries:
        assert rows_insert(CommentRouting, []) == []
    assert not queries


def test_an_unsupported_column_type_fails_before_storing_anything():
    class WithDecimal(models.Model):
        amount = models.DecimalField(max_digits=5, decimal_places=2)

        class Meta:
            app_label = "comments"
            managed = False

    with pytest.raises(TypeError, match="DecimalField"):
        _statement(WithDecimal, "default")
