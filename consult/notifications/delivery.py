"""Building emails from due notifications and sending each of them exactly once.

Two steps, each safe to repeat:

1. `emails_build` turns due, unbuilt notifications into OutgoingEmail rows — one per
   notification, or one digest for a whole digest group — in one transaction.
2. `emails_send` claims each email with a lease (an atomic conditional UPDATE, so two workers
   never both send it), sends the claimed ones over one SMTP connection and marks them sent.

A worker killed mid-send leaves a lease that expires; the redelivered task then sends the same
email with the same Message-ID.
"""

import contextlib
import datetime
import logging
import random
import secrets
import smtplib
import socket
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection as database
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation

from .models import Notification, OutgoingEmail
from .rendering import notifications_render

logger = logging.getLogger(__name__)


class PermanentDeliveryError(Exception):
    """The server refused the message for good (5xx): retrying will not help."""


@dataclass
class DeliveryResult:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    # Notifications to try again, and how soon (seconds); empty when nothing is left to do.
    retry_ids: list[int] = field(default_factory=list)
    retry_in: float = 0.0


def retry_delay(attempts: int) -> float:
    """Exponential backoff with full jitter, capped below the broker's visibility timeout."""
    base = settings.NOTIFY_RETRY_BASE_SECONDS
    ceiling = min(settings.NOTIFY_RETRY_MAX_SECONDS, base * 2 ** max(0, attempts - 1))
    return base + random.uniform(0, ceiling)  # noqa: S311 - jitter, not secrecy


def deliver(notification_ids: list[int], *, now=None) -> DeliveryResult:
    now = now or timezone.now()
    # Emails a killed worker sent but could not record for their notifications.
    Notification.objects.filter(
        pk__in=notification_ids,
        status=Notification.Status.PENDING,
        email__status=OutgoingEmail.Status.SENT,
    ).update(status=Notification.Status.SENT)
    email_ids = emails_build(notification_ids, now=now)
    result = emails_send(email_ids)
    not_yet_due = list(
        Notification.objects.filter(
            pk__in=notification_ids, status=Notification.Status.PENDING, email__isnull=True
        ).values_list("pk", flat=True)
    )
    if not_yet_due and not result.retry_ids:
        # Only happens when a task runs early (a clock step); the sweep would catch it too.
        result.retry_ids = not_yet_due
        result.retry_in = settings.NOTIFY_SWEEP_AFTER_SECONDS
    return result


def emails_build(notification_ids: list[int], *, now) -> list[int]:
    """Build emails for the due notifications among these; return every unsent email they're in."""
    with transaction.atomic():
        notifications = list(
            Notification.objects.select_for_update(of=("self",))
            .filter(pk__in=notification_ids, status=Notification.Status.PENDING)
            .order_by("pk")
        )
        built = {n.email_id for n in notifications if n.email_id}
        handled = set()
        for notification in notifications:
            if notification.email_id or notification.pk in handled:
                continue
            if notification.due_at > now:
                continue
            if notification.digest_group:
                members = list(
                    Notification.objects.select_for_update(of=("self",))
                    .filter(
                        digest_group=notification.digest_group,
                        status=Notification.Status.PENDING,
                        email__isnull=True,
                        due_at__lte=now,
                    )
                    .select_related("department", "consultation")
                    .order_by("pk")
                )
            else:
                members = [notification]
            if not members:
                continue
            email = email_build(members)
            Notification.objects.filter(pk__in=[m.pk for m in members]).update(email=email)
            handled.update(m.pk for m in members)
            built.add(email.pk)
    return sorted(
        OutgoingEmail.objects.filter(pk__in=built, status=OutgoingEmail.Status.PENDING).values_list(
            "pk", flat=True
        )
    )


def email_build(notifications: list[Notification]) -> OutgoingEmail:
    first = notifications[0]
    recipients = sorted({address for n in notifications for address in n.to})
    with translation.override(first.language):
        subject, body_text, body_html = notifications_render(notifications)
    domain = settings.NOTIFY_MESSAGE_ID_DOMAIN
    return OutgoingEmail.objects.create(
        message_id=f"<consult.{first.kind}.{first.pk}.{secrets.token_hex(6)}@{domain}>",
        to=recipients,
        subject=" ".join(subject.split())[:300],
        body_text=body_text,
        body_html=body_html,
    )


def email_claim(email_id: int, *, now) -> bool:
    """Take the email for sending until the lease ends; False if sent, failed or held."""
    return email_id in emails_claim([email_id], now=now)


def emails_claim(email_ids: list[int], *, now) -> list[int]:
    """Take every free email among these for sending, in one transaction; returns their ids.

    Rows another worker is claiming right now are skipped, not waited for.
    """
    lease = datetime.timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)
    with transaction.atomic():
        free = list(
            OutgoingEmail.objects.select_for_update(skip_locked=True)
            .filter(pk__in=email_ids, status=OutgoingEmail.Status.PENDING)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        OutgoingEmail.objects.filter(pk__in=free).update(
            lease_until=now + lease, attempts=F("attempts") + 1
        )
    return free


def email_mark_sent(email: OutgoingEmail) -> None:
    """One statement per message, so a long batch is not slowed by a transaction per send.

    The email row is the record of what went out; its notifications follow in
    `notifications_mark_sent` at the end of the batch (or on the next delivery, if the
    worker dies first). Plain SQL: it runs once per message, and the ORM's own work here
    cost as much as the statement.
    """
    table = OutgoingEmail._meta.db_table
    with database.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, sent_at = %s, lease_until = NULL, last_error = ''"  # noqa: S608 - the table name is the model's
            " WHERE id = %s",
            [OutgoingEmail.Status.SENT, timezone.now(), email.pk],
        )


@contextlib.contextmanager
def sent_marks_flushed_lazily():
    """Let PostgreSQL acknowledge the per-message "sent" commits before they reach the disk.

    Waiting for the WAL flush cost more than any other step of sending a message in a batch.
    A worker killed after the commit loses nothing: the server holds the commit and writes it
    within a fraction of a second. Only a crash of the database server itself in that fraction
    can lose a mark, and then the email is sent again with the same Message-ID — the outcome
    a worker killed between the server's 250 and the commit has anyway. Never inside an
    atomic block, where the setting would outlive the batch if the transaction failed.
    """
    relaxed = database.vendor == "postgresql" and not database.in_atomic_block
    if relaxed:
        with database.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        if relaxed:
            with database.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")


def notifications_mark_sent(email_ids) -> None:
    Notification.objects.filter(email_id__in=email_ids, status=Notification.Status.PENDING).update(
        status=Notification.Status.SENT
    )


def email_mark_failed(email: OutgoingEmail, error: str) -> None:
    logger.error("Email %s failed for good: %s", email.message_id, error)
    with transaction.atomic():
        OutgoingEmail.objects.filter(pk=email.pk).update(
            status=OutgoingEmail.Status.FAILED, lease_until=None, last_error=error[:2000]
        )
        Notification.objects.filter(email=email).update(status=Notification.Status.FAILED)


def email_release(email: OutgoingEmail, error: str) -> None:
    """Give the lease back after a transient error so the retry can claim it at once."""
    OutgoingEmail.objects.filter(pk=email.pk).update(lease_until=None, last_error=error[:2000])


def email_message(email: OutgoingEmail, connection) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        to=email.to,
        connection=connection,
        headers={"Message-ID": email.message_id, "Auto-Submitted": "auto-generated"},
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    return message


TRANSIENT_ERRORS = (smtplib.SMTPException, OSError, socket.timeout)


def is_permanent(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in error.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return 500 <= error.smtp_code < 600
    return False


def emails_send(email_ids: list[int]) -> DeliveryResult:
    """Send these emails over one connection; what cannot be sent now is scheduled again."""
    result = DeliveryResult()
    if not email_ids:
        return result
    now = timezone.now()
    claimed = emails_claim(email_ids, now=now)
    claimed_set = set(claimed)
    held = [email_id for email_id in email_ids if email_id not in claimed_set]
    if held:
        # Sent meanwhile, or held by a worker that may have died: look again after the lease.
        still_pending = OutgoingEmail.objects.filter(
            pk__in=held, status=OutgoingEmail.Status.PENDING
        )
        for email in still_pending:
            if email.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
                email_mark_failed(email, email.last_error or "worker lost too many times")
                continue
            result.retry_ids += _notification_ids(email)
            wait = (email.lease_until - now).total_seconds() if email.lease_until else 0
            result.retry_in = max(result.retry_in, wait + 1)

    emails = list(OutgoingEmail.objects.filter(pk__in=claimed).order_by("pk"))
    if not emails:
        return result
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except TRANSIENT_ERRORS as error:
        for email in emails:
            _after_transient_error(email, error, result)
        return result
    try:
        with sent_marks_flushed_lazily():
            for email in emails:
                try:
                    connection.send_messages([email_message(email, connection)])
                except TRANSIENT_ERRORS as error:
                    if is_permanent(error):
                        email_mark_failed(email, _describe(error))
                        result.failed.append(email.pk)
                        _reset_connection(connection)
                        continue
                    _after_transient_error(email, error, result)
                    _reset_connection(connection)
                    continue
                email_mark_sent(email)
                result.sent.append(email.pk)
    finally:
        with contextlib.suppress(TRANSIENT_ERRORS):
            connection.close()
        notifications_mark_sent(result.sent)
    return result


def _reset_connection(connection) -> None:
    """After an error the SMTP session may be half-dead; the next message opens a fresh one."""
    with contextlib.suppress(TRANSIENT_ERRORS):
        connection.close()
    with contextlib.suppress(TRANSIENT_ERRORS):
        connection.open()


def _after_transient_error(email: OutgoingEmail, error: Exception, result: DeliveryResult):
    described = _describe(error)
    email.refresh_from_db(fields=["attempts"])
    if email.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
        email_mark_failed(email, described)
        result.failed.append(email.pk)
        return
    logger.warning("Email %s not sent (attempt %s): %s", email.pk, email.attempts, described)
    email_release(email, described)
    result.retry_ids += _notification_ids(email)
    result.retry_in = max(result.retry_in, retry_delay(email.attempts))


def _notification_ids(email: OutgoingEmail) -> list[int]:
    return list(email.notifications.values_list("pk", flat=True)[:1])


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def email_resend(email: OutgoingEmail) -> list[int]:
    """Put a failed email back in the queue (admin action); returns its notification ids."""
    with transaction.atomic():
        OutgoingEmail.objects.filter(pk=email.pk).update(
            status=OutgoingEmail.Status.PENDING, attempts=0, lease_until=None
        )
        email.notifications.update(status=Notification.Status.PENDING)
        ids = list(email.notifications.values_list("pk", flat=True))
    return ids


__all__ = [
    "DeliveryResult",
    "deliver",
    "email_resend",
    "emails_build",
    "emails_send",
]
