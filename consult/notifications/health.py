"""How the outbox is doing: emails given up on, and mail left undelivered for too long.

Read by the admin (its index warning and filters) and by `check_workers`; no rules of who may
see which email here (the admin applies `comments.access.notifications_visible_to`).
"""

import datetime

from django.conf import settings
from django.utils import timezone

from .models import Notification, OutgoingEmail

RECENTLY = datetime.timedelta(days=1)


def pending_alert_after() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.NOTIFY_PENDING_ALERT_SECONDS)


def emails_failed_recently(emails=None, *, now=None):
    """The emails given up on within the last day (of `emails`, all by default)."""
    now = now or timezone.now()
    emails = OutgoingEmail.objects.all() if emails is None else emails
    return emails.filter(status=OutgoingEmail.Status.FAILED, failed_at__gte=now - RECENTLY)


def emails_long_pending(emails=None, *, now=None):
    """Pending emails built longer ago than NOTIFY_PENDING_ALERT_SECONDS."""
    now = now or timezone.now()
    emails = OutgoingEmail.objects.all() if emails is None else emails
    return emails.filter(
        status=OutgoingEmail.Status.PENDING, created_at__lte=now - pending_alert_after()
    )


def oldest_undelivered_due_at() -> datetime.datetime | None:
    """When the longest-waiting undelivered notification was due (built into an email or not);
    None when nothing due is waiting."""
    return (
        Notification.objects.filter(status=Notification.Status.PENDING, due_at__lte=timezone.now())
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )
