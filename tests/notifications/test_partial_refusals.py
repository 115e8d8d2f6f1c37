"""A relay that takes an email for some recipients and refuses it for now (4xx) for others: a
greylisting server, a full or busy mailbox. Those others get it on a retry, the same message;
those who have it do not get it twice.

Production's backend (settings.py with EMAIL_HOST set) against a real SMTP server on loopback,
and the production retry settings: the clock is moved past each email's own retry time.
"""

import collections
import datetime
import smtplib

import pytest
import time_machine
from django.utils import timezone

from consult.comments.services import comment_submit
from consult.consultations.directory import directory_changed
from consult.consultations.models import Department, Mailbox
from consult.notifications import delivery
from consult.notifications.delivery import email_resend
from consult.notifications.models import Notification, OutgoingEmail
from consult.notifications.outbox import notifications_unsent_withdraw

pytestmark = pytest.mark.django_db

GREYLISTED = "451 4.7.1 Greylisted, please try again later"
NO_SUCH_MAILBOX = "550 5.1.1 No such mailbox"


@pytest.fixture
def ecology(weifang_open):
    """市生态环境局, which alone answers clause 二(四)2, with three mailboxes."""
    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    department = Department.objects.get(name="市生态环境局")
    for address in ("second@sthj.example", "third@sthj.example"):
        Mailbox.objects.create(department=department, email=address)
    directory_changed()
    return department


def comment_routed(consultation):
    return comment_submit(
        consultation=consultation,
        clause=consultation.clauses.get(label="二(四)2"),
        body="建议公开海洋生态修复项目的资金使用情况。",
        channel="web",
        consent=True,
    ).comment


def deliver(department) -> delivery.DeliveryResult:
    return delivery.deliver(
        list(Notification.objects.filter(department=department).values_list("pk", flat=True))
    )


def arrivals(smtp_sink) -> list[tuple[str, str]]:
    return sorted((address, m.message_id) for m in smtp_sink.received() for address in m.to)


def after_the_retry_time(email):
    return time_machine.travel(email.next_attempt_at + datetime.timedelta(seconds=1), tick=True)


def test_a_mailbox_refused_for_now_gets_the_same_email_on_the_retry_and_no_one_twice(
    smtp_sink, ecology, weifang_open
):
    """It was marked sent with the refusal noted: the greylisted mailbox never got it."""
    smtp_sink.refuse["second@sthj.example"] = GREYLISTED
    comment_routed(weifang_open)
    first = deliver(ecology)

    email = OutgoingEmail.objects.get(notifications__department=ecology)
    everyone = set(email.to)
    took_it = sorted(everyone - {"second@sthj.example"})
    assert len(took_it) == 2 and arrivals(smtp_sink) == [(a, email.message_id) for a in took_it]
    assert email.status == OutgoingEmail.Status.PENDING
    assert sorted(email.delivered_to) == took_it
    assert email.next_attempt_at > timezone.now() and email.attempts == 1
    assert "second@sthj.example" in email.last_error and "451" in email.last_error
    assert all(address in email.last_error for address in took_it)
    notification = Notification.objects.get(department=ecology)
    assert notification.status == Notification.Status.PENDING
    assert first.retry_ids == [notification.pk] and first.retry_in > 0

    # Still refused when a stray task comes before its time: nothing is sent.
    deliver(ecology)
    assert len(smtp_sink.received()) == 1

    del smtp_sink.refuse["second@sthj.example"]
    with after_the_retry_time(email):
        second = deliver(ecology)
    email.refresh_from_db()
    assert second.sent == [email.pk] and second.retry_ids == []
    assert arrivals(smtp_sink) == sorted((a, email.message_id) for a in everyone)
    assert email.status == OutgoingEmail.Status.SENT and email.last_error == ""
    assert sorted(email.delivered_to) == sorted(everyone)
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENT


def test_a_refusal_for_good_beside_one_for_now_is_noted_once_the_rest_is_sent(
    smtp_sink, ecology, weifang_open
):
    smtp_sink.refuse["second@sthj.example"] = GREYLISTED
    smtp_sink.refuse["third@sthj.example"] = NO_SUCH_MAILBOX
    comment_routed(weifang_open)
    deliver(ecology)
    email = OutgoingEmail.objects.get(notifications__department=ecology)
    assert email.status == OutgoingEmail.Status.PENDING
    assert "451" in email.last_error and "550" in email.last_error

    del smtp_sink.refuse["second@sthj.example"]
    with after_the_retry_time(email):
        deliver(ecology)
    email.refresh_from_db()
    received = [address for message in smtp_sink.received() for address in message.to]
    assert "third@sthj.example" not in received
    assert sorted(received) == sorted(set(email.to) - {"third@sthj.example"})
    assert email.status == OutgoingEmail.Status.SENT
    assert "third@sthj.example" in email.last_error and "550" in email.last_error
    assert "third@sthj.example" not in email.delivered_to


def test_given_up_after_the_production_window_saying_who_has_it_and_sent_again_to_the_rest(
    smtp_sink, ecology, weifang_open, settings
):
    smtp_sink.refuse["second@sthj.example"] = GREYLISTED
    comment_routed(weifang_open)
    deliver(ecology)
    email = OutgoingEmail.objects.get(notifications__department=ecology)
    started = email.failing_since
    while email.status == OutgoingEmail.Status.PENDING:
        with after_the_retry_time(email):
            deliver(ecology)
        email.refresh_from_db()
        assert email.failing_since == started  # one failure without a break
    assert email.failed_at - started >= datetime.timedelta(seconds=settings.NOTIFY_GIVE_UP_AFTER)
    assert email.status == OutgoingEmail.Status.FAILED
    # Found by a review: the note of the last retry, "will be tried again", stayed.
    assert "second@sthj.example" in email.last_error and "已不再重试" in email.last_error
    assert "将重试" not in email.last_error and "已发往" in email.last_error
    assert Notification.objects.get(department=ecology).status == Notification.Status.FAILED
    took_it = set(email.to) - {"second@sthj.example"}
    assert {address for m in smtp_sink.received() for address in m.to} == took_it
    assert all(len(m.to) == 2 for m in smtp_sink.received()) and len(smtp_sink.received()) == 1

    # "Send again" once the mailbox takes mail: to it alone.
    del smtp_sink.refuse["second@sthj.example"]
    with time_machine.travel(email.failed_at + datetime.timedelta(hours=1), tick=True):
        assert email_resend(email)
        deliver(ecology)
    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.SENT
    assert [m.to for m in smtp_sink.received()][1:] == [["second@sthj.example"]]


def test_a_withdrawn_comment_s_partly_delivered_email_is_kept_and_goes_to_nobody_more(
    smtp_sink, ecology, weifang_open
):
    """Withdrawing deletes the unsent emails of a comment (it left the department): this one
    had gone to two mailboxes, so it stays as the record. A review found it still went, with
    the submitter's contact, to the third once it took mail."""
    smtp_sink.refuse["second@sthj.example"] = GREYLISTED
    comment_routed(weifang_open)
    deliver(ecology)
    email = OutgoingEmail.objects.get(notifications__department=ecology)
    assert email.sent_at is not None  # when it first reached someone
    notifications_unsent_withdraw(Notification.objects.filter(department=ecology))
    email.refresh_from_db()
    assert len(email.delivered_to) == 2 and email.status == OutgoingEmail.Status.SENT
    assert email.next_attempt_at is None and "second@sthj.example" in email.last_error
    assert email.notifications.get().status == Notification.Status.SENT

    del smtp_sink.refuse["second@sthj.example"]
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=1), tick=True):
        deliver(ecology)
        assert email_resend(email) == []  # sent: nothing to send again
    assert len(smtp_sink.received()) == 1


def test_an_email_whose_remaining_mailbox_was_removed_is_sent_to_those_who_have_it(
    smtp_sink, ecology, weifang_open
):
    smtp_sink.refuse["second@sthj.example"] = GREYLISTED
    comment_routed(weifang_open)
    deliver(ecology)
    email = OutgoingEmail.objects.get(notifications__department=ecology)
    Mailbox.objects.filter(email="second@sthj.example").delete()
    directory_changed()
    OutgoingEmail.objects.filter(pk=email.pk).update(status=OutgoingEmail.Status.FAILED)
    email.refresh_from_db()
    with after_the_retry_time(email):
        assert email_resend(email)
        deliver(ecology)
    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.SENT
    assert len(smtp_sink.received()) == 1  # no one got it twice, no failure for want of a recipient


class CountingRefusals(dict):
    """The smtp_sink's refusals, counting how often the relay was asked about each address (once
    per RCPT)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.asked = collections.Counter()

    def get(self, address, default=None):
        self.asked[address] += 1
        return super().get(address, default)


def test_the_rest_refused_for_good_on_the_retry_is_sent_to_those_who_have_it_not_failed(
    smtp_sink, ecology, weifang_open
):
    """Found by a review: a partly delivered email whose remaining mailbox answered 550 on the
    retry was marked failed, its notification too, and its note no longer said who had it."""
    smtp_sink.refuse["second@sthj.example"] = GREYLISTED
    comment_routed(weifang_open)
    deliver(ecology)
    email = OutgoingEmail.objects.get(notifications__department=ecology)
    smtp_sink.refuse["second@sthj.example"] = NO_SUCH_MAILBOX
    with after_the_retry_time(email):
        result = deliver(ecology)
    email.refresh_from_db()
    assert result.sent == [email.pk] and result.failed == []
    assert email.status == OutgoingEmail.Status.SENT
    assert "second@sthj.example" in email.last_error and "550" in email.last_error
    assert list(email.refused_for_good) == ["second@sthj.example"]
    assert Notification.objects.get(department=ecology).status == Notification.Status.SENT
    assert len(smtp_sink.received()) == 1


def test_a_mailbox_refused_for_good_is_not_asked_again_while_another_waits(
    smtp_sink, ecology, weifang_open
):
    """Found by a review: it was given on every retry, and got the email once it took mail."""
    smtp_sink.refuse = CountingRefusals(
        {"second@sthj.example": GREYLISTED, "third@sthj.example": NO_SUCH_MAILBOX}
    )
    comment_routed(weifang_open)
    deliver(ecology)
    email = OutgoingEmail.objects.get(notifications__department=ecology)
    for _retry in range(2):
        with after_the_retry_time(email):
            deliver(ecology)
        email.refresh_from_db()
    assert smtp_sink.refuse.asked["second@sthj.example"] == 3
    assert smtp_sink.refuse.asked["third@sthj.example"] == 1
    assert "已发往" in email.last_error and "550" in email.last_error  # who has it, still

    del smtp_sink.refuse["second@sthj.example"], smtp_sink.refuse["third@sthj.example"]
    with after_the_retry_time(email):
        deliver(ecology)
    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.SENT
    assert [m.to for m in smtp_sink.received()][1:] == [["second@sthj.example"]]
    assert "third@sthj.example" in email.last_error  # named, not sent


def test_a_mailbox_retyped_in_capitals_is_the_same_mailbox(smtp_sink, ecology, weifang_open):
    """Found by a review: "send again" after a mailbox's case was edited sent it a second copy."""
    smtp_sink.refuse["second@sthj.example"] = GREYLISTED
    comment_routed(weifang_open)
    deliver(ecology)
    email = OutgoingEmail.objects.get(notifications__department=ecology)
    Mailbox.objects.filter(email="third@sthj.example").update(email="Third@sthj.example")
    directory_changed()
    del smtp_sink.refuse["second@sthj.example"]
    OutgoingEmail.objects.filter(pk=email.pk).update(status=OutgoingEmail.Status.FAILED)
    with after_the_retry_time(email):
        assert email_resend(email)
        deliver(ecology)
    received = [address.lower() for m in smtp_sink.received() for address in m.to]
    assert sorted(received) == sorted(address.lower() for address in email.to)


def test_a_data_refusal_for_good_on_the_retry_leaves_it_sent_to_those_who_have_it(
    smtp_sink, ecology, weifang_open, monkeypatch
):
    """Found by a review: a 554 to the retry's message (not to a mailbox) failed the email and
    its notification, and its note no longer said who had it."""
    smtp_sink.refuse["second@sthj.example"] = GREYLISTED
    comment_routed(weifang_open)
    deliver(ecology)
    email = OutgoingEmail.objects.get(notifications__department=ecology)
    del smtp_sink.refuse["second@sthj.example"]
    monkeypatch.setattr(smtplib.SMTP, "data", lambda self, msg: (554, b"5.7.1 rejected"))
    with after_the_retry_time(email):
        result = deliver(ecology)
    email.refresh_from_db()
    assert result.sent == [email.pk] and email.status == OutgoingEmail.Status.SENT
    assert "second@sthj.example" in email.last_error and "554" in email.last_error
    assert Notification.objects.get(department=ecology).status == Notification.Status.SENT


def test_a_broken_connection_on_the_retry_keeps_saying_who_has_it(
    smtp_sink, ecology, weifang_open, monkeypatch
):
    smtp_sink.refuse["second@sthj.example"] = GREYLISTED
    comment_routed(weifang_open)
    deliver(ecology)
    email = OutgoingEmail.objects.get(notifications__department=ecology)
    del smtp_sink.refuse["second@sthj.example"]

    def broken(self, msg):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(smtplib.SMTP, "data", broken)
    with after_the_retry_time(email):
        deliver(ecology)
    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.PENDING and email.attempts == 2
    assert "已发往" in email.last_error and "SMTPServerDisconnected" in email.last_error


def test_recipients_refused_some_for_good_some_for_now_ask_only_these_again(
    smtp_sink, ecology, weifang_open
):
    """Found by a review: when every mailbox refused, the 5xx ones were asked on each retry."""
    everyone = ["sthjj@weifang.example", "second@sthj.example", "third@sthj.example"]
    assert sorted(Mailbox.objects.filter(department=ecology).values_list("email", flat=True)) == (
        sorted(everyone)
    )
    smtp_sink.refuse = CountingRefusals(
        {
            "sthjj@weifang.example": NO_SUCH_MAILBOX,
            "second@sthj.example": GREYLISTED,
            "third@sthj.example": NO_SUCH_MAILBOX,
        }
    )
    comment_routed(weifang_open)
    deliver(ecology)
    email = OutgoingEmail.objects.get(notifications__department=ecology)
    assert email.status == OutgoingEmail.Status.PENDING and email.delivered_to == []
    assert sorted(email.refused_for_good) == ["sthjj@weifang.example", "third@sthj.example"]
    assert "已发往" not in email.last_error
    with after_the_retry_time(email):
        deliver(ecology)
    assert smtp_sink.refuse.asked == {a: 2 if a.startswith("second") else 1 for a in everyone}

    del smtp_sink.refuse["second@sthj.example"]
    email.refresh_from_db()
    with after_the_retry_time(email):
        deliver(ecology)
    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.SENT
    assert [m.to for m in smtp_sink.received()] == [["second@sthj.example"]]


def test_a_mailbox_switched_off_while_its_email_waits_for_a_retry_is_not_sent_it(
    smtp_sink, ecology, weifang_open
):
    """The retry went to the addresses as built: a mailbox switched off meanwhile (someone who
    left the bureau) got the submitter's contact details on a retry."""
    for address in ("sthjj@weifang.example", "second@sthj.example", "third@sthj.example"):
        smtp_sink.refuse[address] = GREYLISTED
    comment_routed(weifang_open)
    deliver(ecology)
    email = OutgoingEmail.objects.get(notifications__department=ecology)
    assert email.status == OutgoingEmail.Status.PENDING and not smtp_sink.received()
    Mailbox.objects.filter(email="third@sthj.example").update(is_active=False)
    directory_changed()  # an update() sends no signal
    smtp_sink.refuse.clear()
    with after_the_retry_time(email):
        deliver(ecology)
    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.SENT
    assert [address for address, _id in arrivals(smtp_sink)] == [
        "second@sthj.example",
        "sthjj@weifang.example",
    ]
    assert "third@sthj.example" not in email.to


def test_an_email_whose_mailboxes_were_all_replaced_while_it_waited_goes_to_the_new_one(
    smtp_sink, ecology, weifang_open
):
    """Mailboxes are fixed because mail to them fails: with only the old ones dropped, the
    retry had nobody left and failed for good."""
    for address in ("sthjj@weifang.example", "second@sthj.example", "third@sthj.example"):
        smtp_sink.refuse[address] = GREYLISTED
    comment_routed(weifang_open)
    deliver(ecology)
    email = OutgoingEmail.objects.get(notifications__department=ecology)
    Mailbox.objects.filter(department=ecology).update(is_active=False)
    Mailbox.objects.create(department=ecology, email="new@sthj.example")
    directory_changed()
    with after_the_retry_time(email):
        deliver(ecology)
    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.SENT
    assert [address for address, _id in arrivals(smtp_sink)] == ["new@sthj.example"]
    assert email.to == ["new@sthj.example"]
