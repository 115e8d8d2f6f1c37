"""Writing notifications into the outbox and publishing them to Celery after commit.

Two words, two steps: *write* puts a notification row in the outbox, inside the caller's
transaction (`notification_write`, `comment_notifications_write` …); *publish* hands committed
rows to the broker (`notifications_publish`, `notifications_publish_on_commit`). If the broker
cannot take them the rows stay pending for `outbox_sweep` to pick up.
"""

import atexit
import datetime
import logging
import os
import queue
import threading
import time
from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from consult.consultations.models import Department, Mailbox

from .models import Notification, OutgoingEmail

logger = logging.getLogger(__name__)

# Countdowns must stay below the broker's visibility timeout, or Redis redelivers them.
LONGEST_COUNTDOWN = datetime.timedelta(minutes=30)


def digest_due_at(department: Department, now: datetime.datetime) -> datetime.datetime:
    """When a department's notification created `now` goes out under its digest setting.

    Windows are aligned on the clock, so every notification of one window shares one moment
    and is coalesced into one email.
    """
    mode = department.digest_mode
    if mode == Department.DigestMode.IMMEDIATE:
        return now
    if mode == Department.DigestMode.DAILY:
        local = timezone.localtime(now)
        send_at = local.replace(
            hour=settings.NOTIFY_DAILY_DIGEST_HOUR, minute=0, second=0, microsecond=0
        )
        if send_at <= local:
            send_at += datetime.timedelta(days=1)
        return send_at
    window = max(1, department.digest_window_minutes) * 60
    start = int(now.timestamp()) // window * window
    return datetime.datetime.fromtimestamp(start + window, tz=datetime.UTC)


def recipients_by_department(department_ids) -> dict[int, list[str]]:
    recipients = {}
    mailboxes = Mailbox.objects.filter(department_id__in=department_ids, is_active=True)
    for department_id, email in mailboxes.order_by("pk").values_list("department_id", "email"):
        recipients.setdefault(department_id, []).append(email)
    return recipients


def notification_build(
    *,
    kind: str,
    key: str,
    to: Iterable[str],
    department: Department | None = None,
    consultation=None,
    comment=None,
    context: dict | None = None,
    digest: bool = False,
    language: str | None = None,
    now: datetime.datetime | None = None,
) -> Notification:
    """An unsaved notification, due now or at the end of its department's digest window."""
    now = now or timezone.now()
    # "Immediate" departments get one email per notification, never a digest.
    digest = digest and department is not None
    digest = digest and department.digest_mode != Department.DigestMode.IMMEDIATE
    return Notification(
        kind=kind,
        key=key,
        to=list(to),
        department=department,
        consultation=consultation,
        comment=comment,
        context=context or {},
        digest_group=(
            f"{department.pk}:{consultation.pk if consultation else 0}:{kind}" if digest else ""
        ),
        due_at=digest_due_at(department, now) if digest else now,
        language=language or settings.LANGUAGE_CODE,
    )


def notification_write(*, key: str, publish: bool = True, **fields) -> Notification | None:
    """Write one notification; None when one with this key exists already.

    The unique key is what makes "exactly once" hold when two processes race to write the
    same reminder: the loser's insert fails instead of sending a second email.
    """
    notification = notification_build(key=key, **fields)
    try:
        with transaction.atomic():
            notification.save(force_insert=True)
    except IntegrityError:
        if Notification.objects.filter(key=key).exists():
            return None
        raise
    if publish:
        notifications_publish_on_commit([notification])
    return notification


def notifications_publish_on_commit(notifications: list[Notification]) -> None:
    notifications = [n for n in notifications if n is not None]
    if notifications:
        transaction.on_commit(partial(notifications_publish, notifications), robust=True)


def notification_publish(notification: Notification) -> None:
    notifications_publish([notification])


class _BrokerBreaker:
    """After the broker fails, stop asking it for a while: a dead Redis must not add its
    connection timeout to every citizen's request. The sweep sends what was skipped."""

    def __init__(self):
        self.closed_until = 0.0

    def allows(self) -> bool:
        return time.monotonic() >= self.closed_until

    def trip(self) -> None:
        self.closed_until = time.monotonic() + settings.NOTIFY_BROKER_PAUSE_SECONDS


broker_breaker = _BrokerBreaker()


def notifications_publish(notifications: list[Notification]) -> None:
    """Hand committed notifications to Celery in as few messages as possible.

    Never raises: if the broker cannot take them they stay pending and the sweep sends them.
    Due ones go in one task; a digest gets one task, at its due moment, per window.
    """
    from .tasks import deliver_notifications

    now = timezone.now()
    eager = deliver_notifications.app.conf.task_always_eager
    batches: list[tuple[list[int], float]] = []
    due_now = []
    windows = {}
    for notification in notifications:
        countdown = (notification.due_at - now).total_seconds()
        if countdown <= 0:
            due_now.append(notification.pk)
        elif countdown > LONGEST_COUNTDOWN.total_seconds():
            continue  # a daily digest: the periodic sweep sends it when it is due
        elif eager:
            continue  # in-process tasks cannot wait; `run_due_jobs` sends it when it is due
        else:
            window = (notification.digest_group or notification.pk, notification.due_at)
            windows.setdefault(window, notification)
    for notification in windows.values():
        if not _digest_has_earlier_member(notification):  # one task per digest window
            countdown = (notification.due_at - now).total_seconds()
            batches.append(([notification.pk], countdown))
    if due_now:
        batches.insert(0, (due_now, 0))
    if batches:
        if eager or not settings.NOTIFY_PUBLISH_IN_BACKGROUND:
            batches_publish(batches)
        else:
            publisher.submit(batches)


def batches_publish(batches: list[tuple[list[int], float]]) -> None:
    """One delivery task per batch of notification ids, each after its countdown (seconds)."""
    from .tasks import deliver_notifications

    for ids, countdown in batches:
        if not broker_breaker.allows():
            return
        try:
            deliver_notifications.apply_async(args=[ids], countdown=countdown, retry=False)
        except Exception:  # the broker is down or hung: the rows stay pending for the sweep
            broker_breaker.trip()
            logger.warning(
                "Could not enqueue notifications %s; they stay pending for the sweep "
                "(not trying the broker again for %s s).",
                ids,
                settings.NOTIFY_BROKER_PAUSE_SECONDS,
                exc_info=True,
            )
            return


class _Publisher:
    """Publishes delivery tasks from a thread of its own, so that no request waits on the broker.

    A Celery publish costs about a millisecond of Python on top of Redis's own round trip, more
    than everything else the hand-off does. Nothing is at stake while a batch waits here: its
    notifications are committed rows, and whatever a dying process never publishes is picked
    up by `outbox_sweep`.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._pid = None
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._unpublished = 0
        self._published = threading.Condition()

    def submit(self, batches) -> None:
        self._started()
        with self._published:
            self._unpublished += 1
        self._queue.put(batches)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything submitted so far is published; False on timeout."""
        with self._published:
            return self._published.wait_for(lambda: self._unpublished == 0, timeout)

    def _started(self) -> None:
        # Threads do not survive a fork (gunicorn, Celery's prefork pool): one per process.
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():
                self._queue = queue.SimpleQueue()
                self._unpublished = 0
                self._published = threading.Condition()
                thread = threading.Thread(
                    target=self._run, args=(self._queue,), name="notification-publisher"
                )
                thread.daemon = True
                thread.start()
                self._pid = os.getpid()

    def _run(self, batches_queue) -> None:
        while True:
            batches = batches_queue.get()
            try:
                batches_publish(batches)
            except Exception:  # never let the thread die; the sweep covers what was not sent
                logger.exception("Publishing notifications failed")
            with self._published:
                self._unpublished -= 1
                self._published.notify_all()


publisher = _Publisher()
atexit.register(publisher.flush, 2.0)


def _digest_has_earlier_member(notification: Notification) -> bool:
    if not notification.digest_group:
        return False
    return Notification.objects.filter(
        digest_group=notification.digest_group,
        due_at=notification.due_at,
        status=Notification.Status.PENDING,
        email__isnull=True,
        pk__lt=notification.pk,
    ).exists()


def notifications_redact(notifications) -> int:
    """Forget the addresses and texts of these notifications and of the emails that carried
    them (personal data past its retention); returns how many emails were redacted."""
    emails = OutgoingEmail.objects.filter(pk__in=notifications.exclude(email=None).values("email"))
    redacted = emails.update(to=[], body_text=REDACTED, body_html="")
    notifications.update(to=[], context={})
    return redacted


REDACTED = "（个人信息保存期限已满，正文已删除。）"


def digests_hand_on(*, now=None, chunk=100) -> int:
    """Hand on the digests that are due and that no countdown task carries; returns how many
    notifications. Those are the daily digests (their wait is longer than any countdown may be)
    and, in the in-process mode, every digest. A window digest's own countdown task sends it
    otherwise, and the sweep if that task was lost.
    """
    from .tasks import deliver_notifications

    now = now or timezone.now()
    due = Notification.objects.filter(
        status=Notification.Status.PENDING, email__isnull=True, due_at__lte=now
    ).exclude(digest_group="")
    if not deliver_notifications.app.conf.task_always_eager:
        due = due.filter(due_at__gt=F("created_at") + LONGEST_COUNTDOWN)
    ids = list(due.order_by("due_at", "pk").values_list("pk", flat=True))
    for start in range(0, len(ids), chunk):
        deliver_notifications.apply_async(args=[ids[start : start + chunk]], retry=False)
    return len(ids)


def outbox_sweep(*, older_than: datetime.timedelta | None = None, now=None, chunk=100) -> int:
    """Re-enqueue what is due and still unsent; returns how many notifications were handed on.

    Runs from Celery beat and from `run_due_jobs` (cron in the embedded mode). Sending twice is
    impossible however often it runs: delivery claims each email before it sends it.
    """
    from .tasks import deliver_notifications

    now = now or timezone.now()
    if older_than is None:
        older_than = datetime.timedelta(seconds=settings.NOTIFY_SWEEP_AFTER_SECONDS)
    cutoff = now - older_than
    # A worker killed between sending an email and recording it for its notifications.
    Notification.objects.filter(
        status=Notification.Status.PENDING, email__status=OutgoingEmail.Status.SENT
    ).update(status=Notification.Status.SENT)
    stuck_emails = OutgoingEmail.objects.filter(status=OutgoingEmail.Status.PENDING).exclude(
        lease_until__gt=now
    )
    ids = list(
        Notification.objects.filter(status=Notification.Status.PENDING, due_at__lte=cutoff)
        .filter(
            # Not yet built into an email, or built into one nobody is sending.
            email__isnull=True
        )
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)
    )
    ids += list(
        Notification.objects.filter(
            status=Notification.Status.PENDING,
            email__in=stuck_emails.filter(created_at__lte=cutoff),
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(ids), chunk):
        deliver_notifications.apply_async(args=[ids[start : start + chunk]], retry=False)
    return len(ids)
