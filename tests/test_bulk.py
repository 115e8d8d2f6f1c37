"""consult.bulk: rows_insert, values_insert and rows_insert_with store the rows bulk_create
would store."""

import contextlib
import datetime
import zoneinfo

import pytest
from django.db import IntegrityError, connection, models, transaction
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from consult.bulk import (
    PARENT_KEY,
    Dependents,
    _shape,
    _statement,
    rows_insert,
    rows_insert_with,
    values_insert,
)
from consult.comments.models import Comment, CommentRouting
from consult.comments.tallies import consultation_tallies, tally_statement
from consult.consultations.models import Department
from consult.notifications.models import Notification, OutgoingEmail
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


@pytest.mark.parametrize("model", [Comment, CommentRouting, Notification, OutgoingEmail])
def test_every_model_it_stores_is_one_it_can_store(model):
    # On every database, so that a column it cannot take fails here and not on the comment
    # path on PostgreSQL only.
    assert "RETURNING" in _statement(model, "default")
    fields, _converters, _definitions = _shape(model, "default")
    assert len(fields) == len(model._meta.concrete_fields) - 1


def test_a_db_default_is_refused():
    class WithDbDefault(models.Model):
        count = models.IntegerField(db_default=0)

        class Meta:
            app_label = "comments"
            managed = False

    with pytest.raises(TypeError, match="db_default"):
        _statement(WithDbDefault, "default")


def test_a_naive_datetime_is_read_in_the_site_time_zone_as_the_orm_reads_it():
    consultation = load_weifang(slug="bulk-naive")
    naive = datetime.datetime(2031, 3, 4, 5, 6, 7)
    [ours, theirs] = comments(consultation, None, 2)
    theirs.tracking_number = "B000000001"
    ours.submitted_at = theirs.submitted_at = naive
    with pytest.warns(RuntimeWarning):
        Comment.objects.bulk_create([theirs])
    with pytest.warns(Warning, match="naive"):  # its own on PostgreSQL, Django's elsewhere
        rows_insert(Comment, [ours])
    expected = naive.replace(tzinfo=SHANGHAI)
    assert Comment.objects.get(pk=theirs.pk).submitted_at == expected
    assert Comment.objects.get(pk=ours.pk).submitted_at == expected


def test_a_saved_row_or_an_unsaved_relation_is_refused():
    consultation = load_weifang(slug="bulk-refused")
    [comment] = rows_insert(Comment, comments(consultation, None, 1))
    with pytest.raises(ValueError, match="primary key"):
        rows_insert(Comment, [comment])
    unsaved = comments(consultation, None, 1)[0]
    routing = CommentRouting(comment=unsaved, department=consultation.issuer, role="lead")
    with pytest.raises(ValueError, match="unsaved"):
        rows_insert(CommentRouting, [routing])


def test_rows_given_as_values_are_stored_as_the_model_would_store_them():
    consultation = load_weifang(slug="bulk-values")
    comment = rows_insert(Comment, comments(consultation, None, 1))[0]
    context = {"names": [AWKWARD], "n": 1}
    given = {
        "kind": Notification.Kind.RECEIPT,
        "to": [AWKWARD],
        "consultation_id": consultation.pk,
        "comment_id": comment.pk,
        "context": context,
        "due_at": comment.submitted_at,
    }
    before = datetime.datetime.now(datetime.UTC)
    with CaptureQueriesContext(connection) as queries:
        keys = values_insert(Notification, [{**given, "key": "v:0"}, {**given, "key": "v:1"}])
    assert len(queries) == 1
    reference = Notification.objects.create(**given, key="v:2")
    for key in keys:
        mine = stored(Notification, key)
        theirs = stored(Notification, reference.pk)
        assert {**mine, "key": None} == {**theirs, "key": None}
        assert mine["department"] is None and mine["status"] == Notification.Status.PENDING
        # Left out: auto_now_add takes the moment of the insert, as save() gives it.
        assert Notification.objects.get(pk=key).created_at >= before
    assert [Notification.objects.get(pk=k).key for k in keys] == ["v:0", "v:1"]


def test_values_naming_no_column_are_refused_before_anything_is_stored():
    with CaptureQueriesContext(connection) as queries, pytest.raises(TypeError, match="department"):
        values_insert(CommentRouting, [{"comment_id": 1, "department": 2}])
    assert not queries
    assert values_insert(CommentRouting, []) == []


def test_each_key_returned_is_its_own_rows_however_many_rows():
    consultation = load_weifang(slug="bulk-many")
    rows = [
        {"kind": Notification.Kind.RECEIPT, "key": f"many:{n}", "to": [], "due_at": moment}
        for n, moment in enumerate([consultation.created_at] * 300)
    ]
    keys = values_insert(Notification, rows)
    stored_keys = dict(Notification.objects.filter(pk__in=keys).values_list("pk", "key"))
    assert [stored_keys[pk] for pk in keys] == [row["key"] for row in rows]


def test_a_key_not_drawn_from_a_sequence_is_refused():
    class WithTextKey(models.Model):
        code = models.CharField(primary_key=True, max_length=5)

        class Meta:
            app_label = "comments"
            managed = False

    with pytest.raises(TypeError, match="sequence"):
        _statement(WithTextKey, "default")


def test_an_auto_now_add_column_is_the_moment_of_the_insert_even_when_given():
    # As save() and bulk_create make it, on every database alike.
    long_ago = datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC)
    before = datetime.datetime.now(datetime.UTC)
    (key,) = values_insert(
        Notification,
        [{"kind": "receipt", "key": "stamped", "to": [], "due_at": before, "created_at": long_ago}],
    )
    assert Notification.objects.get(pk=key).created_at >= before


def _family(consultation, comment, departments, key_prefix):
    routes = [
        {"department_id": department.pk, "role": "lead", "position": n, "created_at": moment}
        for n, (department, moment) in enumerate(
            (department, comment.submitted_at) for department in departments
        )
    ]
    notifications = [
        {
            "kind": Notification.Kind.COMMENT_ROUTED,
            "key": f"{key_prefix}:{PARENT_KEY}:{department.pk}",
            "to": [AWKWARD],
            "department_id": department.pk,
            "consultation_id": consultation.pk,
            "context": {"n": n, "text": AWKWARD},
            "due_at": comment.submitted_at,
        }
        for n, department in enumerate(departments)
    ]
    return [
        Dependents(CommentRouting, routes, "comment_id"),
        Dependents(Notification, notifications, "comment_id", keyed=("key",)),
    ]


def test_a_row_with_the_rows_that_belong_to_it_and_a_statement_in_one_go():
    consultation = load_weifang(slug="bulk-with")
    clause = consultation.clauses.order_by("path").last()
    departments = list(
        Department.objects.filter(responsibilities__clause__consultation=consultation)
        .distinct()
        .order_by("pk")[:3]
    )
    assert len(departments) == 3
    (comment,), (reference,) = comments(consultation, clause, 1), comments(consultation, clause, 1)
    reference.tracking_number = "R" + reference.tracking_number[1:]
    before = consultation_tallies(consultation.pk).by_clause.get(clause.pk, 0)

    with CaptureQueriesContext(connection) as queries:
        route_keys, notification_keys = rows_insert_with(
            comment,
            _family(consultation, comment, departments, "with"),
            [tally_statement(consultation_id=consultation.pk, clause_id=clause.pk, delta=1)],
        )
    # The rows as the one-table inserts store them, each in its own statement.
    Comment.objects.bulk_create([reference])
    ((routes, notifications),) = [_family(consultation, reference, departments, "ref")]
    reference_routes = values_insert(
        CommentRouting, [{**row, "comment_id": reference.pk} for row in routes.rows]
    )
    reference_notifications = values_insert(
        Notification,
        [
            {**row, "comment_id": reference.pk, "key": row["key"].replace(PARENT_KEY, "x")}
            for row in notifications.rows
        ],
    )

    if connection.vendor == "postgresql":
        assert len(queries) == 1  # one round trip for four tables
    assert comment.pk is not None and not comment._state.adding
    assert stored(Comment, comment.pk) == stored(Comment, reference.pk)
    assert Comment.objects.get(pk=comment.pk).tracking_number == comment.tracking_number
    assert len(route_keys) == len(notification_keys) == 3
    assert route_keys == sorted(route_keys) and notification_keys == sorted(notification_keys)
    for mine, theirs in zip(route_keys, reference_routes, strict=True):
        assert stored(CommentRouting, mine) == {
            **stored(CommentRouting, theirs),
            "comment": comment.pk,
        }
    for mine, theirs, department in zip(
        notification_keys, reference_notifications, departments, strict=True
    ):
        row = stored(Notification, mine)
        # Each key holds the new row's own key where the rows said PARENT_KEY.
        assert row["key"] == f"with:{comment.pk}:{department.pk}"
        assert {**row, "key": None, "created_at": None} == {
            **stored(Notification, theirs),
            "comment": comment.pk,
            "key": None,
            "created_at": None,
        }
    assert consultation_tallies(consultation.pk).by_clause[clause.pk] == before + 1


def test_rows_insert_with_nothing_belonging_stores_the_row_alone():
    consultation = load_weifang(slug="bulk-with-alone")
    (comment,) = comments(consultation, None, 1)
    assert rows_insert_with(comment, [Dependents(CommentRouting, [], "comment_id")]) == [[]]
    assert Comment.objects.filter(pk=comment.pk).exists()
    assert not CommentRouting.objects.filter(comment_id=comment.pk).exists()


@pytest.mark.django_db(transaction=True)  # in autocommit too: all or nothing by itself
@pytest.mark.parametrize("in_a_transaction", [False, True])
def test_rows_insert_with_a_failing_part_stores_nothing(in_a_transaction):
    consultation = load_weifang(slug="bulk-with-fails")
    department = consultation.issuer
    (comment,) = comments(consultation, None, 1)
    Notification.objects.create(kind="receipt", key="taken", to=[], due_at=comment.submitted_at)
    family = _family(consultation, comment, [department], "fails")
    family[1].rows.append({**family[1].rows[0], "key": "taken"})
    outer = transaction.atomic() if in_a_transaction else contextlib.nullcontext()
    with pytest.raises(IntegrityError), outer:
        rows_insert_with(comment, family)
    assert not Comment.objects.filter(tracking_number=comment.tracking_number).exists()
    assert not Notification.objects.filter(key__startswith="fails:").exists()


def test_rows_insert_with_refuses_an_unknown_column_or_a_saved_row_before_any_sql():
    consultation = load_weifang(slug="bulk-with-refused")
    (comment,) = comments(consultation, None, 1)
    with CaptureQueriesContext(connection) as queries:
        with pytest.raises(TypeError, match="department"):
            rows_insert_with(
                comment, [Dependents(CommentRouting, [{"department": 1}], "comment_id")]
            )
        comment.pk = 1
        with pytest.raises(ValueError, match="primary key"):
            rows_insert_with(comment, [])
    assert not queries
