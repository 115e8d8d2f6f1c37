"""Faults of one email in a batch: it cannot be built or addressed, it has nobody to go to, or
its send is slower than a lease. Each is that email's own outcome; the batch goes on.

Django's SMTP backend talks here to a relay in the test process through smtplib's own command
code (no socket), so addresses are sanitized and messages built as they are for a real server.
"""

import datetime
import smtplib
from contextlib import contextmanager
from unittest import mock

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.core.mail.backends.smtp import EmailBackend
from django.utils import timezone

from consult.comments.services import comment_submit
from consult.consultations.directory import directory_changed
from consult.consultations.models import Department, Mailbox
from consult.notifications import delivery
from consult.notifications.delivery import email_claim, emails_send
from consult.notifications.models import Notification, OutgoingEmail, Reminder
from consult.notifications.outbox import notification_write
from consult.testing.weifang import load_weifang
from tests.support.jobs import due_jobs_run

pytestmark = pytest.mark.django_db

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


class Relay:
    """What the relay accepted (recipients and data of each message), and `on_rcpt(address)`,
    run as each recipient is given (a slow relay, another worker meanwhile)."""

    def __init__(self, on_rcpt=None):
        self.delivered: list[tuple[list[str], bytes]] = []
        self.on_rcpt = on_rcpt or (lambda address: None)


class RelaySession(smtplib.SMTP):
    """smtplib's client with the wire replaced: each command is answered at once."""

    def __init__(self, relay: Relay):
        super().__init__(local_hostname="consult.test")  # no host: no connection
        self.relay = relay
        self.recipients: list[str] = []
        self.reading_data = False
        self.reply = (250, b"OK")

    def send(self, s):
        data = s.encode() if isinstance(s, str) else s
        if self.reading_data:
            self.relay.delivered.append((self.recipients, data))
            self.reading_data, self.recipients = False, []
            self.reply = (250, b"queued")
            return
        command, _space, argument = data.strip().decode().partition(" ")
        self.reply = (250, b"OK")
        if command.lower() == "rcpt":
            address = argument.partition("<")[2].partition(">")[0]
            self.recipients.append(address)
            self.relay.on_rcpt(address)
        elif command.lower() == "data":
            self.reading_data, self.reply = True, (354, b"go ahead")
        elif command.lower() == "quit":
            self.reply = (221, b"bye")

    def getreply(self):
        return self.reply


class RelayBackend(EmailBackend):
    """Django's SMTP backend, connected to the relay instead of a server."""

    def __init__(self, relay: Relay):
        super().__init__(host="relay.test", fail_silently=False)
        self.relay = relay

    def open(self):
        if self.connection:
            return False
        self.connection = RelaySession(self.relay)
        return True


@contextmanager
def relay_used(relay: Relay):
    with mock.patch.object(
        delivery, "get_connection", side_effect=lambda **kw: RelayBackend(relay)
    ):
        yield


def outgoing(to: list[str], n: int, **fields) -> OutgoingEmail:
    """A built email carrying one notification, as `emails_build` leaves it."""
    notification = notification_write(kind="reminder", key=f"faults:{n}", to=to, publish=False)
    email = OutgoingEmail.objects.create(
        message_id=f"<faults.{n}@consult.test>",
        to=to,
        subject=f"第{n}封",
        body_text="正文",
        **fields,
    )
    Notification.objects.filter(pk=notification.pk).update(email=email)
    return email


# --- an email that cannot be built or addressed ------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        # Two addresses in one mailbox, as a department file could hold them, and nothing else.
        ({"to": ["x@y.cn;z@w.cn"]}, "以下地址无效，未发往：x@y.cn;z@w.cn"),
        ({"headers": {"List-Unsubscribe": "<https://a.example>\n<https://b.example>"}}, "newline"),
    ],
)
def test_an_email_that_cannot_be_built_fails_alone_and_the_batch_goes_on(fields, error):
    first = outgoing(["a@example.cn"], 1)
    broken = outgoing(fields.pop("to", ["b@example.cn"]), 2, **fields)
    last = outgoing(["c@example.cn"], 3)
    relay = Relay()
    with relay_used(relay):
        result = emails_send([first.pk, broken.pk, last.pk])
    assert [to for to, _data in relay.delivered] == [["a@example.cn"], ["c@example.cn"]]
    assert (result.sent, result.failed, result.retry_ids) == ([first.pk, last.pk], [broken.pk], [])
    broken.refresh_from_db()
    # Given up on at once with its own error: no lease left behind, no retry waiting.
    assert (broken.status, broken.lease_until, broken.next_attempt_at) == ("failed", None, None)
    assert error in broken.last_error and broken.attempts == 1
    assert broken.notifications.get().status == "failed"


def test_a_bad_address_beside_good_ones_does_not_keep_the_email_from_them():
    """One bad mailbox of a department failed the whole email: its good mailboxes, and every
    staff address of a reminder, heard nothing."""
    email = outgoing(["office@example.cn", "x@y.cn;z@w.cn", "chief@example.cn"], 1)
    relay = Relay()
    with relay_used(relay):
        result = emails_send([email.pk])
    assert [to for to, _data in relay.delivered] == [["office@example.cn", "chief@example.cn"]]
    assert result.sent == [email.pk]
    email.refresh_from_db()
    assert email.status == "sent"
    assert email.last_error == "以下地址无效，未发往：x@y.cn;z@w.cn"


# --- an email with nobody to go to -------------------------------------------------------------


def without_mailbox(name):
    Mailbox.objects.filter(department__name=name).update(is_active=False)
    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    directory_changed()  # an update() sends no signal


def test_a_department_without_an_active_mailbox_is_not_recorded_as_told(
    weifang_open, django_capture_on_commit_callbacks
):
    without_mailbox("市生态环境局")
    with django_capture_on_commit_callbacks(execute=True):
        comment_submit(
            consultation=weifang_open,
            clause=weifang_open.clauses.get(label="二(四)2"),  # 市生态环境局 leads alone
            body="建议加快建立蓝碳交易的测算评估标准体系。",
            channel="web",
            consent=True,
        )
    notification = Notification.objects.get(kind="comment_routed")
    assert notification.to == [] and notification.status == "failed"
    email = notification.email
    assert (email.status, email.sent_at, email.lease_until) == ("failed", None, None)
    assert (
        email.last_error == "没有收件人，邮件未发出：写入通知时，市生态环境局没有启用的通知邮箱。"
    )
    assert mail.outbox == []


def test_a_reminder_with_nobody_to_go_to_is_recorded_and_fails_with_the_reason(
    db, django_capture_on_commit_callbacks
):
    weifang = load_weifang(slug="weifang", open_now=False)
    without_mailbox("市生态环境局")  # and it has no staff with an address
    with (
        time_machine.travel(datetime.datetime(2024, 10, 20, 10, tzinfo=SHANGHAI), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        comment_submit(
            consultation=weifang,
            clause=weifang.clauses.get(label="二(四)2"),
            body="建议加快建立蓝碳交易的测算评估标准体系。",
            channel="web",
            consent=True,
        )
    with (
        time_machine.travel(datetime.datetime(2024, 11, 9, 9, tzinfo=SHANGHAI), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        due_jobs_run()
    # Decided and queued once (the next run does not try again); the email says why it failed.
    reminder = Reminder.objects.get(department__name="市生态环境局", outcome="queued")
    assert reminder.notification.status == "failed"
    assert (
        "既没有启用的通知邮箱，也没有留有邮箱的工作人员" in reminder.notification.email.last_error
    )
    assert not OutgoingEmail.objects.filter(status="sent", to=[]).exists()


# --- an email that cannot be rendered ----------------------------------------------------------


def test_an_email_that_cannot_be_rendered_fails_alone_and_its_batch_is_sent(weifang_open, client):
    """A notification of a kind this worker has no template for (written by a newer release
    during a rolling upgrade) used to abort the whole batch's build, every retry: the other
    departments' emails of the batch waited with it."""
    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    directory_changed()
    comment_submit(
        consultation=weifang_open,
        clause=weifang_open.clauses.get(label="二(三)4"),  # 市工信局 leads, two cooperate
        body="建议明确海洋产业集聚区的认定标准。",
        channel="web",
        consent=True,
    )
    ids = sorted(Notification.objects.values_list("pk", flat=True))
    assert len(ids) == 3
    newer = Notification.objects.get(department__name="市财政局")
    Notification.objects.filter(pk=newer.pk).update(kind="a_kind_of_a_newer_release")

    delivery.deliver(ids)

    newer.refresh_from_db()
    assert newer.status == "failed"
    assert newer.email.status == "failed" and newer.email.failed_at is not None
    assert newer.email.last_error.startswith("邮件无法生成：TemplateDoesNotExist")
    others = Notification.objects.exclude(pk=newer.pk)
    assert set(others.values_list("status", flat=True)) == {"sent"}
    assert sorted(address for m in mail.outbox for address in m.to) == sorted(
        address for n in others for address in n.to
    )
    delivery.deliver(ids)  # nothing left to do, and nothing raises
    assert len(mail.outbox) == 2

    # Sent again before the release that knows the kind: refused, nothing changed.
    with pytest.raises(delivery.EmailNotResendable, match="TemplateDoesNotExist"):
        delivery.email_resend(newer.email)
    assert OutgoingEmail.objects.get(pk=newer.email_id).status == "failed"
    client.force_login(User.objects.create_superuser("root", "root@example.cn", "pw"))
    page = client.post(
        "/admin/notifications/outgoingemail/",
        {"action": "resend", "_selected_action": [newer.email_id]},
        follow=True,
    ).content.decode()
    assert (
        f"（{newer.email.message_id}）未重新发送：仍无法生成（TemplateDoesNotExist"
        in page.replace("&lt;", "<").replace("&gt;", ">")
    )
    assert "已重新发送 0 封邮件" in page
    # Sent again once the worker can render it (here: the kind it knows): rendered and sent.
    Notification.objects.filter(pk=newer.pk).update(kind="comment_routed")
    delivery.deliver(delivery.email_resend(newer.email))
    newer.refresh_from_db()
    assert (newer.status, newer.email.status) == ("sent", "sent")
    (message,) = mail.outbox[2:]
    assert message.to == newer.to and "海洋产业集聚区" in message.body


# --- a send slower than a lease ----------------------------------------------------------------


def test_a_send_slower_than_a_lease_keeps_its_email_from_other_workers(settings):
    """A reminder to 15 addresses over a relay that takes 10 s per answer: 150 s of sending
    against a 120 s lease. Another worker (the sweep's task) tries to claim the email after
    every answer, and never may."""
    settings.NOTIFY_LEASE_SECONDS = 120
    addresses = [f"staff{n}@weifang.example" for n in range(15)]
    email = outgoing(addresses, 1)
    taken_by_another = []
    with time_machine.travel(timezone.now(), tick=False) as clock:

        def slow_answer(address):
            clock.shift(10)
            if email_claim(email.pk, now=timezone.now()):
                taken_by_another.append(address)

        relay = Relay(on_rcpt=slow_answer)
        with relay_used(relay):
            result = emails_send([email.pk])
    assert taken_by_another == []
    assert [to for to, _data in relay.delivered] == [addresses]
    assert result.sent == [email.pk]
    email.refresh_from_db()
    assert (email.status, email.lease_until, email.attempts) == ("sent", None, 1)


def test_a_send_that_lost_its_lease_stops_before_its_message_is_complete(settings):
    """One answer took longer than a lease (beyond what EMAIL_TIMEOUT allows) and another
    worker took the email meanwhile: this one leaves it to that worker, unsent, and goes on."""
    settings.NOTIFY_LEASE_SECONDS = 120
    stalled, after = outgoing(["a@example.cn"], 1), outgoing(["b@example.cn"], 2)
    with time_machine.travel(timezone.now(), tick=False) as clock:

        def stall(address):
            if address == "a@example.cn":
                clock.shift(130)
                assert email_claim(stalled.pk, now=timezone.now())

        relay = Relay(on_rcpt=stall)
        with relay_used(relay):
            result = emails_send([stalled.pk, after.pk])
        now = timezone.now()
    assert [to for to, _data in relay.delivered] == [["b@example.cn"]]
    assert (result.sent, result.failed, result.retry_ids) == ([after.pk], [], [])
    stalled.refresh_from_db()
    # The other worker's, untouched: its lease, its attempt.
    assert stalled.status == "pending" and stalled.lease_until > now and stalled.attempts == 2


def test_a_lease_that_cannot_be_renewed_stops_that_send_only(settings):
    """A database error while renewing escaped the send loop: the rest of the batch was left
    untried, with this email's lease still set."""
    from django.db import OperationalError

    email = outgoing(["a@example.cn"], 1)
    email.lease_until = timezone.now() + datetime.timedelta(seconds=1)  # half of it is gone
    failing = mock.Mock()
    failing.filter.return_value.update.side_effect = OperationalError(
        "server closed the connection"
    )
    with (
        mock.patch.object(delivery.OutgoingEmail, "objects", failing),
        pytest.raises(delivery.LeaseLost, match="could not be renewed"),
    ):
        delivery.email_lease_renew(email)


# --- the relay refuses a new session in the middle of a batch ---------------------------------


class BusyAfterAFailure(RelayBackend):
    """The first message is refused with 451 at DATA (try later); the session is reset, and
    the relay then refuses new sessions for a while (554 too many connections), as a relay
    with a per-client connection limit does."""

    def __init__(self, relay, state):
        super().__init__(relay)
        self.state = state

    def open(self):
        if self.connection:
            return False
        self.state["opens"] += 1
        if 2 <= self.state["opens"] <= 4:
            raise smtplib.SMTPConnectError(554, b"5.7.1 too many connections, try later")
        return super().open()

    def send_messages(self, messages):
        self.state["sends"] += 1
        if self.state["sends"] == 1:
            raise smtplib.SMTPDataError(451, b"4.3.0 temporary failure")
        return super().send_messages(messages)


def test_a_relay_refusing_a_new_session_mid_batch_postpones_the_rest_instead_of_failing_one():
    """The session refused after a reset was taken as the next email's own 5xx: a citizen's
    receipt failed for good after one attempt, never sent."""
    emails = [outgoing([f"citizen{n}@example.cn"], n) for n in range(3)]
    relay, state = Relay(), {"opens": 0, "sends": 0}
    with mock.patch.object(
        delivery, "get_connection", side_effect=lambda **kw: BusyAfterAFailure(relay, state)
    ):
        result = emails_send([email.pk for email in emails])
    waiting = Notification.objects.filter(email__in=emails).order_by("pk")
    assert result.failed == [] and sorted(result.retry_ids) == [n.pk for n in waiting]
    for email in OutgoingEmail.objects.filter(pk__in=[e.pk for e in emails]):
        assert email.status == OutgoingEmail.Status.PENDING and email.next_attempt_at
    assert "554" in OutgoingEmail.objects.get(pk=emails[1].pk).last_error


# --- the relay takes a message for some recipients and refuses others ----------------------


def test_an_email_the_relay_refused_for_one_of_its_recipients_says_so(weifang_open, smtp_sink):
    """smtplib reports such refusals only as sendmail's return value, which Django drops: the
    email was marked sent to both mailboxes with nothing recorded, and one never got it."""
    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    ecology = Department.objects.get(name="市生态环境局")
    Mailbox.objects.create(department=ecology, email="second@sthj.example")
    directory_changed()
    smtp_sink.refuse["second@sthj.example"] = "550 5.1.1 No such mailbox"
    comment_submit(
        consultation=weifang_open,
        clause=weifang_open.clauses.get(label="二(四)2"),  # 市生态环境局 answers alone
        body="建议公开海洋生态修复项目的资金使用情况。",
        channel="web",
        consent=True,
    )
    delivery.deliver(
        list(Notification.objects.filter(department=ecology).values_list("pk", flat=True))
    )
    email = OutgoingEmail.objects.get(notifications__department=ecology)
    received = [address for message in smtp_sink.received() for address in message.to]
    assert "second@sthj.example" not in received and len(received) == 1
    assert email.status == OutgoingEmail.Status.SENT  # the other mailbox has it
    assert "second@sthj.example" in email.last_error and "550" in email.last_error
