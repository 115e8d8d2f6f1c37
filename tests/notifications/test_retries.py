"""Retries are scheduled on the email, not swept; the sweep re-sends only lost hand-offs; each
email is claimed just before its own send; give-up is by time (issue 16)."""

import datetime
import smtplib
import time
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.db import OperationalError
from django.utils import timezone

from consult.comments.services import comment_submit
from consult.notifications import delivery, outbox, tasks
from consult.notifications.delivery import deliver, email_claim, emails_build, emails_send
from consult.notifications.models import Notification, OutgoingEmail
from consult.notifications.outbox import notification_write, outbox_sweep
from consult.testing.services import wait_for

pytestmark = pytest.mark.django_db


class FailingConnection:
    def open(self):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    def close(self):
        pass


@pytest.fixture
def broker(monkeypatch):
    """A broker stand-in: delivery tasks are recorded, not run (as a real queue holds them)."""
    monkeypatch.setitem(tasks.deliver_notifications.app.conf, "task_always_eager", False)
    monkeypatch.setitem(
        tasks.deliver_notifications.app.conf,
        "broker_transport_options",
        {"visibility_timeout": 3600},
    )
    outbox.broker_breaker.closed_until = 0
    with mock.patch.object(tasks.deliver_notifications, "apply_async") as apply_async:
        yield apply_async


def handed(apply_async) -> list[int]:
    ids = [pk for call in apply_async.call_args_list for pk in call.kwargs["args"][0]]
    apply_async.reset_mock()
    return ids


def receipt_of(weifang_open, n=1):
    comment_submit(
        consultation=weifang_open,
        clause=weifang_open.clauses.get(label="二(一)1"),
        body=f"第{n}条意见：建议明确集聚区评价指标并公开结果。",
        channel="web",
        consent=True,
        phone=f"1381234{n:04d}",
        email=f"citizen{n}@example.cn",
    )
    # Only the receipt: the departments' notifications would be swept too (never handed over).
    Notification.objects.exclude(kind="receipt").delete()
    receipt = Notification.objects.get(kind="receipt", to=[f"citizen{n}@example.cn"])
    outbox.notifications_mark_published([receipt.pk])  # as the hand-off after the commit does
    return receipt


def failed_once(receipt, broker, now):
    """The receipt's first send fails; its task schedules the retry as the worker does."""
    with mock.patch.object(
        delivery, "get_connection", side_effect=lambda **kw: FailingConnection()
    ):
        result = deliver([receipt.pk], now=now)
    outbox.retry_publish(result.retry_ids, result.retry_in)
    assert handed(broker) == [receipt.pk]
    return OutgoingEmail.objects.get(notifications=receipt)


def test_an_email_waiting_for_its_retry_is_left_alone_by_tasks_and_sweeps(weifang_open, broker):
    receipt = receipt_of(weifang_open)
    start = timezone.now()
    email = failed_once(receipt, broker, start)
    assert email.next_attempt_at > start and email.failing_since is not None
    # A stray task (a sweep's, a redelivery) before the retry time neither tries nor schedules.
    result = deliver([receipt.pk])
    assert result.retry_ids == [] and result.sent == []
    email.refresh_from_db()
    assert email.attempts == 1
    # The sweep, every minute until the broker's visibility timeout: the retry is still queued.
    for minutes in range(1, 60):
        with time_machine.travel(start + datetime.timedelta(minutes=minutes), tick=False):
            assert outbox_sweep() == 0
    # Its message was lost: after the visibility timeout the sweep sends it, once per window.
    later = start + datetime.timedelta(seconds=3601)
    assert outbox_sweep(now=later) == 1
    assert handed(broker) == [receipt.pk]
    assert outbox_sweep(now=later) == 0
    assert outbox_sweep(now=later + datetime.timedelta(minutes=59)) == 0
    receipt.refresh_from_db()
    assert receipt.publications == 3  # first hand-off, the retry, the sweep


def test_the_sweep_resends_only_what_was_never_handed_over_or_is_long_lost(weifang_open, broker):
    now = timezone.now()
    never = notification_write(kind="reminder", key="never", to=["a@example.cn"], publish=False)
    queued = notification_write(kind="reminder", key="queued", to=["b@example.cn"], publish=False)
    outbox.notifications_mark_published([queued.pk], now=now)
    with time_machine.travel(now + datetime.timedelta(seconds=1), tick=False):
        assert outbox_sweep() == 0  # within the grace after the commit
    with time_machine.travel(now + datetime.timedelta(seconds=121), tick=False):
        assert outbox_sweep() == 1
        assert handed(broker) == [never.pk]
        # Sweeps back to back (or one beat message run twice) do not send it again.
        assert outbox_sweep() == 0
    with time_machine.travel(now + datetime.timedelta(seconds=3601), tick=False):
        assert outbox_sweep() == 1
        assert handed(broker) == [queued.pk]


def test_a_sweep_the_broker_refuses_leaves_the_rows_for_the_next(weifang_open, broker):
    now = timezone.now()
    row = notification_write(kind="reminder", key="r", to=["a@example.cn"], publish=False)
    broker.side_effect = ConnectionError("Redis is down")
    with time_machine.travel(now + datetime.timedelta(seconds=121), tick=False):
        assert outbox_sweep() == 0
    row.refresh_from_db()
    assert (row.published_at, row.publications) == (None, 0)
    broker.side_effect = None
    with time_machine.travel(now + datetime.timedelta(seconds=122), tick=False):
        assert outbox_sweep() == 1


def test_an_email_abandoned_by_a_dead_worker_is_resent_once_after_its_lease(
    weifang_open, broker, settings
):
    settings.NOTIFY_LEASE_SECONDS = 120
    receipt = receipt_of(weifang_open)
    [email_id] = emails_build([receipt.pk], now=timezone.now())
    start = timezone.now()
    assert email_claim(email_id, now=start)  # then the worker is SIGKILLed
    assert outbox_sweep(now=start + datetime.timedelta(seconds=119)) == 0  # still leased
    after = start + datetime.timedelta(seconds=121)
    assert outbox_sweep(now=after) == 1
    assert handed(broker) == [receipt.pk]
    assert outbox_sweep(now=after + datetime.timedelta(seconds=60)) == 0


def test_an_email_that_keeps_killing_its_worker_is_given_up(weifang_open, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 3
    settings.NOTIFY_LEASE_SECONDS = 120
    receipt = receipt_of(weifang_open)
    [email_id] = emails_build([receipt.pk], now=timezone.now())
    moment = timezone.now()
    for _lost in range(3):
        assert email_claim(email_id, now=moment)  # each holder dies mid-send
        moment += datetime.timedelta(seconds=121)
    mail.outbox.clear()
    with time_machine.travel(moment, tick=False):
        result = emails_send([email_id])
    email = OutgoingEmail.objects.get(pk=email_id)
    assert result.failed == [email_id] and mail.outbox == []
    assert email.status == "failed" and "interrupted 3 times" in email.last_error


def test_a_slow_server_cannot_make_two_processes_send_one_email(weifang_open, settings):
    """The first email takes longer than a lease to send. Another process meanwhile takes up
    the second email; the first process must not send it as well when its turn comes."""
    settings.NOTIFY_LEASE_SECONDS = 120
    first, second = receipt_of(weifang_open, 1), receipt_of(weifang_open, 2)
    email_ids = emails_build([first.pk, second.pk], now=timezone.now())
    sent = []

    class SlowConnection:
        def open(self):
            return True

        def close(self):
            pass

        def send_messages(self, messages):
            [message] = messages
            sent.append(("slow", message.to[0]))
            if message.to == ["citizen1@example.cn"]:
                # 121 s later, on another worker: the second email's lease (had it been claimed
                # with the batch) has run out, so that worker claims and sends it.
                later = timezone.now() + datetime.timedelta(seconds=121)
                second_email = OutgoingEmail.objects.get(to=["citizen2@example.cn"])
                if email_claim(second_email.pk, now=later):
                    sent.append(("other", "citizen2@example.cn"))
                    delivery.email_mark_sent(second_email)
            return 1

    with mock.patch.object(delivery, "get_connection", side_effect=lambda **kw: SlowConnection()):
        emails_send(email_ids)
    assert [to for _who, to in sent].count("citizen2@example.cn") == 1, sent
    assert set(OutgoingEmail.objects.values_list("status", flat=True)) == {"sent"}


def test_rows_a_task_took_up_and_never_finished_are_resent_after_a_lease(
    weifang_open, broker, settings
):
    """Its worker was killed mid-task: the broker would give the message back only after its
    visibility timeout (an hour); the sweep re-sends the rows after a lease."""
    settings.NOTIFY_LEASE_SECONDS = 120
    start = timezone.now()
    row = notification_write(kind="reminder", key="r", to=["a@example.cn"], publish=False)
    outbox.notifications_mark_published([row.pk], now=start)
    Notification.objects.filter(pk=row.pk).update(taken_up_at=start + datetime.timedelta(seconds=1))
    assert outbox_sweep(now=start + datetime.timedelta(seconds=100)) == 0
    assert outbox_sweep(now=start + datetime.timedelta(seconds=122)) == 1
    assert handed(broker) == [row.pk]
    assert outbox_sweep(now=start + datetime.timedelta(seconds=200)) == 0


def worker_takes_it_up_at_once(*, args, **options):
    """An idle worker starts the task before the publisher goes on (then its process dies)."""
    Notification.objects.filter(pk__in=args[0]).update(taken_up_at=timezone.now())
    time.sleep(0.005)  # the publisher records the hand-off a moment later


def assert_resent_a_lease_after_it_was_taken_up(row, broker):
    row.refresh_from_db()
    assert row.published_at <= row.taken_up_at
    handed(broker)
    lease_later = row.taken_up_at + datetime.timedelta(seconds=121)
    assert outbox_sweep(now=lease_later) == 1
    assert handed(broker) == [row.pk]


def test_a_task_that_died_before_finishing_is_resent_after_a_lease_however_soon_it_started(
    weifang_open, broker, settings
):
    """The hand-off is recorded with the moment before the publish: the sweep's "taken up since
    its hand-off" holds for a task started before the publisher recorded it, and the rows are
    re-sent after a lease, not after the broker's visibility timeout (an hour)."""
    settings.NOTIFY_LEASE_SECONDS = 120
    settings.NOTIFY_PUBLISH_IN_BACKGROUND = False
    row = notification_write(kind="reminder", key="r", to=["a@example.cn"], publish=False)
    broker.side_effect = worker_takes_it_up_at_once
    outbox.notification_publish(row)
    assert_resent_a_lease_after_it_was_taken_up(row, broker)


# Committed for real: the publisher thread reads and writes the rows on its own connection.
@pytest.mark.django_db(transaction=True)
def test_the_publisher_thread_records_the_moment_before_its_hand_off(
    weifang_open, broker, settings
):
    settings.NOTIFY_LEASE_SECONDS = 120
    settings.NOTIFY_PUBLISH_IN_BACKGROUND = True
    settings.NOTIFY_PUBLISH_LINGER_SECONDS = 0
    row = notification_write(kind="reminder", key="r", to=["a@example.cn"], publish=False)
    broker.side_effect = worker_takes_it_up_at_once
    outbox.notification_publish(row)
    # The thread records the hand-off after `flush` is answered.
    wait_for(
        lambda: Notification.objects.filter(pk=row.pk, published_at__isnull=False).exists(),
        timeout=10,
        message="the hand-off to be recorded",
    )
    assert_resent_a_lease_after_it_was_taken_up(row, broker)


class Aborted(Exception):
    """What psycopg raises for a transaction PostgreSQL aborted (its SQLSTATE)."""

    def __init__(self, sqlstate):
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def aborted_once(build, sqlstate="40P01"):
    """emails_build, aborted as by a deadlock the first time it is called."""
    calls = []

    def building(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            try:
                raise Aborted(sqlstate)
            except Aborted as cause:
                raise OperationalError("deadlock detected") from cause
        return build(*args, **kwargs)

    return building, calls


def test_a_build_aborted_by_a_deadlock_is_built_again_not_left_to_the_sweep(weifang_open):
    """`bench/intake.py --end-to-end` met it twice in six runs: two statements locking the same
    notifications in different orders; the task failed, its batch taken up and never built."""
    receipt = receipt_of(weifang_open)
    building, calls = aborted_once(delivery.emails_build)
    with mock.patch.object(delivery, "emails_build", building):
        result = delivery.deliver([receipt.pk])
    receipt.refresh_from_db()
    assert len(calls) == 2 and receipt.status == Notification.Status.SENT
    assert result.sent == [receipt.email_id]


def test_other_database_errors_are_not_tried_again(weifang_open):
    receipt = receipt_of(weifang_open)
    building, calls = aborted_once(delivery.emails_build, sqlstate="23505")
    with mock.patch.object(delivery, "emails_build", building), pytest.raises(OperationalError):
        delivery.deliver([receipt.pk])
    assert len(calls) == 1
