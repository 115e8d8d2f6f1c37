"""Citizens who ask for it get one email when the adoption report (意见采纳情况) is published."""

import datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.consultations.services import staff_join
from consult.notifications.models import Notification
from consult.reports.services import report_generate, report_publish, report_review
from tests.intake.test_form import post

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(weifang_open):
    return weifang_open.clauses.get(label="二(一)1")


def test_the_form_offers_it_and_needs_an_email_for_it(client, weifang_open, item):
    response = post(client, weifang_open, item, email="", notify_on_report="on")
    assert response.status_code == 400
    assert "需要填写电子邮箱，才能在采纳情况公布时通知您。" in response.content.decode()
    assert not Comment.objects.exists()

    response = post(client, weifang_open, item, notify_on_report="on")
    assert response.status_code == 302
    assert Comment.objects.get().notify_on_report is True


def test_the_api_takes_it(client, weifang_open):
    response = client.post(
        f"/api/consultations/{weifang_open.slug}/comments/",
        {
            "body": "建议明确集聚区的评价指标并公开评选结果。",
            "email": "org@example.cn",
            "notify_on_report": True,
            "consent": True,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    assert Comment.objects.get().notify_on_report is True


def test_the_receipt_page_can_ask_for_it(client, weifang_open, item):
    response = post(client, weifang_open, item)
    receipt_url = response["Location"]
    page = client.get(receipt_url).content.decode()
    assert "采纳情况公布时发邮件通知我" in page
    token = receipt_url.rstrip("/").split("/")[-2]
    assert client.get(reverse("intake:comment_notify_on_report", args=[token])).status_code == 405
    response = client.post(reverse("intake:comment_notify_on_report", args=[token]))
    assert response.status_code == 302
    assert Comment.objects.get().notify_on_report is True
    assert 'id="report-subscribed"' in client.get(receipt_url).content.decode()
    # A forged token reaches nothing.
    assert (
        client.post(reverse("intake:comment_notify_on_report", args=["x" + token])).status_code
        == 404
    )


def submit(consultation, clause, n, **extra):
    return comment_submit(
        consultation=consultation,
        clause=clause,
        body=f"第{n}条意见：建议明确集聚区评价指标并公开结果。",
        channel="web",
        consent=True,
        **extra,
    ).comment


def test_publishing_mails_exactly_the_subscribers_once(
    weifang_open, item, django_capture_on_commit_callbacks
):
    subscribed = submit(
        weifang_open, item, 1, email="yes@example.cn", notify_on_report=True, submitter_name="李四"
    )
    submit(weifang_open, item, 2, email="no@example.cn")
    submit(weifang_open, item, 3, phone="13812345678", notify_on_report=True)  # no email: ignored
    with pytest.raises(ValidationError):
        report_publish(weifang_open)
    mail.outbox.clear()

    reviewer = get_user_model().objects.create_user("reviewer")
    Comment.objects.filter(consultation=weifang_open).update(
        status="answered", decision="explained", reply="感谢关注。"
    )
    report = report_generate(weifang_open)
    report_review(report, by=reviewer, counted_at=report.generated_at)
    after_close = weifang_open.closes_at + datetime.timedelta(days=20)
    with time_machine.travel(after_close), django_capture_on_commit_callbacks(execute=True):
        assert report_publish(weifang_open) == 1
    (message,) = [m for m in mail.outbox if "采纳情况已公布" in m.subject]
    assert message.to == ["yes@example.cn"]
    # The link opens the draft's report itself, not the consultation's page (which shows a
    # later draft's report once that is out).
    assert f"{weifang_open.get_absolute_url()}revisions/1/report/" in message.body
    assert subscribed.tracking_number in message.body
    assert "李四" in message.body
    weifang_open.refresh_from_db()
    assert abs(weifang_open.report_published_at - after_close) < datetime.timedelta(seconds=1)

    mail.outbox.clear()
    with (
        time_machine.travel(after_close + datetime.timedelta(days=1)),
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ValidationError) as again,
    ):
        report_publish(weifang_open)
    assert again.value.code == "published"  # once is what the public read, and all it hears
    assert mail.outbox == []
    assert Notification.objects.filter(kind="report_published").count() == 1
    weifang_open.refresh_from_db()
    assert abs(weifang_open.report_published_at - after_close) < datetime.timedelta(seconds=1)


def test_only_users_allowed_to_publish_see_the_admin_action(client, weifang_open):
    user = get_user_model().objects.create_user("clerk", password="pw-123456", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_consultation"))
    client.force_login(user)
    changelist = reverse("admin:consultations_consultation_changelist")
    assert "publish_report" not in client.get(changelist).content.decode()

    user.user_permissions.add(Permission.objects.get(codename="publish_report"))
    assert "publish_report" in client.get(changelist).content.decode()
    weifang_open.closes_at = timezone.now() - datetime.timedelta(days=1)
    weifang_open.opens_at = weifang_open.closes_at - datetime.timedelta(days=30)
    weifang_open.save()
    # Only for the consultations their bureau issued (issue 15, item 2), once reviewed.
    staff_join(user, weifang_open.issuer)
    report = report_generate(weifang_open)
    report_review(report, by=user, counted_at=report.generated_at)
    response = client.post(
        changelist, {"action": "publish_report", "_selected_action": [weifang_open.pk]}
    )
    assert response.status_code == 302
    weifang_open.refresh_from_db()
    assert weifang_open.report_published_at is not None
