"""One email's own fault, through a real Redis, Celery worker and SMTP server: an address that
cannot be sanitized, a department with nobody to mail, a relay slower than a lease. That email
ends as it must, at once; the rest of its batch goes out once, undelayed."""

import asyncio
import collections

import pytest

from consult.comments.services import comment_submit
from consult.consultations.directory import directory_changed
from consult.consultations.models import Department, Mailbox
from consult.notifications.models import Notification, OutgoingEmail
from consult.testing.services import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def submit(consultation, label, n, *, email=""):
    return comment_submit(
        consultation=consultation,
        clause=consultation.clauses.get(label=label),
        body=f"第{n}号意见：建议进一步明确评价指标、扶持政策和时间安排。",
        channel="web",
        consent=True,
        email=email,
    ).comment


def emails_of(name):
    return OutgoingEmail.objects.filter(notifications__department__name=name).distinct()


def test_a_half_addressable_email_reaches_its_good_mailbox_and_an_unaddressed_one_fails(
    stack, weifang_live
):
    # Stored before mailboxes were checked on loading: two addresses in one.
    fgw = Department.objects.get(name="市发改委")
    Mailbox.objects.create(department=fgw, email="x@y.cn;z@w.cn")
    Mailbox.objects.filter(department__name="市生态环境局").update(is_active=False)
    directory_changed()
    for n in range(3):
        # 市发改委 leads, six departments cooperate; the citizen's receipt too.
        submit(weifang_live, "二(一)1", n, email=f"citizen{n}@example.cn")
    submit(weifang_live, "二(四)2", 3)  # 市生态环境局 alone

    wait_for(
        lambda: not Notification.objects.filter(status=Notification.Status.PENDING).exists(),
        timeout=30,
        interval=0.25,
        message="every notification to be sent or given up on (a batch held up would wait "
        "for leases to run out)",
    )
    # 市发改委's good mailbox still hears; the bad one is named on the email.
    half_addressed, unaddressed = emails_of("市发改委"), emails_of("市生态环境局")
    assert half_addressed.count() == 3 and unaddressed.count() == 1
    for email in half_addressed:
        assert (email.status, email.attempts) == ("sent", 1)
        assert email.last_error == "以下地址无效，未发往：x@y.cn;z@w.cn"
    email = unaddressed.get()
    assert (email.status, email.lease_until, email.next_attempt_at) == ("failed", None, None)
    assert (email.attempts, email.interrupted) == (1, 0)
    assert "没有收件人" in email.last_error

    sent = OutgoingEmail.objects.filter(status=OutgoingEmail.Status.SENT)
    assert sent.count() == 3 * (6 + 1) + 3
    arrived = collections.Counter(message.message_id for message in stack.smtp.received())
    assert arrived == dict.fromkeys(sent.values_list("message_id", flat=True), 1)


RCPT_SECONDS = 1.0


def test_a_send_slower_than_a_lease_is_sent_once(stack, weifang_live):
    """Sixteen addresses at a second each: 16 s of sending against the 12 s lease (EMAIL_TIMEOUT
    is 5 s, each answer well within it). The sweep, every second, sees no lease run out."""
    lease = float(stack.env["NOTIFY_LEASE_SECONDS"])
    assert lease < 16 * RCPT_SECONDS
    ecology = Department.objects.get(name="市生态环境局")
    Mailbox.objects.bulk_create(
        Mailbox(department=ecology, email=f"staff{n}@sthj.example") for n in range(15)
    )
    directory_changed()
    handler = stack.smtp._controller.handler  # read by each new SMTP session
    answer = handler.handle_RCPT

    async def slow_answer(*args):
        await asyncio.sleep(RCPT_SECONDS)
        return await answer(*args)

    handler.handle_RCPT = slow_answer
    submit(weifang_live, "二(四)2", 1)  # 市生态环境局 alone
    wait_for(
        lambda: OutgoingEmail.objects.filter(status=OutgoingEmail.Status.SENT).exists(),
        timeout=60,
        interval=0.25,
        message="the email to be sent",
    )
    email = OutgoingEmail.objects.get()
    # Claimed once: no other process took it while it was being sent (a second claim, after a
    # lease of 12 s, would have come before the first send ended).
    assert (email.attempts, email.interrupted, email.lease_until) == (1, 0, None)
    [message] = stack.smtp.received()
    assert len(message.to) == 16
