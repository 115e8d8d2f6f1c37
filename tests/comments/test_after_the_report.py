"""Once the adoption report on a draft is out, that draft takes no more comments and nobody is
promised an email about it: the report says it counts every comment received, and a published
report is final.
"""

import datetime
import threading

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from consult.comments import services
from consult.comments.models import Comment
from consult.comments.services import (
    comment_record_received,
    comment_submit,
    comment_subscribe_to_report,
)
from consult.comments.status_links import status_token
from consult.consultations.models import Consultation, Department
from consult.consultations.services import staff_join
from consult.reports.models import AdoptionReport
from consult.reports.services import report_generate, report_publish, report_review
from consult.testing.weifang import load_weifang
from tests.support.revisions import first_draft_closed, weifang_second_draft

pytestmark = pytest.mark.django_db

OFFER = "采纳情况公布时发邮件通知我"
PROMISE = "采纳情况公布时，我们会发邮件通知您。"


@pytest.fixture
def reported(weifang_open):
    """Draft 1 closed ten days ago, one comment on it answered, its report reviewed and
    published."""
    first = weifang_open.current_revision
    clause = first.clauses.get(label="二(一)1")
    comment = comment_submit(
        consultation=weifang_open,
        clause=clause,
        body="建议明确集聚区的评价指标，并公开评选结果。",
        channel="web",
        consent=True,
        phone="13812340001",
        email="citizen@example.cn",
    ).comment
    Comment.objects.update(status="answered", decision="adopted", reply="采纳。")
    first_draft_closed(weifang_open)
    report = report_generate(weifang_open)
    report_review(report, by=User.objects.create_user("reviewer"), counted_at=report.generated_at)
    report_publish(weifang_open)
    weifang_open.refresh_from_db()
    comment.refresh_from_db()
    return weifang_open, clause, comment


def receipt(client, comment) -> str:
    return client.get(
        reverse("intake:comment_receipt", args=[status_token(comment)])
    ).content.decode()


def test_the_receipt_offers_the_report_email_before_the_report(client, weifang_open):
    comment = comment_submit(
        consultation=weifang_open,
        clause=weifang_open.clauses.get(label="二(一)1"),
        body="建议明确集聚区的评价指标，并公开评选结果。",
        channel="web",
        consent=True,
        email="citizen@example.cn",
    ).comment

    assert OFFER in receipt(client, comment)
    assert comment_subscribe_to_report(comment)


def test_no_report_email_is_offered_once_the_draft_s_report_is_out(client, reported):
    consultation, _clause, comment = reported
    # A later draft open for comment clears the consultation's own report date; the report
    # on the draft this comment was written on is out all the same.
    weifang_second_draft(consultation)
    assert consultation.report_published_at is None

    page = receipt(client, comment)
    client.post(reverse("intake:comment_notify_on_report", args=[status_token(comment)]))
    comment.refresh_from_db()

    assert OFFER not in page
    assert not comment.notify_on_report
    assert PROMISE not in receipt(client, comment)


def test_a_promise_made_before_the_report_is_not_repeated_after_it(client, reported):
    _consultation, _clause, comment = reported
    Comment.objects.filter(pk=comment.pk).update(notify_on_report=True)

    assert PROMISE not in receipt(client, comment)


def test_a_letter_on_a_draft_whose_report_is_out_is_refused(reported):
    consultation, clause, _comment = reported
    staff = User.objects.create_user("hyj", is_staff=True)
    staff_join(staff, Department.objects.get(name="市海渔局"))
    received_on = timezone.localdate(consultation.closes_at) - datetime.timedelta(days=2)

    with pytest.raises(ValidationError) as refused:
        comment_record_received(
            consultation=consultation,
            clause=clause,
            body="来信：建议增加渔港改造资金。",
            channel="letter",
            received_on=received_on,
            recorded_by=staff,
            submitter_name="王五",
        )

    assert "意见采纳情况已于" in refused.value.message_dict["consultation"][0]
    assert Comment.objects.count() == 1


def test_a_period_moved_after_the_report_takes_no_comment(reported):
    consultation, clause, _comment = reported
    # A coordinator moves the close into the future after publishing the report.
    Consultation.objects.filter(pk=consultation.pk).update(
        closes_at=timezone.now() + datetime.timedelta(days=5)
    )

    response = APIClient().post(
        f"/api/consultations/{consultation.slug}/comments/",
        {"clause": clause.pk, "body": "建议明确集聚区的评价指标。", "consent": True},
        format="json",
    )

    assert response.status_code == 409
    assert Comment.objects.count() == 1


def test_the_web_form_says_the_report_is_out_rather_than_closed(client, reported):
    consultation, clause, _comment = reported
    Consultation.objects.filter(pk=consultation.pk).update(
        closes_at=timezone.now() + datetime.timedelta(days=5)
    )

    page = client.get(f"/consultations/{consultation.slug}/clauses/{clause.pk}/comment/")

    assert page.status_code == 403
    text = page.content.decode()
    assert "意见采纳情况已经公布，不再接收意见" in text and "征求意见已截止" not in text


def _member(username, department):
    user = User.objects.create_user(username, password="pw")
    staff_join(user, department)
    return user


def test_an_answer_the_published_report_counts_is_not_reopened_nor_changed(reported):
    """The report counted it as adopted and published the answer with it: reopening it (on its
    page or in bulk), answering again, marking it invalid or passing it on would contradict
    what is public. A note may still be added."""
    from consult.comments.workflow import CommentChange, comment_change_apply

    consultation, _clause, comment = reported
    owner = _member("owner", comment.routes.get(is_owner=True).department)
    coordinator = _member("coordinator", consultation.issuer)
    refused = "本稿的意见采纳情况已公布"
    for user, change in [
        (owner, CommentChange(status="in_progress")),
        (owner, CommentChange(reply="更正后的答复。")),
        (coordinator, CommentChange(status="in_progress")),
        (
            coordinator,
            CommentChange(
                route_to=Department.objects.exclude(pk=consultation.issuer_id).first(),
                route_reason="请补充意见。",
            ),
        ),
    ]:
        with pytest.raises(ValidationError) as caught:
            comment_change_apply(comment, user, change)
        assert refused in " ".join(caught.value.messages)
    comment_change_apply(comment, owner, CommentChange(note="市民来电询问，已说明。"))
    comment.refresh_from_db()
    assert (comment.status, comment.decision, comment.reply) == ("answered", "adopted", "采纳。")
    assert comment.events.filter(kind="note").count() == 1


def report_ready_to_publish():
    """One comment on 二(四)2, answered; its draft's report counted and
    reviewed, not yet published. Needs PostgreSQL: the tests using it race two connections."""
    if connection.vendor != "postgresql":
        pytest.skip("two connections at once: PostgreSQL's row locks")
    consultation = load_weifang()
    clause = consultation.clauses.get(label="二(四)2")
    bureau = User.objects.create_user("hyj", is_staff=True)
    staff_join(bureau, Department.objects.get(name="市海渔局"))
    comment_submit(
        consultation=consultation,
        clause=clause,
        body="建议对受影响的养殖户给予补偿。",
        channel="web",
        consent=True,
        phone="13912345678",
    )
    Comment.objects.update(status="answered", decision="adopted", reply="采纳。")
    report = report_generate(consultation)
    report_review(report, by=bureau, counted_at=report.generated_at)
    return consultation, clause, bureau


def letter_received(consultation, clause, bureau):
    return comment_record_received(
        consultation=consultation,
        clause=clause,
        body="来信：建议对受影响的养殖户给予补偿。",
        channel="letter",
        received_on=timezone.localdate(consultation.closes_at),
        recorded_by=bureau,
        submitter_name="张三",
    )


@pytest.mark.django_db(transaction=True)
def test_a_letter_racing_the_report_s_publication_is_refused_not_left_uncounted(monkeypatch):
    # The report is published by another connection between the letter's first check and its
    # store: the store waits for no lock of its own unless it takes the draft's, and the letter
    # would be stored on a draft whose published report never counts it.
    consultation, clause, bureau = report_ready_to_publish()
    checked = services.report_unpublished_check
    calls = []

    def checked_then_published_elsewhere(consultation, clause):
        checked(consultation, clause)
        calls.append(clause)
        if len(calls) == 1:

            def publish():
                try:
                    report_publish(consultation)
                finally:
                    connections.close_all()

            other = threading.Thread(target=publish)
            other.start()
            other.join()

    monkeypatch.setattr(services, "report_unpublished_check", checked_then_published_elsewhere)
    after_close = consultation.closes_at + datetime.timedelta(days=2)
    with time_machine.travel(after_close), pytest.raises(ValidationError) as refused:
        letter_received(consultation, clause, bureau)

    assert "意见采纳情况已于" in refused.value.message_dict["consultation"][0]
    published = AdoptionReport.objects.get(revision__consultation=consultation)
    assert published.published_at is not None
    assert Comment.objects.count() == published.total == 1


@pytest.mark.django_db(transaction=True)
def test_a_report_published_while_a_letter_is_being_stored_waits_and_counts_again(monkeypatch):
    # The report is published from another connection while the letter's transaction is open,
    # past its check: without the draft's lock it went out counting one comment of two.
    consultation, clause, bureau = report_ready_to_publish()
    repeat_found = services._repeat_found
    publishing = {}

    def publish():
        try:
            report_publish(consultation)
        except ValidationError as refused:
            publishing["refused"] = refused
        finally:
            connections.close_all()

    def publisher_started_inside_the_letter_s_transaction(*args, **kwargs):
        publishing["thread"] = threading.Thread(target=publish)
        publishing["thread"].start()
        publishing["thread"].join(timeout=1)  # time enough to publish, were it not held
        return repeat_found(*args, **kwargs)

    monkeypatch.setattr(
        services, "_repeat_found", publisher_started_inside_the_letter_s_transaction
    )
    with time_machine.travel(consultation.closes_at + datetime.timedelta(days=2)):
        letter_received(consultation, clause, bureau)
    publishing["thread"].join()

    assert Comment.objects.count() == 2
    # The publication waited for the letter, then found its counts out of date.
    assert "refused" in publishing
    assert AdoptionReport.objects.get(revision__consultation=consultation).published_at is None
