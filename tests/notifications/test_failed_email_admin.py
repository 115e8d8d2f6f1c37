"""Failed and long-pending email is visible and recoverable: the outbox admin lists it per
department with its last error and sends it again; the admin index warns while any email
failed in the last day; check_workers fails while mail waits too long (issue 16, item 2)."""

import datetime

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from consult.comments.services import comment_submit
from consult.consultations.directory import directory_changed
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from consult.notifications.delivery import emails_build
from consult.notifications.models import Notification, OutgoingEmail
from consult.notifications.outbox import notifications_redact

pytestmark = pytest.mark.django_db

ERROR = "SMTPRecipientsRefused: {'gxj@weifang.example': (451, b'4.3.0 Try again later')}"


@pytest.fixture
def failed_email(weifang_open):
    """A comment's mail built into emails; the one to 市工信局 given up on an hour ago."""
    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    directory_changed()  # an update() sends no signal
    comment = comment_submit(
        consultation=weifang_open,
        clause=weifang_open.clauses.get(label="二(一)1"),
        body="建议明确集聚区的评价指标，并按年度公开评估结果。",
        channel="web",
        consent=True,
        phone="13812345678",
    ).comment
    ids = list(Notification.objects.filter(comment=comment).values_list("pk", flat=True))
    emails_build(ids, now=timezone.now())
    notification = Notification.objects.get(comment=comment, department__name="市工信局")
    email = notification.email
    an_hour_ago = timezone.now() - datetime.timedelta(hours=1)
    OutgoingEmail.objects.filter(pk=email.pk).update(
        status="failed", attempts=30, last_error=ERROR, failed_at=an_hour_ago
    )
    notification.status = "failed"
    notification.save(update_fields=["status"])
    email.refresh_from_db()
    return email


def staff(username, department_name):
    user = User.objects.create_user(username, password="pw")
    staff_join(user, Department.objects.get(name=department_name))
    return user


def test_the_outbox_lists_failed_email_per_department_with_its_last_error(client, failed_email):
    client.force_login(User.objects.create_superuser("root", "root@example.cn", "pw"))
    department = Department.objects.get(name="市工信局")
    page = client.get(
        "/admin/notifications/outgoingemail/",
        {"delivery": "failed_recently", "department": department.pk},
    ).content.decode()
    assert "4.3.0 Try again later" in page
    assert "市工信局" in page
    assert page.count('name="_selected_action"') == 1
    other = Department.objects.get(name="市发改委")
    page = client.get(
        "/admin/notifications/outgoingemail/",
        {"delivery": "failed_recently", "department": other.pk},
    ).content.decode()
    assert page.count('name="_selected_action"') == 0


def test_send_again_puts_failed_and_long_pending_email_back_and_it_goes_out(client, failed_email):
    stuck = OutgoingEmail.objects.filter(status="pending").first()
    long_ago = timezone.now() - datetime.timedelta(hours=3)
    OutgoingEmail.objects.filter(pk=stuck.pk).update(
        created_at=long_ago,
        attempts=9,
        next_attempt_at=timezone.now() + datetime.timedelta(minutes=30),
        failing_since=long_ago,
        last_error=ERROR,
    )
    client.force_login(User.objects.create_superuser("root", "root@example.cn", "pw"))
    listing = client.get("/admin/notifications/outgoingemail/", {"delivery": "long_pending"})
    assert listing.content.decode().count('name="_selected_action"') == 1
    mail.outbox.clear()
    response = client.post(
        "/admin/notifications/outgoingemail/",
        {"action": "resend", "_selected_action": [failed_email.pk, stuck.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "已重新发送 2 封邮件" in response.content.decode()
    for email in (failed_email, stuck):
        email.refresh_from_db()
        assert email.status == "sent", email.last_error
        assert set(email.notifications.values_list("status", flat=True)) == {"sent"}
    sent_ids = {m.extra_headers["Message-ID"] for m in mail.outbox}
    assert sent_ids == {failed_email.message_id, stuck.message_id}


def test_send_again_goes_to_the_departments_addresses_as_they_are_now(client, failed_email):
    """The mailbox that refused the email is corrected, then the email is sent again: it must
    go to the corrected mailbox, not to the one that refused it. A citizen's receipt sent
    again keeps the citizen's own address."""
    industry = Department.objects.get(name="市工信局")
    industry.mailboxes.update(email="gongxin@weifang.example")
    directory_changed()
    routed = failed_email.notifications.get()
    citizen = comment_submit(
        consultation=routed.consultation,
        clause=routed.comment.clause,
        body="建议按年度公开集聚区的评估结果。",
        channel="web",
        consent=True,
        phone="13812345679",
        email="citizen@example.cn",
    ).comment
    receipt = Notification.objects.get(kind="receipt", comment=citizen)
    emails_build([receipt.pk], now=timezone.now())
    receipt.refresh_from_db()
    OutgoingEmail.objects.filter(pk=receipt.email_id).update(status="failed", attempts=30)
    client.force_login(User.objects.create_superuser("root", "root@example.cn", "pw"))
    mail.outbox.clear()

    client.post(
        "/admin/notifications/outgoingemail/",
        {"action": "resend", "_selected_action": [failed_email.pk, receipt.email_id]},
        follow=True,
    )

    failed_email.refresh_from_db()
    assert failed_email.status == "sent", failed_email.last_error
    assert failed_email.to == ["gongxin@weifang.example"]
    assert failed_email.notifications.get().to == ["gongxin@weifang.example"]
    (to_department,) = [
        m for m in mail.outbox if m.extra_headers["Message-ID"] == failed_email.message_id
    ]
    assert to_department.to == ["gongxin@weifang.example"]
    (to_citizen,) = [m for m in mail.outbox if m is not to_department]
    assert to_citizen.to == ["citizen@example.cn"]


def test_an_email_whose_text_retention_removed_is_not_sent_again(client, failed_email):
    """Past retention an email keeps neither its recipients nor its text: sent again to the
    department's mailboxes as they are now, it went out as a subject over a deleted body."""
    notifications_redact(failed_email.notifications.all())
    client.force_login(User.objects.create_superuser("root", "root@example.cn", "pw"))
    mail.outbox.clear()

    page = client.post(
        "/admin/notifications/outgoingemail/",
        {"action": "resend", "_selected_action": [failed_email.pk]},
        follow=True,
    ).content.decode()

    assert "未重新发送：个人信息保存期限已满，邮件正文已删除。" in page
    failed_email.refresh_from_db()
    assert (failed_email.status, failed_email.to) == ("failed", [])
    assert mail.outbox == []


def test_an_email_s_page_shows_its_text_and_what_retention_left_in_the_reader_s_language(
    client, failed_email
):
    """What the retention job leaves of a body was stored Chinese and shown so in the English
    admin (found by a review)."""
    client.force_login(User.objects.create_superuser("root", "root@example.cn", "pw"))
    page = f"/admin/notifications/outgoingemail/{failed_email.pk}/change/"
    assert "建议明确集聚区的评价指标" in client.get(page).content.decode()
    notifications_redact(failed_email.notifications.all())
    assert "（个人信息保存期限已满，正文已删除。）" in client.get(page).content.decode()
    client.cookies["django_language"] = "en"
    english = client.get(page).content.decode()
    assert "个人信息保存期限已满" not in english and "deleted" in english


def test_the_admin_index_warns_while_email_failed_in_the_last_day(client, failed_email):
    marker = 'id="email-health"'
    for user, warned in [
        (User.objects.create_superuser("root", "root@example.cn", "pw"), True),
        (staff("hyj", "市海渔局"), True),  # the issuing bureau's coordinators watch the outbox
        (staff("gxj", "市工信局"), False),  # department staff do not (no outbox permission)
    ]:
        client.force_login(user)
        page = client.get("/admin/").content.decode()
        assert (marker in page) is warned, user.username
    # A day later the warning is gone (the email stays in the "failed" filter).
    OutgoingEmail.objects.filter(pk=failed_email.pk).update(
        failed_at=timezone.now() - datetime.timedelta(days=1, minutes=1)
    )
    client.force_login(User.objects.get(username="root"))
    assert marker not in client.get("/admin/").content.decode()


def test_check_workers_fails_while_the_oldest_pending_email_waits_too_long(
    weifang_open, settings, capsys
):
    settings.NOTIFY_PENDING_ALERT_SECONDS = 3600
    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    directory_changed()  # an update() sends no signal
    comment_submit(
        consultation=weifang_open,
        clause=weifang_open.clauses.get(label="二(一)1"),
        body="建议明确集聚区的评价指标。",
        channel="web",
        consent=True,
    )
    call_command("check_workers")  # due just now: fine
    Notification.objects.update(due_at=timezone.now() - datetime.timedelta(hours=2))
    with pytest.raises(CommandError, match="oldest pending email"):
        call_command("check_workers")
    assert "oldest undelivered email due" in capsys.readouterr().err
    call_command("check_workers", max_pending_age=3 * 3600)


def test_nothing_of_an_email_can_be_edited_before_it_is_sent_again(client, failed_email):
    """Its headers and sender name were editable: a coordinator could set From or Reply-To,
    then send again, and a citizen would get official mail in another's name."""
    client.force_login(User.objects.create_superuser("root", "root@example.cn", "pw"))
    url = f"/admin/notifications/outgoingemail/{failed_email.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["adminform"].form.fields == {}
    response = client.post(
        url,
        {
            "sender_name": "别人",
            "headers": '{"Reply-To": "x@evil.example"}',
            "subject": "改过的主题",
            "notifications-TOTAL_FORMS": "0",
            "notifications-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 403
    kept = OutgoingEmail.objects.get(pk=failed_email.pk)
    assert (kept.sender_name, kept.headers, kept.subject) == (
        failed_email.sender_name,
        failed_email.headers,
        failed_email.subject,
    )
