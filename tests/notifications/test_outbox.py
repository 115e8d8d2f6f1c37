"""The outbox and delivery rules, fast and in-process (locmem mail, eager tasks).

The same rules run against a real Redis, worker and SMTP server in tests/integration.
"""

import datetime
import smtplib
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from consult.comments.services import comment_submit
from consult.consultations.directory import directory_changed
from consult.consultations.models import Department
from consult.notifications import delivery
from consult.notifications.delivery import deliver, email_claim, email_resend, retry_delay
from consult.notifications.models import Notification, OutgoingEmail
from consult.notifications.outbox import digest_due_at, notification_write, outbox_sweep
from consult.testing.services import unavailable
from tests.support.jobs import due_jobs_run

pytestmark = pytest.mark.django_db
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def at(*args):
    return datetime.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def item(weifang_open):
    return weifang_open.clauses.get(label="二(一)1")


def submit(consultation, clause, n, **extra):
    return comment_submit(
        consultation=consultation,
        clause=clause,
        body=f"第{n}条意见：建议明确集聚区评价指标并公开结果。",
        channel="web",
        consent=True,
        phone=f"1381234{n:04d}",
        **extra,
    ).comment


class TestDigestMoments:
    def test_immediate(self, db):
        department = Department(name="甲", digest_mode="immediate")
        now = at(2024, 10, 20, 9, 3, 7)
        assert digest_due_at(department, now) == now

    def test_windows_are_aligned_on_the_clock(self, db):
        department = Department(name="甲", digest_mode="window", digest_window_minutes=10)
        assert digest_due_at(department, at(2024, 10, 20, 9, 0, 0)) == at(2024, 10, 20, 9, 10)
        assert digest_due_at(department, at(2024, 10, 20, 9, 9, 59)) == at(2024, 10, 20, 9, 10)
        assert digest_due_at(department, at(2024, 10, 20, 9, 10, 0)) == at(2024, 10, 20, 9, 20)

    def test_daily_at_eight_beijing_time(self, db, settings):
        settings.NOTIFY_DAILY_DIGEST_HOUR = 8
        department = Department(name="甲", digest_mode="daily")
        assert digest_due_at(department, at(2024, 10, 20, 7, 59)) == at(2024, 10, 20, 8, 0)
        assert digest_due_at(department, at(2024, 10, 20, 8, 0)) == at(2024, 10, 21, 8, 0)
        assert digest_due_at(department, at(2024, 10, 20, 23, 30)) == at(2024, 10, 21, 8, 0)


def test_a_comment_writes_one_notification_per_routed_department_and_a_receipt(weifang_open, item):
    comment = submit(weifang_open, item, 1, email="citizen@example.cn")
    routed = Notification.objects.filter(comment=comment, kind="comment_routed")
    assert sorted(routed.values_list("department__name", flat=True)) == sorted(
        comment.routes.values_list("department__name", flat=True)
    )
    for notification in routed.select_related("department"):
        assert notification.to == list(
            notification.department.mailboxes.values_list("email", flat=True)
        )
    assert Notification.objects.get(comment=comment, kind="receipt").to == ["citizen@example.cn"]


def test_the_same_key_is_written_once(weifang_open):
    first = notification_write(kind="reminder", key="reminder:x", to=["a@example.cn"])
    second = notification_write(kind="reminder", key="reminder:x", to=["a@example.cn"])
    assert first is not None and second is None
    assert Notification.objects.filter(key="reminder:x").count() == 1


def test_comments_in_one_window_become_one_digest_per_department(weifang_open, item):
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        comments = [submit(weifang_open, item, n) for n in range(5)]
    department_count = comments[0].routes.count()
    assert mail.outbox == []  # nothing goes out before the window closes
    with time_machine.travel(start + datetime.timedelta(minutes=11), tick=False):
        due_jobs_run()
    assert len(mail.outbox) == department_count
    for message in mail.outbox:
        for comment in comments:
            assert comment.tracking_number in message.body
            # Each comment's own admin link, however the batch made them.
            change = reverse("admin:comments_comment_change", args=[comment.pk])
            assert f"{settings.SITE_URL}{change}" in message.body
        assert "5" in message.subject
    # Running the job again sends nothing more.
    with time_machine.travel(start + datetime.timedelta(minutes=12), tick=False):
        due_jobs_run()
    assert len(mail.outbox) == department_count
    assert OutgoingEmail.objects.count() == department_count
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


def test_a_digest_lists_its_first_comments_and_counts_the_rest(weifang_open, item, settings):
    # A lower cap than the default (50) so that five comments overflow it.
    settings.NOTIFY_DIGEST_MAX_ITEMS = 3
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        comments = [submit(weifang_open, item, n) for n in range(5)]
    department = comments[0].routes.get(is_owner=True).department
    department.mailboxes.create(email="second-box@example.cn")  # after the first comments
    with time_machine.travel(start, tick=False):
        comments.append(submit(weifang_open, item, 5))
    with time_machine.travel(start + datetime.timedelta(minutes=11), tick=False):
        due_jobs_run()
    mailboxes = set(department.mailboxes.values_list("email", flat=True))
    [message] = [m for m in mail.outbox if set(m.to) & mailboxes]
    # Every member's addresses, the unlisted ones' too.
    assert "second-box@example.cn" in message.to
    assert "6 条" in message.subject  # it stands for all of them
    listed, unlisted = comments[:3], comments[3:]
    for comment in listed:
        assert comment.tracking_number in message.body
    for comment in unlisted:
        assert comment.tracking_number not in message.body
    queue = reverse("admin:comments_comment_changelist")
    link = f"{settings.SITE_URL}{queue}?consultation__id__exact={weifang_open.pk}"
    assert f"另有 3 条意见未在此列出，请在管理后台查看：{link}\n" in message.body
    [(html, _type)] = message.alternatives
    assert f'<a href="{link}">本事项的全部意见</a>' in html and "另有 3 条意见" in html
    # All six are in that one email and sent with it; nothing is left to send.
    email = OutgoingEmail.objects.get(message_id=message.extra_headers["Message-ID"])
    members = Notification.objects.filter(department=department, kind="comment_routed")
    assert set(members.values_list("email", "status")) == {(email.pk, "sent")}
    assert members.count() == 6


def test_only_the_owner_sees_the_contact_details(weifang_open, item):
    comment = submit(weifang_open, item, 7, email="citizen@example.cn")
    mail.outbox.clear()
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=11)):
        due_jobs_run()
    owner = comment.routes.get(is_owner=True).department
    owner_boxes = set(owner.mailboxes.values_list("email", flat=True))
    to_departments = [m for m in mail.outbox if m.to != ["citizen@example.cn"]]
    assert len(to_departments) == comment.routes.count()
    for message in to_departments:
        shows_phone = comment.phone in message.body
        assert shows_phone == bool(set(message.to) & owner_boxes), message.to
        assert comment.tracking_number in message.body
        assert "牵头" in message.body or "配合" in message.body


def test_message_ids_are_stable_across_retries(weifang_open, item):
    submit(weifang_open, item, 1, email="citizen@example.cn")
    receipt = Notification.objects.get(kind="receipt")
    with mock.patch.object(
        delivery, "get_connection", side_effect=lambda **kw: FailingConnection()
    ):
        result = deliver([receipt.pk])
    assert result.retry_ids == [receipt.pk] and result.sent == []
    email = OutgoingEmail.objects.get()
    assert (email.status, email.attempts) == ("pending", 1)
    assert "SMTPServerDisconnected" in email.last_error
    assert result.retry_in == pytest.approx(
        (email.next_attempt_at - timezone.now()).total_seconds(), abs=1
    )
    mail.outbox.clear()
    with time_machine.travel(email.next_attempt_at):
        deliver([receipt.pk])
    email.refresh_from_db()
    assert email.status == "sent" and email.attempts == 2
    assert [m.extra_headers["Message-ID"] for m in mail.outbox] == [email.message_id]


def test_gives_up_after_failing_for_the_give_up_time_not_after_a_count(
    weifang_open, item, settings
):
    settings.NOTIFY_MAX_ATTEMPTS = 3  # counts lost workers, not failed sends
    settings.NOTIFY_GIVE_UP_AFTER = 48 * 3600
    submit(weifang_open, item, 1, email="citizen@example.cn")
    receipt = Notification.objects.get(kind="receipt")
    start = timezone.now()
    with mock.patch.object(
        delivery, "get_connection", side_effect=lambda **kw: FailingConnection()
    ):
        deliver([receipt.pk], now=start)
        email = OutgoingEmail.objects.get()
        for _attempt in range(12):
            email.refresh_from_db()
            if email.status != "pending":
                break
            with time_machine.travel(email.next_attempt_at, tick=False):
                deliver([receipt.pk])
    email.refresh_from_db()
    receipt.refresh_from_db()
    # Thirteen failed sends over some hours, four times the "max attempts": still waiting.
    assert (email.status, receipt.status) == ("pending", "pending"), "gave up too early"
    assert email.attempts == 13 and email.failing_since is not None
    with (
        mock.patch.object(delivery, "get_connection", side_effect=lambda **kw: FailingConnection()),
        time_machine.travel(email.failing_since + datetime.timedelta(hours=48), tick=False),
    ):
        deliver([receipt.pk])
    email.refresh_from_db()
    receipt.refresh_from_db()
    assert (email.status, receipt.status) == ("failed", "failed")
    assert email.failed_at is not None and "SMTPServerDisconnected" in email.last_error
    # The admin's resend puts it back, and it goes out.
    deliver(email_resend(email))
    email.refresh_from_db()
    assert email.status == "sent"


def test_a_permanent_refusal_fails_at_once_and_spares_the_others(weifang_open, item):
    submit(weifang_open, item, 1, email="nobody@bounce.example")
    submit(weifang_open, item, 2, email="citizen@example.cn")
    receipts = list(Notification.objects.filter(kind="receipt").order_by("pk"))
    with mock.patch.object(
        delivery,
        "get_connection",
        side_effect=lambda **kw: RefusingConnection("nobody@bounce.example"),
    ):
        result = deliver([n.pk for n in receipts])
    assert len(result.failed) == 1 and len(result.sent) == 1 and result.retry_ids == []
    statuses = {
        tuple(to): status for to, status in OutgoingEmail.objects.values_list("to", "status")
    }
    assert statuses == {("nobody@bounce.example",): "failed", ("citizen@example.cn",): "sent"}
    assert "550" in OutgoingEmail.objects.get(status="failed").last_error


@pytest.mark.parametrize("code", [550, 451])
def test_a_refused_address_stays_out_of_the_log(weifang_open, item, caplog, code):
    """The relay's refusal names the citizen's address. The outbox keeps it (the retention job
    removes it there); a log line, kept for months out of that job's reach, does not."""
    submit(weifang_open, item, 1, email="zhang.san@bounce.example")
    receipt = Notification.objects.get(kind="receipt")

    class Refusing(RefusingConnection):
        def send_messages(self, messages):
            raise smtplib.SMTPRecipientsRefused(
                {self.refused: (code, b"<zhang.san@bounce.example>")}
            )

    with mock.patch.object(
        delivery, "get_connection", side_effect=lambda **kw: Refusing("zhang.san@bounce.example")
    ):
        deliver([receipt.pk])
    email = OutgoingEmail.objects.get()
    assert "zhang.san@bounce.example" in email.last_error
    logged = [record.getMessage() for record in caplog.records]
    assert any(f"[redacted]@bounce.example': ({code}" in line for line in logged), logged
    assert not any("zhang.san" in line for line in logged)


def test_a_lease_keeps_a_second_sender_out_until_it_expires(weifang_open, item, settings):
    settings.NOTIFY_LEASE_SECONDS = 120
    submit(weifang_open, item, 1, email="citizen@example.cn")
    receipt = Notification.objects.get(kind="receipt")
    [email_id] = delivery.emails_build([receipt.pk], now=timezone.now())
    now = timezone.now()
    assert email_claim(email_id, now=now) is True
    assert email_claim(email_id, now=now + datetime.timedelta(seconds=119)) is False
    # The first sender died: after the lease a redelivered task may take it over.
    assert email_claim(email_id, now=now + datetime.timedelta(seconds=121)) is True
    assert OutgoingEmail.objects.get().attempts == 2


@pytest.mark.django_db(transaction=True)
def test_sent_marks_skip_the_disk_flush_only_during_a_batch_and_only_outside_transactions():
    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        unavailable("PostgreSQL is needed: SQLite has no asynchronous commit")

    def synchronous_commit():
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    assert synchronous_commit() == "on"
    with delivery.sent_marks_flushed_lazily():
        assert synchronous_commit() == "off"
    assert synchronous_commit() == "on"
    with pytest.raises(RuntimeError), delivery.sent_marks_flushed_lazily():
        raise RuntimeError("the SMTP loop failed")
    assert synchronous_commit() == "on"
    # In a caller's transaction the RESET could not run after a failure: left alone there.
    with transaction.atomic(), delivery.sent_marks_flushed_lazily():
        assert synchronous_commit() == "on"


def test_retry_delays_grow_and_stay_below_the_visibility_timeout(settings):
    settings.NOTIFY_RETRY_BASE_SECONDS = 30
    settings.NOTIFY_RETRY_MAX_SECONDS = 1800
    first = [retry_delay(1) for _ in range(200)]
    late = [retry_delay(8) for _ in range(200)]
    assert all(30 <= d <= 60 for d in first)
    assert max(late) > 300 and all(d <= 1830 for d in late)
    assert len(set(late)) > 100  # jitter spreads retries out


def test_the_request_succeeds_when_the_broker_is_down(
    client, weifang_open, item, settings, django_capture_on_commit_callbacks
):
    from consult.notifications import tasks

    with (
        mock.patch.object(
            tasks.deliver_notifications, "apply_async", side_effect=ConnectionError("down")
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(
            f"/consultations/{weifang_open.slug}/clauses/{item.pk}/comment/",
            {
                "body": "建议：集聚区的评价指标应当公开透明。",
                "kind": "individual",
                "email": "citizen@example.cn",
                "consent": "on",
            },
        )
    assert response.status_code == 302
    assert Notification.objects.filter(status="pending").count() > 0
    assert mail.outbox == []
    # The sweep sends what the broker could not take, once each digest window has come.
    last_due = Notification.objects.order_by("-due_at").values_list("due_at", flat=True)[0]
    sweep_after = datetime.timedelta(seconds=settings.NOTIFY_SWEEP_AFTER_SECONDS)
    with time_machine.travel(last_due + sweep_after + datetime.timedelta(seconds=1)):
        handed_on = outbox_sweep()
    assert handed_on == Notification.objects.count()
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


class FailingConnection:
    """An SMTP connection whose server hangs up: a transient error."""

    def open(self):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    def close(self):
        pass

    def send_messages(self, messages):
        raise AssertionError("not reached")


class RefusingConnection:
    """Refuses one address for good (550) and accepts the rest into django.core.mail.outbox."""

    def __init__(self, refused):
        from django.core.mail.backends.locmem import EmailBackend

        self.refused = refused
        self.backend = EmailBackend()

    def open(self):
        return True

    def close(self):
        pass

    def send_messages(self, messages):
        for message in messages:
            if self.refused in message.to:
                raise smtplib.SMTPRecipientsRefused({self.refused: (550, b"No such user")})
        return self.backend.send_messages(messages)


def test_with_a_broker_the_request_does_not_wait_for_the_publish(
    weifang_open, item, monkeypatch, django_capture_on_commit_callbacks
):
    import threading

    from consult.notifications import outbox, tasks

    monkeypatch.setitem(tasks.deliver_notifications.app.conf, "task_always_eager", False)
    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    directory_changed()  # an update() sends no signal
    broker_answers = threading.Event()
    published = []

    def slow_apply_async(*, args, countdown, retry):
        broker_answers.wait(10)
        published.append((threading.current_thread().name, args[0]))

    with mock.patch.object(tasks.deliver_notifications, "apply_async", slow_apply_async):
        with django_capture_on_commit_callbacks(execute=True):
            comment = submit(weifang_open, item, 1, email="citizen@example.cn")
        # The submission has returned while the broker is still busy.
        assert published == []
        assert outbox.publisher.flush(0.05) is False
        broker_answers.set()
        assert outbox.publisher.flush(10) is True
    [(thread, ids)] = published
    assert thread == "notification-publisher"
    assert sorted(ids) == sorted(
        Notification.objects.filter(comment=comment).values_list("pk", flat=True)
    )


def test_one_broker_message_per_comment_and_none_while_the_broker_is_down(
    weifang_open, item, django_capture_on_commit_callbacks
):
    from consult.notifications import tasks

    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    directory_changed()  # an update() sends no signal
    with mock.patch.object(tasks.deliver_notifications, "apply_async") as apply_async:
        with django_capture_on_commit_callbacks(execute=True):
            comment = submit(weifang_open, item, 1, email="citizen@example.cn")
        # Seven departments and a receipt, all due now: one message for them all.
        [call] = apply_async.call_args_list
        assert sorted(call.kwargs["args"][0]) == sorted(
            Notification.objects.filter(comment=comment).values_list("pk", flat=True)
        )
        apply_async.reset_mock()
        apply_async.side_effect = ConnectionError("Redis is down")
        with django_capture_on_commit_callbacks(execute=True):
            submit(weifang_open, item, 2)
            submit(weifang_open, item, 3)
        # The first failure pauses the broker for this process: no timeout per request.
        assert apply_async.call_count == 1


# Committed for real: on SQLite the thread's UPDATE would wait for the test's open transaction.
@pytest.mark.django_db(transaction=True)
def test_stopping_the_publisher_publishes_first_and_closes_its_connection(
    weifang_open, item, monkeypatch, django_capture_on_commit_callbacks
):
    import threading

    from consult.notifications import outbox, tasks

    monkeypatch.setitem(tasks.deliver_notifications.app.conf, "task_always_eager", False)
    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    directory_changed()
    published = []
    monkeypatch.setattr(
        tasks.deliver_notifications,
        "apply_async",
        lambda *, args, countdown, retry: published.append(args[0]),
    )
    with django_capture_on_commit_callbacks(execute=True):
        submit(weifang_open, item, 1, email="citizen@example.cn")
    threads = [t for t in threading.enumerate() if t.name == "notification-publisher"]
    assert threads
    assert outbox.publisher.stop(10) is True
    assert published  # what was submitted before went out first
    for thread in threads:
        thread.join(5)
        assert not thread.is_alive()
    # A later hand-off starts a new thread.
    with django_capture_on_commit_callbacks(execute=True):
        submit(weifang_open, item, 2, email="other@example.cn")
    assert outbox.publisher.flush(10) is True
    assert len(published) >= 2


def test_a_digest_of_any_size_is_pointed_at_its_email_within_the_database_s_limits(db):
    # More members than one statement takes (POINTED_PER_STATEMENT; SQLite binds at most 999
    # parameters): a digest of 640 and two single emails, in one call.
    from consult.bulk import rows_insert, values_insert
    from consult.notifications.outbox import notification_values

    ids = values_insert(
        Notification,
        [
            notification_values(kind="reminder", key=f"pointed:{n}", to=["a@example.cn"])
            for n in range(650)
        ],
    )
    digest, first, second = rows_insert(
        OutgoingEmail,
        [
            OutgoingEmail(message_id=f"<pointed.{n}@example.cn>", subject="s", body_text="b")
            for n in range(3)
        ],
    )
    assert len(ids) > delivery.POINTED_PER_STATEMENT * 2
    pairs = [(pk, digest.pk) for pk in ids[:640]]
    pairs += [(pk, first.pk) for pk in ids[640:645]] + [(pk, second.pk) for pk in ids[645:]]
    delivery._notifications_point_at(pairs)
    pointed = dict(Notification.objects.values_list("pk", "email_id"))
    assert pointed == dict(pairs)


@pytest.mark.parametrize(("due_in", "retry_in"), [(3.0, 3.5), (0.001, 0.501), (3600.0, None)])
def test_a_task_that_runs_before_its_moment_tries_again_at_that_moment(db, due_in, retry_in):
    # A digest window's task whose timer fires a little early: the window waits half a second
    # more, not the sweep's two minutes. One due far off is left to the sweep's pace.
    now = timezone.now()
    notification = notification_write(
        kind="reminder", key=f"early:{due_in}", to=["a@example.cn"], now=now, publish=False
    )
    Notification.objects.filter(pk=notification.pk).update(
        due_at=now + datetime.timedelta(seconds=due_in)
    )
    result = deliver([notification.pk], now=now)
    assert result.retry_ids == [notification.pk] and result.sent == []
    expected = settings.NOTIFY_SWEEP_AFTER_SECONDS if retry_in is None else retry_in
    assert result.retry_in == pytest.approx(expected, abs=0.01)
    assert Notification.objects.get(pk=notification.pk).email_id is None


def test_a_window_whose_first_member_is_withdrawn_still_goes_at_its_end(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    """The window's one task carried its first member only; withdrawn (its comment sent to
    another department), the task found nothing to build, and the second comment's digest
    waited an hour for the sweep (found by a review). The production window, 10 minutes."""
    from consult.notifications import outbox
    from consult.notifications.tasks import deliver_notifications
    from tests.factories import (
        CommentFactory,
        ConsultationFactory,
        DepartmentFactory,
        MailboxFactory,
    )

    monkeypatch.setitem(deliver_notifications.app.conf, "task_always_eager", False)
    tasks = []
    monkeypatch.setattr(
        deliver_notifications,
        "apply_async",
        lambda args, countdown=0, retry=False: tasks.append((args[0], countdown)),
    )
    department = DepartmentFactory(
        digest_mode=Department.DigestMode.WINDOW, digest_window_minutes=10
    )
    MailboxFactory(department=department)
    consultation = ConsultationFactory(
        opens_at=at(2024, 10, 1), closes_at=at(2024, 11, 10, 23, 59, 59)
    )

    def routed_at(minute, *, handed_on=True):
        """A comment routed to the department at 10:`minute`, its notification written (and
        handed on to the broker as the publisher does)."""
        comment = CommentFactory(consultation=consultation)
        with time_machine.travel(at(2024, 10, 20, 10, minute), tick=False):
            notification = outbox.notification_write(
                kind=Notification.Kind.COMMENT_ROUTED,
                key=f"routed:{comment.pk}:{department.pk}",
                to=["gxj@weifang.example"],
                department=department,
                consultation=consultation,
                comment=comment,
                context={"role": "lead", "is_owner": True},
                digest=True,
                publish=False,
            )
            if handed_on:
                outbox.batches_publish(outbox.batches_plan([outbox.planned_of(notification)]))
        return notification

    first, second = routed_at(1), routed_at(2)
    assert [ids for ids, _countdown in tasks] == [[first.pk]]
    later = routed_at(3, handed_on=False)
    # Withdrawing a member the window's task does not carry changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        outbox.notifications_unsent_withdraw(Notification.objects.filter(pk=later.pk))
    assert len(tasks) == 1
    with (
        time_machine.travel(at(2024, 10, 20, 10, 5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        outbox.notifications_unsent_withdraw(Notification.objects.filter(pk=first.pk))
    # A task for the window's end, carrying the member still waiting.
    assert tasks[1:] == [([second.pk], 300.0)]
    with time_machine.travel(at(2024, 10, 20, 10, 10, 1), tick=False):
        for ids, _countdown in tasks:
            deliver(ids)
    second.refresh_from_db()
    assert second.status == Notification.Status.SENT
