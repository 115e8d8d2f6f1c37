"""Comments reach their departments through a real Redis, Celery worker and SMTP server —
with nothing lost or doubled when the broker, the worker or the mail server falls over."""

import collections
import datetime
import random
import time

import pytest
from django.utils import timezone

from consult.comments.models import Comment, CommentRouting
from consult.comments.services import comment_submit
from consult.consultations.models import Clause, Department
from consult.notifications.models import Notification, OutgoingEmail
from tests.support.services import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROLE_LABELS = dict(CommentRouting.Role.choices)


def numbered_items(consultation):
    """The draft's 18 work items (二(一)1 … 三(三)): the clauses that name departments."""
    items = list(
        Clause.objects.filter(consultation=consultation, responsibilities__isnull=False)
        .distinct()
        .order_by("path")
    )
    assert len(items) == 18
    return items


def submit(consultation, clause, n, *, email=""):
    return comment_submit(
        consultation=consultation,
        clause=clause,
        body=f"第{n}号意见：建议进一步明确{clause.heading}的评价指标、扶持政策和时间安排。",
        channel="web",
        consent=True,
        phone=f"139{n:08d}",
        email=email,
    ).comment


def submit_many(consultation, count, *, start=0, email_every=0):
    items = numbered_items(consultation)
    comments = []
    for n in range(start, start + count):
        email = f"citizen{n}@example.cn" if email_every and n % email_every == 0 else ""
        comments.append(submit(consultation, items[n % len(items)], n, email=email))
    return comments


def wait_until_everything_is_sent(stack, *, timeout=90):
    def done():
        return not Notification.objects.exclude(status=Notification.Status.SENT).exists() and (
            len({m.message_id for m in stack.smtp.received()}) == OutgoingEmail.objects.count()
        )

    try:
        wait_for(done, timeout=timeout, interval=0.25, message="every notification to be sent")
    except AssertionError:
        counts = collections.Counter(Notification.objects.values_list("status", flat=True))
        raise AssertionError(
            f"not everything was sent: notifications {dict(counts)}, "
            f"{len(stack.smtp.received())} messages received\n{stack.worker.log_tail()}"
        ) from None


def assert_each_email_arrived_exactly_once(stack, *, allowed_repeats=0):
    received = stack.smtp.received()
    by_id = collections.Counter(message.message_id for message in received)
    expected = set(OutgoingEmail.objects.values_list("message_id", flat=True))
    assert set(by_id) == expected, "an email is missing, or one arrived that was never built"
    repeats = sum(count - 1 for count in by_id.values())
    assert repeats <= allowed_repeats, f"{repeats} emails arrived twice: {by_id.most_common(3)}"
    # Each notification was built into exactly one email.
    assert not Notification.objects.filter(email__isnull=True).exists()
    return received


def test_200_comments_reach_exactly_the_departments_they_are_routed_to(stack, weifang_live):
    comments = submit_many(weifang_live, 200, email_every=5)
    wait_until_everything_is_sent(stack)
    received = assert_each_email_arrived_exactly_once(stack)

    routes = list(
        CommentRouting.objects.filter(comment__in=comments).select_related(
            "department", "comment__clause"
        )
    )
    receipts = [comment for comment in comments if comment.email]
    assert len(received) == len(routes) + len(receipts)

    mailboxes = {
        department.pk: set(department.mailboxes.values_list("email", flat=True))
        for department in Department.objects.all()
    }
    inbox = collections.defaultdict(list)
    for message in received:
        for address in message.to:
            inbox[address].append(message)

    for route in routes:
        comment = route.comment
        for address in mailboxes[route.department_id]:
            matching = [m for m in inbox[address] if comment.tracking_number in m.text]
            assert len(matching) == 1, (route, address)
            text = matching[0].text
            assert f"条款：{comment.clause.label} {comment.clause.heading}" in text
            assert f"贵单位职责：{ROLE_LABELS[route.role]}" in text
            # Contact details only for the owner.
            assert (comment.phone in text) == route.is_owner

    # Nobody hears of a comment that was not routed to them.
    routed_to = collections.defaultdict(set)
    for route in routes:
        for address in mailboxes[route.department_id]:
            routed_to[address].add(route.comment.tracking_number)
    for address, messages in inbox.items():
        if address.startswith("citizen"):
            continue
        for message in messages:
            named = {c.tracking_number for c in comments if c.tracking_number in message.text}
            assert named <= routed_to[address]

    for comment in receipts:
        [receipt] = inbox[comment.email]
        assert comment.tracking_number in receipt.subject
        assert "/comments/" in receipt.text


def test_redis_down_during_submissions_loses_nothing(stack, weifang_live):
    submit_many(weifang_live, 80)
    stack.redis.stop()
    started = time.monotonic()
    during = submit_many(weifang_live, 60, start=80)
    outage_seconds = time.monotonic() - started
    # Every submission succeeded and stored its routing and notifications.
    assert Comment.objects.count() == 140
    assert all(Notification.objects.filter(comment=c).exists() for c in during)
    stack.redis.start()
    submit_many(weifang_live, 60, start=140)
    assert Comment.objects.count() == 200
    wait_until_everything_is_sent(stack, timeout=120)
    assert_each_email_arrived_exactly_once(stack)
    # A dead broker must not make citizens wait: 60 submissions well under a second each.
    assert outage_seconds / 60 < 1.0


def test_worker_killed_mid_batch_then_restarted(stack, weifang_live):
    submit_many(weifang_live, 200)
    wait_for(
        lambda: len(stack.smtp.received()) >= 50,
        timeout=60,
        interval=0.02,
        message="the worker to be busy sending",
    )
    stack.worker.kill()
    sent_before_kill = len(stack.smtp.received())
    assert sent_before_kill < CommentRouting.objects.count(), "the batch finished before the kill"
    replacement = stack.new_worker(beat=True)
    stack.worker = replacement
    replacement.start()
    wait_until_everything_is_sent(stack, timeout=120)
    # A message the server had accepted when the worker died, before the worker could record
    # it, is sent again with the same Message-ID (receivers drop the repeat); at most one per
    # pool process can be in that state.
    assert_each_email_arrived_exactly_once(stack, allowed_repeats=replacement.concurrency)


def test_smtp_down_for_a_while_retries_then_delivers_everything(stack, weifang_live):
    stack.smtp.stop()
    submit_many(weifang_live, 40, email_every=4)
    time.sleep(4)  # several retry rounds against a closed port
    assert OutgoingEmail.objects.filter(attempts__gte=2).exists()
    assert not OutgoingEmail.objects.filter(status=OutgoingEmail.Status.SENT).exists()
    stack.smtp.start()
    wait_until_everything_is_sent(stack, timeout=120)
    assert_each_email_arrived_exactly_once(stack)
    assert not OutgoingEmail.objects.filter(status=OutgoingEmail.Status.FAILED).exists()


@pytest.mark.worker_env(NOTIFY_MAX_ATTEMPTS="4")
def test_an_undeliverable_notification_fails_after_its_retries_and_spares_the_rest(
    stack, weifang_live
):
    items = numbered_items(weifang_live)
    stack.smtp.refuse["doomed@example.cn"] = "451 4.3.0 Mailbox temporarily unavailable"
    doomed = submit(weifang_live, items[0], 1, email="doomed@example.cn")
    others = [submit(weifang_live, items[n], n, email=f"ok{n}@example.cn") for n in range(2, 8)]

    receipt = Notification.objects.get(comment=doomed, kind="receipt")

    def doomed_failed():
        receipt.refresh_from_db()
        return receipt.status == Notification.Status.FAILED

    wait_for(doomed_failed, timeout=120, interval=0.25, message="the undeliverable receipt")
    email = receipt.email
    email.refresh_from_db()
    assert email.attempts == int(stack.env["NOTIFY_MAX_ATTEMPTS"])
    assert "451" in email.last_error
    # Every other notification, including the same comment's mail to its departments, arrived.
    pending = Notification.objects.exclude(pk=receipt.pk).exclude(status="sent")
    wait_for(lambda: not pending.exists(), timeout=60, message="the other notifications")
    addresses = {address for m in stack.smtp.received() for address in m.to}
    assert {f"ok{n}@example.cn" for n in range(2, 8)} <= addresses
    assert "doomed@example.cn" not in addresses
    assert len(others) == 6


def test_500_comments_in_one_window_make_one_digest(stack, weifang_live):
    Department.objects.update(digest_mode=Department.DigestMode.WINDOW, digest_window_minutes=1)
    department = Department.objects.get(name="市卫健委")
    items = [
        item
        for item in numbered_items(weifang_live)
        if item.responsibilities.filter(department=department).exists()
    ]
    assert items

    # Windows are aligned on the clock: start with at least 30 s of this window left.
    now = timezone.now()
    window_end = now.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
    if (window_end - now).total_seconds() < 30:
        time.sleep((window_end - now).total_seconds() + 0.1)
        window_end += datetime.timedelta(minutes=1)
    rng = random.Random(500)
    comments = [submit(weifang_live, rng.choice(items), n) for n in range(500)]
    assert timezone.now() < window_end, "500 submissions took longer than the window"
    assert not stack.smtp.received(), "something was sent before the window closed"

    wait_until_everything_is_sent(stack, timeout=150)
    assert_each_email_arrived_exactly_once(stack)
    mailboxes = set(department.mailboxes.values_list("email", flat=True))
    [digest] = [m for m in stack.smtp.received() if set(m.to) & mailboxes]
    for comment in comments:
        assert comment.tracking_number in digest.text
    assert "500" in digest.subject
    # Every department got one digest: emails bounded by departments × windows.
    routed_departments = CommentRouting.objects.values("department").distinct().count()
    assert len(stack.smtp.received()) == routed_departments
