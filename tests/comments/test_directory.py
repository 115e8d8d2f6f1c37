"""What a comment needs to know of its consultation is asked of the database once per change:
the directory a process keeps follows every change to clauses, responsibilities, departments
and mailboxes, and a comment's request costs only the statements that store it."""

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from consult.comments.directory import directory_of
from consult.comments.services import comment_submit
from consult.consultations.directory import directory_changes_batched
from consult.consultations.models import ClauseResponsibility, Consultation, Department, Mailbox
from consult.consultations.services import departments_load
from consult.notifications.models import Notification
from consult.testing.weifang import load_weifang

pytestmark = pytest.mark.django_db


def submit(consultation, label, n=0):
    return comment_submit(
        consultation=Consultation.objects.get(pk=consultation.pk),  # as a request reads it
        clause=consultation.clauses.get(label=label),
        body=f"第{n}条意见：建议明确集聚区的评价指标，并公开评选结果。",
        channel="web",
        consent=True,
    ).comment


def routed_names(comment):
    return [route.department.name for route in comment.routes.order_by("position")]


def test_a_new_responsibility_routes_the_next_comment(weifang_open):
    before = submit(weifang_open, "二(三)4", 1)
    assert "市商务局" not in routed_names(before)
    clause = weifang_open.clauses.get(label="二(三)4")
    ClauseResponsibility.objects.create(
        clause=clause,
        position=9,
        role=ClauseResponsibility.Role.COOPERATING,
        name="市商务局",
        department=Department.objects.get(name="市商务局"),
    )
    after = submit(weifang_open, "二(三)4", 2)
    assert routed_names(after) == [*routed_names(before), "市商务局"]


def test_a_changed_mailbox_is_used_at_once(weifang_open):
    first = submit(weifang_open, "二(三)4", 1)
    owner = first.routes.get(is_owner=True).department
    mailbox = Mailbox.objects.filter(department=owner).first()
    mailbox.email = "new-inbox@example.gov.cn"
    mailbox.save()
    second = submit(weifang_open, "二(三)4", 2)
    notification = Notification.objects.get(key=f"routed:{second.pk}:{owner.pk}")
    assert "new-inbox@example.gov.cn" in notification.to


def test_the_directory_is_read_once_per_version(weifang_open):
    consultation = Consultation.objects.get(pk=weifang_open.pk)
    directory_of(consultation)
    with CaptureQueriesContext(connection) as queries:
        directory_of(consultation)
    assert len(queries) == 0
    Department.objects.filter(name="市商务局").first().save()  # any department change
    changed = Consultation.objects.get(pk=weifang_open.pk)
    assert changed.directory_version > consultation.directory_version
    with CaptureQueriesContext(connection) as queries:
        directory_of(changed)
    assert len(queries) > 0


def test_a_load_of_departments_raises_the_versions_once_and_routes_by_what_it_loaded(
    weifang_open,
):
    consultation = Consultation.objects.get(pk=weifang_open.pk)
    directory_of(consultation)
    first = submit(weifang_open, "二(三)4", 1)
    owner = first.routes.get(is_owner=True).department
    rows = [
        {"name": owner.name, "mailboxes": ["second-inbox@example.gov.cn"]},
        {"name": "市新设局", "full_name": "潍坊市新设局", "mailboxes": ["new@example.gov.cn"]},
    ]
    with CaptureQueriesContext(connection) as queries:
        departments_load(rows)
    raised = [
        q
        for q in queries
        if q["sql"].startswith('UPDATE "consultations_consultation" SET "directory_version"')
    ]
    assert len(raised) == 1  # two mailboxes and a department: one raise, at the end
    assert Consultation.objects.get(pk=weifang_open.pk).directory_version > (
        consultation.directory_version
    )
    second = submit(weifang_open, "二(三)4", 2)
    notification = Notification.objects.get(key=f"routed:{second.pk}:{owner.pk}")
    assert "second-inbox@example.gov.cn" in notification.to


def test_a_batch_that_fails_raises_no_version_and_leaves_nothing(weifang_open):
    version = Consultation.objects.get(pk=weifang_open.pk).directory_version
    rows = [{"name": "市新设局", "mailboxes": ["new@example.gov.cn"]}]
    with pytest.raises(RuntimeError), directory_changes_batched():
        departments_load(rows)
        raise RuntimeError("a later step of the same import failed")
    assert not Department.objects.filter(name="市新设局").exists()
    assert Consultation.objects.get(pk=weifang_open.pk).directory_version == version
    departments_load(rows)  # and the next load is not taken for part of a batch
    assert Consultation.objects.get(pk=weifang_open.pk).directory_version == version + 1


def test_an_imported_notice_raises_its_version_once(db):
    with CaptureQueriesContext(connection) as queries:
        consultation = load_weifang(slug="batched")
    raised = [
        q
        for q in queries
        if q["sql"].startswith('UPDATE "consultations_consultation" SET "directory_version"')
    ]
    # Once for the departments (every consultation), once for the notice's clauses.
    assert len(raised) == 2
    assert consultation.clauses.count() > 20
    created = Consultation._meta.get_field("directory_version").default
    assert Consultation.objects.get(pk=consultation.pk).directory_version == created + 1


TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def test_an_api_comment_costs_at_most_six_statements(weifang_open):
    api = APIClient()
    clause = weifang_open.clauses.get(label="二(三)4")

    def post(n):
        return api.post(
            f"/api/consultations/{weifang_open.slug}/comments/",
            {
                "clause": clause.pk,
                "body": f"第{n}条意见：建议明确集聚区的评价指标，并公开评选结果。",
                "phone": f"1381234{n:04d}",
                "email": f"c{n}@example.cn",
                "consent": True,
            },
            format="json",
        )

    assert post(0).status_code == 201  # the process reads the directory once
    with CaptureQueriesContext(connection) as queries:
        response = post(1)
    assert response.status_code == 201
    assert response.json()["routed_to"][0]["role"] == "lead"
    statements = [q["sql"] for q in queries if not q["sql"].startswith(TRANSACTION_CONTROL)]
    # The consultation, the comment, its public count, its routes, its notifications; the
    # first comment into a count's slot creates the slot.
    assert len(statements) <= 6, "\n".join(s[:120] for s in statements)


def test_a_consultation_object_read_long_ago_never_routes_with_an_old_directory(weifang_open):
    stale = weifang_open  # read before its clauses were created: its version is long past
    submit(weifang_open, "二(三)4", 1)  # a fresh read keeps the current directory
    clause = weifang_open.clauses.get(label="二(三)4")
    ClauseResponsibility.objects.create(
        clause=clause,
        position=9,
        role=ClauseResponsibility.Role.COOPERATING,
        name="市商务局",
        department=Department.objects.get(name="市商务局"),
    )
    comment = comment_submit(
        consultation=stale,
        clause=clause,
        body="建议明确集聚区的评价指标，并公开评选结果。",
        channel="web",
        consent=True,
    ).comment
    assert "市商务局" in routed_names(comment)


def test_a_failed_part_of_a_batch_leaves_nothing_of_its_own_and_the_rest_stands(weifang_open):
    version = Consultation.objects.get(pk=weifang_open.pk).directory_version
    with directory_changes_batched():
        departments_load([{"name": "市新设局", "mailboxes": ["new@example.gov.cn"]}])
        with pytest.raises(IntegrityError), directory_changes_batched():  # an import inside
            Department.objects.create(name="市另一新设局")
            Department.objects.create(name="市海渔局")  # taken
        assert Department.objects.filter(name="市新设局").exists()  # the transaction goes on
    assert not Department.objects.filter(name="市另一新设局").exists()
    assert Department.objects.filter(name="市新设局").exists()
    assert Consultation.objects.get(pk=weifang_open.pk).directory_version == version + 1
