"""Writing notifications into the outbox and handing them to Celery after commit.

Everything that mails anybody calls `notification_queue` inside its own transaction; the
delivery task is enqueued only once that transaction has committed, and if the broker cannot
take it the row stays pending for `outbox_sweep` to pick up.
"""

import datetime
import logging
from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from consult.consultations.models import Department

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


def department_recipients(department: Department) -> list[str]:
    return list(
        department.mailboxes.filter(is_active=True).order_by("pk").values_list("email", flat=True)
    )


def notification_queue(
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
) -> Notification | None:
    """Write one notification; None when one with this key exists already.

    The unique key is what makes "exactly once" hold when two processes race to write the
    same reminder: the loser's insert fails instead of sending a second email.
    """
    now = now or timezone.now()
    # "Immediate" departments get one email per notification, never a digest.
    digest = digest and department is not None
    digest = digest and department.digest_mode != Department.DigestMode.IMMEDIATE
    due_at = digest_due_at(department, now) if digest else now
    notification = Notification(
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
        due_at=due_at,
        language=language or settings.LANGUAGE_CODE,
    )
    try:
        with transaction.atomic():
            notification.save(force_insert=True)
    except IntegrityError:
        if Notification.objects.filter(key=key).exists():
            return None
        raise
    transaction.on_commit(partial(notification_enqueue, notification), robust=True)
    return notification


def notification_enqueue(notification: Notification) -> None:
    """Hand a committed notification to Celery; never raises, the sweep is the safety net."""
    from .tasks import deliver_notifications

    now = timezone.now()
    countdown = (notification.due_at - now).total_seconds()
    if countdown > LONGEST_COUNTDOWN.total_seconds():
        return  # a daily digest: the periodic sweep sends it when it is due
    if countdown > 0 and deliver_notifications.app.conf.task_always_eager:
        return  # in-process tasks cannot wait; `run_due_jobs` sends the digest when it is due
    if countdown > 0 and _digest_has_earlier_member(notification):
        return  # one task per digest window is enough
    try:
        deliver_notifications.apply_async(
            args=[[notification.pk]], countdown=max(0, countdown), retry=False
        )
    except Exception:  # the broker is down or hung: the comment is stored, the sweep will send
        logger.warning(
            "Could not enqueue notification %s; it stays pending for the sweep.",
            notification.pk,
            exc_info=True,
        )


def _digest_has_earlier_member(notification: Notification) -> bool:
    return Notification.objects.filter(
        digest_group=notification.digest_group,
        due_at=notification.due_at,
        status=Notification.Status.PENDING,
        email__isnull=True,
        pk__lt=notification.pk,
    ).exists()


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
