"""The report email: one per citizen (address) and draft, however many comments they made on it,
listing each with its status link; the admin counts the people it tells (review item 5)."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.core import mail

from consult.comments.models import Comment
from consult.comments.services import comment_submit, report_emails_stop
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from consult.notifications.models import Notification
from consult.reports.services import report_generate, report_publish, report_review

pytestmark = pytest.mark.django_db

REPORTS = "/admin/reports/adoptionreport/"
CONSULTATIONS = "/admin/consultations/consultation/"


@pytest.fixture
def coordinator():
    user = User.objects.create_user("hyj", password="pw", is_staff=True)
    staff_join(user, Department.objects.get(name="市海渔局"))
    user.user_permissions.add(Permission.objects.get(codename="publish_report"))
    return user


@pytest.fixture
def reviewed(weifang_open, coordinator):
    """One citizen's three comments (the address typed differently once), another citizen's
    one, a third who did not ask to hear: all answered, counted and reviewed."""
    clause = weifang_open.clauses.get(label="二(一)1")
    addresses = ["same@example.cn", "Same@Example.cn ", "same@example.cn", "other@example.cn"]
    comments = [
        comment_submit(
            consultation=weifang_open,
            clause=clause,
            body=f"第{n}条意见：建议明确集聚区评价指标{n}。",
            channel="web",
            consent=True,
            phone=f"1381234{n:04d}",
            email=address,
            notify_on_report=True,
        ).comment
        for n, address in enumerate(addresses)
    ]
    comment_submit(
        consultation=weifang_open,
        clause=clause,
        body="建议公开评估结果。",
        channel="web",
        consent=True,
        phone="13812349999",
        email="quiet@example.cn",
    )
    Comment.objects.update(status="answered", decision="adopted", reply="采纳。")
    report = report_generate(weifang_open)
    report_review(report, by=coordinator, counted_at=report.generated_at)
    return weifang_open, report, comments


def after_close(consultation):
    return time_machine.travel(consultation.closes_at + datetime.timedelta(days=16))


def test_a_citizen_with_three_comments_gets_one_email_listing_them(
    reviewed, django_capture_on_commit_callbacks
):
    consultation, _report, comments = reviewed
    mail.outbox.clear()
    with after_close(consultation), django_capture_on_commit_callbacks(execute=True):
        assert report_publish(consultation) == 2
    assert sorted(address for message in mail.outbox for address in message.to) == [
        "other@example.cn",
        "same@example.cn",
    ]
    theirs = Notification.objects.get(kind=Notification.Kind.REPORT_PUBLISHED, comment=comments[0])
    assert theirs.to == ["same@example.cn"]
    listed = theirs.context["comments"]
    assert [c["tracking_number"] for c in listed] == [c.tracking_number for c in comments[:3]]
    assert len({c["status_url"] for c in listed}) == 3
    # Publishing is once: nothing more is written, nobody mailed again.
    assert Notification.objects.filter(kind=Notification.Kind.REPORT_PUBLISHED).count() == 2


def test_the_email_lists_each_tracking_number_with_its_status_link(
    reviewed, django_capture_on_commit_callbacks
):
    consultation, _report, comments = reviewed
    mail.outbox.clear()
    with after_close(consultation), django_capture_on_commit_callbacks(execute=True):
        report_publish(consultation)
    (email,) = [message for message in mail.outbox if message.to == ["same@example.cn"]]
    html = email.alternatives[0][0]
    listed = Notification.objects.get(
        kind=Notification.Kind.REPORT_PUBLISHED, comment=comments[0]
    ).context["comments"]
    for comment, entry in zip(comments[:3], listed, strict=True):
        assert comment.tracking_number in email.body and comment.tracking_number in html
        assert entry["status_url"] in email.body and entry["status_url"] in html
    # And how to stop such emails, in the text, the HTML and the header mail programs show.
    stop = email.extra_headers["List-Unsubscribe"].strip("<>")
    assert "/comments/stop-report-emails/" in stop and stop in email.body and stop in html


@pytest.mark.parametrize("changelist", [REPORTS, CONSULTATIONS])
def test_the_admin_counts_the_citizens_told_not_their_comments(
    client, reviewed, coordinator, changelist
):
    consultation, report, _comments = reviewed
    selected = report.pk if changelist == REPORTS else consultation.pk
    with after_close(consultation):
        client.force_login(coordinator)
        response = client.post(
            changelist,
            {
                "action": "publish" if changelist == REPORTS else "publish_report",
                "_selected_action": [selected],
            },
            follow=True,
        )
    page = response.content.decode()
    assert f"《{consultation.title}》的意见采纳情况已公布，将通知 2 位提交人。" in page


def test_a_citizen_who_stops_the_emails_is_not_sent_one_still_on_its_way(
    reviewed, django_capture_on_commit_callbacks
):
    """Stopping only stopped asking: the report email already written (not yet built, or built
    and waiting for a retry) went out after the citizen had said no more."""
    consultation, _report, comments = reviewed
    mail.outbox.clear()
    with after_close(consultation):
        with django_capture_on_commit_callbacks() as published:
            report_publish(consultation)
        assert report_emails_stop(comments[1]) == 3  # by address, however it was typed
        for callback in published:
            callback()
    assert [message.to for message in mail.outbox] == [["other@example.cn"]]
    assert not Notification.objects.filter(
        kind=Notification.Kind.REPORT_PUBLISHED, comment=comments[0]
    ).exists()
