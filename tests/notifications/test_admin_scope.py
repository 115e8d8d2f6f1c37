"""A coordinator acts only on the consultations their bureau issued: report actions, the
outbox and reminders in the admin follow the same rule as the comment queue."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail

from consult.comments.services import comment_submit
from consult.consultations.directory import directory_changed
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from consult.notifications.models import Notification, OutgoingEmail
from consult.testing.weifang import load_weifang

pytestmark = pytest.mark.django_db


@pytest.fixture
def elsewhere(weifang_open, django_capture_on_commit_callbacks):
    """The same draft issued by 市生态环境局, with a citizen's comment and its sent receipt."""
    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    directory_changed()  # an update() sends no signal
    other = load_weifang(slug="sthj-draft", departments=False)
    other.issuer = Department.objects.get(name="市生态环境局")
    other.save(update_fields=["issuer"])
    with django_capture_on_commit_callbacks(execute=True):
        comment_submit(
            consultation=other,
            clause=None,
            body="建议公开海洋生态修复项目的招标结果。",
            channel="web",
            consent=True,
            submitter_name="王五",
            email="wangwu@example.cn",
        )
    assert any("wangwu@example.cn" in message.to for message in mail.outbox)
    return other


def coordinator(client, name, username):
    user = User.objects.create_user(username, password="pw")
    staff_join(user, Department.objects.get(name=name))
    client.force_login(user)
    return user


def test_a_coordinator_cannot_publish_another_bureaus_report(client, weifang_open, elsewhere):
    with time_machine.travel(elsewhere.closes_at + datetime.timedelta(days=1)):
        coordinator(client, "市海渔局", "hyj")  # logged in after the close: sessions expire
        response = client.post(
            "/admin/consultations/consultation/",
            {"action": "publish_report", "_selected_action": [elsewhere.pk]},
            follow=True,
        )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/admin/consultations/consultation/"
    elsewhere.refresh_from_db()
    assert elsewhere.report_published_at is None
    assert not hasattr(elsewhere, "report") or elsewhere.report is None


def test_a_coordinator_cannot_open_another_bureaus_emails(client, weifang_open, elsewhere):
    receipt = Notification.objects.get(kind="receipt")
    email = OutgoingEmail.objects.get(pk=receipt.email_id)
    coordinator(client, "市海渔局", "hyj")
    change = client.get(f"/admin/notifications/outgoingemail/{email.pk}/change/")
    assert change.status_code == 302  # the admin's "does not exist" redirect
    listing = client.get("/admin/notifications/outgoingemail/").content.decode()
    assert "wangwu@example.cn" not in listing
    notifications = client.get("/admin/notifications/notification/").content.decode()
    assert "sthj-draft" not in notifications and "王五" not in notifications


def test_the_issuing_bureau_sees_its_own_outbox(client, weifang_open, elsewhere):
    receipt = Notification.objects.get(kind="receipt")
    coordinator(client, "市生态环境局", "sthj")
    response = client.get(f"/admin/notifications/outgoingemail/{receipt.email_id}/change/")
    assert response.status_code == 200
    assert "wangwu@example.cn" in response.content.decode()
