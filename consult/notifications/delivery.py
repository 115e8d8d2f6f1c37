"""Building emails from due notifications and sending each of them exactly once.

Two steps, each safe to repeat:

1. `emails_build` turns due, unbuilt notifications into OutgoingEmail rows — one per
   notification, or one digest for a whole digest group — in one transaction.
2. `emails_send` sends them over one SMTP connection, claiming each email with a lease (an
   atomic conditional UPDATE, so two workers never both send it) just before its own send, and
   marks it sent. One at a time: a lease never runs out while its email waits for its turn
   behind a slow server, so no other process can claim and send it meanwhile; during its own
   send it is renewed before each SMTP command (`lease_kept_while_sending`).

An email that could not be sent waits for its retry: `next_attempt_at` says when, and until
then no task and no sweep tries it (a stray task for it does nothing). It is given up on after
`NOTIFY_GIVE_UP_AFTER` seconds of continuous failure, or at once on a permanent (5xx) refusal,
on an email that cannot be built or addressed, or on one with nobody to send it to.

A worker killed mid-send leaves a lease that expires; the sweep (or the broker's redelivery)
then sends the same email with the same Message-ID. An email whose sending was interrupted
`NOTIFY_MAX_ATTEMPTS` times (a message that crashes the worker) is given up on.
"""

import contextlib
import datetime
import logging
import random
import secrets
import smtplib
import socket
import time
from dataclasses import dataclass, field
from email.errors import MessageError
from email.headerregistry import Address
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import sanitize_address
from django.db import DatabaseError, transaction
from django.db import connection as database
from django.db.models import Case, Min, Q, Value, When
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.utils import timezone, translation
from django.utils.translation import gettext

from consult.bulk import rows_insert
from consult.consultations.models import consultation_texts
from consult.text import FORBIDDEN_CONTROLS
from consult.web.log_redaction import addresses_redacted

from .models import Notification, OutgoingEmail
from .outbox import (
    REDACTED,
    addresses_distinct,
    department_addresses_now,
    notifications_readdress,
)
from .rendering import emails_render

logger = logging.getLogger(__name__)


class PermanentDeliveryError(Exception):
    """The server refused the message for good (5xx): retrying will not help."""


class LeaseLost(Exception):
    """The email's lease ran out during its send and another process holds it now: this one
    stops before the message is complete, and leaves the email to that process."""


@dataclass
class DeliveryResult:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    # Notifications to try again, and how soon (seconds); empty when nothing is left to do.
    # One per email that waits for its retry: the task hands them to the broker again.
    retry_ids: list[int] = field(default_factory=list)
    retry_in: float = 0.0


# How early a retry may run before its email's next attempt time (clocks of two machines).
RETRY_SLACK = datetime.timedelta(seconds=1)


def retry_delay(attempts: int) -> float:
    """Exponential backoff with full jitter, capped below the broker's visibility timeout."""
    base = settings.NOTIFY_RETRY_BASE_SECONDS
    growth = 2 ** min(max(0, attempts - 1), 30)
    ceiling = min(settings.NOTIFY_RETRY_MAX_SECONDS, base * growth)
    return base + random.uniform(0, ceiling)  # noqa: S311 - jitter, not secrecy


def give_up_after() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.NOTIFY_GIVE_UP_AFTER)


def deliver(notification_ids: list[int], *, now=None) -> DeliveryResult:
    now = now or timezone.now()
    # Taken up (those this task will build or send, not those others hold or that wait for a
    # retry): if this process dies before it is done with them, the sweep sees it after a
    # lease, instead of waiting out the broker's visibility timeout.
    Notification.objects.filter(pk__in=notification_ids, status=Notification.Status.PENDING).filter(
        Q(email__isnull=True) | Q(email__in=_claimable(None, now=now))
    ).update(taken_up_at=now)
    # Emails a killed worker sent but could not record for their notifications.
    Notification.objects.filter(
        pk__in=notification_ids,
        status=Notification.Status.PENDING,
        email__status=OutgoingEmail.Status.SENT,
    ).update(status=Notification.Status.SENT)
    email_ids = again_after_deadlock(lambda: emails_build(notification_ids, now=now))
    result = emails_send(email_ids)
    not_yet_due = dict(
        Notification.objects.filter(
            pk__in=notification_ids, status=Notification.Status.PENDING, email__isnull=True
        ).values_list("pk", "due_at")
    )
    if not_yet_due:
        # A task that ran before its moment (a timer firing a little early, a clock step) tries
        # again at that moment, not minutes later: a digest window's members all wait for it.
        result.retry_ids += list(not_yet_due)
        wait = max((min(not_yet_due.values()) - now).total_seconds(), 0)
        wait = min(wait + NOT_YET_DUE_SLACK_SECONDS, settings.NOTIFY_SWEEP_AFTER_SECONDS)
        result.retry_in = max(result.retry_in, wait)
    return result


# How long after its due moment a task that came early tries again.
NOT_YET_DUE_SLACK_SECONDS = 0.5


# PostgreSQL's answers to a transaction it chose to abort for another's sake: trying it again
# succeeds (deadlock_detected, serialization_failure).
TRANSACTION_CONFLICTS = frozenset({"40P01", "40001"})
TRIES_AFTER_A_DEADLOCK = 3


def again_after_deadlock(work):
    """Run `work` (one transaction), again when PostgreSQL aborts it for a deadlock.

    Building locks the batch's notifications in key order, but a statement of another process
    updating some of them (the request's hand-off marks, another worker's taken-up or sent
    marks) takes its row locks in the order it finds the rows: the two can deadlock, and
    PostgreSQL aborts one. Before this the task failed with its notifications taken up and
    unbuilt, waiting for the sweep (`bench/intake.py --end-to-end` met it in two runs of six).
    """
    for attempt in range(1, TRIES_AFTER_A_DEADLOCK + 1):
        try:
            return work()
        except DatabaseError as error:
            code = getattr(error.__cause__, "sqlstate", None)
            if code not in TRANSACTION_CONFLICTS or attempt == TRIES_AFTER_A_DEADLOCK:
                raise
            logger.warning(
                "Building emails aborted by PostgreSQL (%s): try %s of %s",
                code,
                attempt + 1,
                TRIES_AFTER_A_DEADLOCK,
            )
            time.sleep(random.uniform(0, 0.05 * attempt))  # noqa: S311 - jitter, not secrecy


def emails_build(notification_ids: list[int], *, now) -> list[int]:
    """Build emails for the due notifications among these; return every unsent email they're in.

    The batch is built together: one query locks the notifications and the due members of
    their digests (keys only), one loads what the emails list (with what they name), the
    templates' data is looked up once for all of them, one INSERT stores the emails and one
    UPDATE per few hundred notifications points them at their emails. A digest lists its first
    NOTIFY_DIGEST_MAX_ITEMS notifications and counts the rest, so that neither its size nor
    its cost grows with a flood of comments in one window."""
    with transaction.atomic():
        due_member = Q(status=Notification.Status.PENDING, email__isnull=True, due_at__lte=now)
        digests = set(
            Notification.objects.filter(due_member, pk__in=notification_ids)
            .exclude(digest_group="")
            .values_list("digest_group", flat=True)
        )
        # These notifications and the due members of their digests, locked in one query in
        # one order, so that two workers with overlapping batches cannot deadlock.
        locked = list(
            Notification.objects.select_for_update()
            .filter(
                Q(pk__in=notification_ids, status=Notification.Status.PENDING)
                | (due_member & Q(digest_group__in=digests))
            )
            .order_by("pk")
            .values_list(
                "pk",
                "digest_group",
                "email_id",
                "due_at",
                "to",
                "kind",
                "department_id",
                named=True,
            )
        )
        members_of: dict[str, list] = {}
        for row in locked:
            if row.digest_group and row.email_id is None and row.due_at <= now:
                members_of.setdefault(row.digest_group, []).append(row)
        asked = set(notification_ids)
        built = set()
        handled = set()
        groups = []
        for row in locked:
            if row.pk not in asked:
                continue
            if row.email_id:
                built.add(row.email_id)
            if row.email_id or row.pk in handled or row.due_at > now:
                continue
            members = members_of.get(row.digest_group, [row])
            groups.append(members)
            handled.update(member.pk for member in members)
        if groups:
            # A department's mail goes to its addresses as they are now, not as they were when
            # each comment came in: a digest went on to a mailbox switched off meanwhile, with
            # the contact details of comments written after that.
            now_to = department_addresses_now(
                {(member.kind, member.department_id) for members in groups for member in members}
            )
            listed = settings.NOTIFY_DIGEST_MAX_ITEMS
            shown = (
                Notification.objects.select_related("department", "consultation__issuer")
                # The notice's own text (kilobytes, once per row) is never in an email.
                .defer(*consultation_texts("consultation"))
                .order_by()
                .in_bulk([member.pk for members in groups for member in members[:listed]])
            )
            emails = rows_insert(
                OutgoingEmail,
                emails_compose(
                    [
                        Digest(
                            [shown[member.pk] for member in members[:listed]],
                            count=len(members),
                            to=addresses_distinct(
                                sorted(
                                    address
                                    for member in members
                                    for address in now_to.get(
                                        (member.kind, member.department_id), member.to
                                    )
                                )
                            ),
                        )
                        for members in groups
                    ]
                ),
            )
            _notifications_point_at(
                [
                    (member.pk, email.pk)
                    for members, email in zip(groups, emails, strict=True)
                    for member in members
                ]
            )
            unrenderable = [e.pk for e in emails if e.status == OutgoingEmail.Status.FAILED]
            if unrenderable:
                Notification.objects.filter(email_id__in=unrenderable).update(
                    status=Notification.Status.FAILED
                )
            built.update(email.pk for email in emails)
    return sorted(
        OutgoingEmail.objects.filter(pk__in=built, status=OutgoingEmail.Status.PENDING).values_list(
            "pk", flat=True
        )
    )


# Notifications pointed at their emails per statement: within SQLite's 999 parameters (each
# key twice, each email once), whatever a digest's size.
POINTED_PER_STATEMENT = 300


def _notifications_point_at(pairs: list[tuple[int, int]]) -> None:
    """Point each notification at its email, given as (notification, email) keys: a statement
    per POINTED_PER_STATEMENT notifications, a CASE branch per email in it (a digest's members
    share one), not one statement per email nor one branch per notification."""
    for start in range(0, len(pairs), POINTED_PER_STATEMENT):
        chunk = pairs[start : start + POINTED_PER_STATEMENT]
        members_of: dict[int, list[int]] = {}
        for notification_id, email_id in chunk:
            members_of.setdefault(email_id, []).append(notification_id)
        Notification.objects.filter(pk__in=[pk for pk, _email in chunk]).update(
            email=Case(
                *(When(pk__in=members, then=Value(email)) for email, members in members_of.items())
            )
        )


@dataclass
class Digest:
    """What one email says: the notifications it lists (a digest's first ones), how many it
    stands for, and the addresses of them all."""

    listed: list[Notification]
    count: int
    to: list[str]


# What rendering an email can raise because of what one email holds or names: a template
# missing for its kind (a notification written by a newer release, read by a worker of an older
# one during a rolling upgrade), or a filter or tag refusing a value from its context.
UNRENDERABLE_ERRORS = (
    TemplateDoesNotExist,
    TemplateSyntaxError,
    ValueError,
    TypeError,
    LookupError,
)


def emails_compose(digests: list[Digest]) -> list[OutgoingEmail]:
    """An unsaved email for each (a digest's members, or one notification). One that cannot be
    rendered comes back failed, with the reason, instead of keeping the batch's other emails
    from being built: rendered together first, and one by one only when that fails."""
    composed = [None] * len(digests)
    for language in {digest.listed[0].language for digest in digests}:
        places = [n for n, digest in enumerate(digests) if digest.listed[0].language == language]
        with translation.override(language):
            try:
                emails = _emails_render([digests[n] for n in places])
            except UNRENDERABLE_ERRORS:
                for n in places:
                    try:
                        (composed[n],) = _emails_render([digests[n]])
                    except UNRENDERABLE_ERRORS as error:
                        composed[n] = _email_unrenderable(digests[n], error)
            else:
                for n, email in zip(places, emails, strict=True):
                    composed[n] = email
    return composed


def _emails_render(digests: list[Digest]) -> list[OutgoingEmail]:
    rendered = emails_render(
        [digest.listed for digest in digests], counts=[digest.count for digest in digests]
    )
    return [_email_compose(digest, *text) for digest, text in zip(digests, rendered, strict=True)]


def _email_unrenderable(digest: Digest, error: Exception) -> OutgoingEmail:
    logger.exception("Email for notification %s could not be rendered", digest.listed[0].pk)
    email = _email_compose(digest, gettext("（邮件无法生成）"), "", "")
    email.status = OutgoingEmail.Status.FAILED
    email.failed_at = timezone.now()
    email.last_error = (gettext("邮件无法生成：") + _describe(error))[:2000]
    return email


def _email_compose(digest: Digest, subject, body_text, body_html) -> OutgoingEmail:
    first = digest.listed[0]
    domain = settings.NOTIFY_MESSAGE_ID_DOMAIN
    issuer = first.consultation.issuer if first.consultation_id else None
    headers = {}
    if unsubscribe := first.context.get("unsubscribe_url"):
        # RFC 8058: mail programs offer the one-click unsubscribe beside the sender's name.
        headers = {
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    return OutgoingEmail(
        message_id=f"<consult.{first.kind}.{first.pk}.{secrets.token_hex(6)}@{domain}>",
        to=digest.to,
        subject=header_text(subject)[:300],
        body_text=body_text,
        body_html=body_html,
        # Citizens and departments hear from the bureau that asked, not from "consult".
        sender_name=header_text(issuer.full_name or issuer.name)[:200] if issuer else "",
        headers=headers,
    )


def email_claim(email_id: int, *, now) -> bool:
    """Take the email for sending until the lease ends; False if sent, failed, held by another
    process or waiting for its retry."""
    return _email_claim(email_id, now=now) is not None


def _email_claim(email_id: int, *, now) -> OutgoingEmail | None:
    """The claimed email, or None. One conditional UPDATE: of two processes only one wins.

    A lease still set when the email is claimed again was never given back: the process that
    held it died while sending. That is counted, and the email given up on after
    `NOTIFY_MAX_ATTEMPTS` of those.
    """
    lease = datetime.timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)
    adapt = database.ops.adapt_datetimefield_value
    # Plain SQL, as in email_mark_sent: it runs once per message, and UPDATE … RETURNING
    # (PostgreSQL, SQLite ≥ 3.35) takes and reads the row in one statement instead of two.
    claimed = OutgoingEmail.objects.raw(
        f"UPDATE {OutgoingEmail._meta.db_table} SET lease_until = %s,"  # noqa: S608 - the model's table
        " attempts = attempts + 1,"
        " interrupted = interrupted + CASE WHEN lease_until IS NULL THEN 0 ELSE 1 END"
        " WHERE id = %s AND status = %s AND (lease_until IS NULL OR lease_until <= %s)"
        " AND (next_attempt_at IS NULL OR next_attempt_at <= %s) RETURNING *",
        [
            adapt(now + lease),
            email_id,
            OutgoingEmail.Status.PENDING,
            adapt(now),
            adapt(now + RETRY_SLACK),
        ],
    )
    return next(iter(claimed), None)


def email_lease_renew(email: OutgoingEmail, *, now=None) -> None:
    """Extend the lease of an email this process is sending, once half of it has gone; raises
    LeaseLost when the email is no longer this process's (its lease ran out and another took it).

    A statement only in a send slower than half a lease; `email.lease_until` is the lease held.
    """
    now = now or timezone.now()
    lease = datetime.timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)
    if email.lease_until - now > lease / 2:
        return
    renewed = now + lease
    # Ours while it still carries the lease this process last set: a claim sets another.
    try:
        held = OutgoingEmail.objects.filter(
            pk=email.pk, status=OutgoingEmail.Status.PENDING, lease_until=email.lease_until
        ).update(lease_until=renewed)
    except DatabaseError as error:
        # Not knowing whether it is still ours, stop: the email waits for its lease to run out
        # and is sent then (once: this send never completed), and the batch goes on.
        raise LeaseLost(f"email {email.pk}: its lease could not be renewed ({error})") from error
    if not held:
        raise LeaseLost(f"email {email.pk}: its lease ran out at {email.lease_until}")
    email.lease_until = renewed


@contextlib.contextmanager
def lease_kept_while_sending(connection, email: OutgoingEmail):
    """Renew the email's lease before each SMTP command of its send (`email_lease_renew`).

    EMAIL_TIMEOUT bounds each socket operation, not a send: a message to 15 addresses over a
    relay that takes 10 s per answer needs longer than a lease, and the sweep would then let
    another worker send it too. Renewed between commands, the lease runs out only when the
    process stops making progress (each wait is bounded by EMAIL_TIMEOUT, below half a lease).
    Only smtplib connections have commands; other backends' sends are not held up anywhere.
    """
    smtp = getattr(connection, "connection", None)
    if not isinstance(smtp, smtplib.SMTP):
        yield
        return
    send = smtp.send  # every command and the message's data go through it

    def send_holding_the_lease(data):
        email_lease_renew(email)
        return send(data)

    smtp.send = send_holding_the_lease
    try:
        yield
    finally:
        vars(smtp).pop("send", None)


def email_mark_sent(email: OutgoingEmail, note: str = "") -> None:
    """One statement per message, so a long batch is not slowed by a transaction per send.

    The email row is the record of what went out; its notifications follow in
    `notifications_mark_sent` at the end of the batch (or on the next delivery, if the
    worker dies first). Plain SQL: it runs once per message, and the ORM's own work here
    cost as much as the statement.
    """
    table = OutgoingEmail._meta.db_table
    with database.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, sent_at = %s, lease_until = NULL, last_error = %s"  # noqa: S608 - the table name is the model's
            " WHERE id = %s",
            [OutgoingEmail.Status.SENT, timezone.now(), note[:2000], email.pk],
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
    logger.error("Email %s failed for good: %s", email.message_id, addresses_redacted(error))
    with transaction.atomic():
        OutgoingEmail.objects.filter(pk=email.pk).update(
            status=OutgoingEmail.Status.FAILED,
            lease_until=None,
            next_attempt_at=None,
            last_error=error[:2000],
            failed_at=timezone.now(),
        )
        Notification.objects.filter(email=email).update(status=Notification.Status.FAILED)


def emails_postpone(
    email_ids, error: str, *, now, claimed: bool, error_if_given_up: str | None = None
) -> DeliveryResult:
    """After a transient error: each email waits for its retry, or is given up on once it has
    failed for `NOTIFY_GIVE_UP_AFTER` without a break (with `error_if_given_up` when the error
    speaks of the retry).

    `claimed`: this process holds their leases (and counted the attempt when it claimed them).
    Otherwise only emails nobody holds and that are not waiting already are touched (the
    connection failed before their turn); the attempt is counted here.
    """
    result = DeliveryResult()
    error = error[:2000]
    with transaction.atomic():
        emails = OutgoingEmail.objects.select_for_update(skip_locked=True).filter(
            pk__in=email_ids, status=OutgoingEmail.Status.PENDING
        )
        if not claimed:
            emails = emails.filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now)).filter(
                Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + RETRY_SLACK)
            )
        waiting = []
        for email in emails.order_by("pk"):
            attempts = email.attempts if claimed else email.attempts + 1
            failing_since = email.failing_since or now
            if now - failing_since >= give_up_after():
                email_mark_failed(email, (error_if_given_up or error)[:2000])
                result.failed.append(email.pk)
                continue
            delay = retry_delay(attempts)
            OutgoingEmail.objects.filter(pk=email.pk).update(
                attempts=attempts,
                lease_until=None,
                next_attempt_at=now + datetime.timedelta(seconds=delay),
                failing_since=failing_since,
                last_error=error,
            )
            logger.warning(
                "Email %s not sent (attempt %s): %s", email.pk, attempts, addresses_redacted(error)
            )
            waiting.append(email.pk)
            result.retry_in = max(result.retry_in, delay)
        result.retry_ids = _first_notification_ids(waiting)
    return result


def header_text(text: str) -> str:
    """Text for a header (a subject, a sender's name) on one line: a line break or a control
    character in a title or a bureau's name, typed or imported, made every email of it fail
    for good (an address's parts cannot contain CR or LF)."""
    return " ".join(FORBIDDEN_CONTROLS.sub(" ", text or "").split())


def _readdressed_for_retry(email: OutgoingEmail) -> None:
    """An email to departments waiting for its retry goes to their mailboxes as they are now,
    as "send again" does: a mailbox switched off after the email was built got the contact
    details on each retry (for up to NOTIFY_GIVE_UP_AFTER), and one put in its place got
    nothing. Those who have it, or refused it for good, stay on record. Citizens' emails are
    sent as addressed."""
    addresses = notifications_readdress(email.notifications.order_by("pk"))
    if addresses is None:
        return
    readdressed = addresses_distinct([*email.delivered_to, *email.refused_for_good, *addresses])
    if readdressed != email.to:
        email.to = readdressed
        OutgoingEmail.objects.filter(pk=email.pk).update(to=readdressed)


def email_sender(email: OutgoingEmail) -> str:
    """DEFAULT_FROM_EMAIL's address under the name of the bureau the email speaks for."""
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    name = header_text(email.sender_name)  # as composed; and emails composed before it was
    if not name or not address:
        return settings.DEFAULT_FROM_EMAIL
    # Unencoded: Django's mail encodes the header itself when it builds the message.
    return str(Address(display_name=name, addr_spec=address))


def email_message(email: OutgoingEmail, connection) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        from_email=email_sender(email),
        to=email.addresses_still_to_send(),
        connection=connection,
        headers={
            **email.headers,
            "Message-ID": email.message_id,
            "Auto-Submitted": "auto-generated",
        },
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    return message


TRANSIENT_ERRORS = (smtplib.SMTPException, OSError, socket.timeout)
# An email that cannot be built or addressed fails the same way however often it is tried: an
# address Django cannot sanitize ("x@y.cn;z@w.cn"), text or a header the message cannot carry
# (UnicodeError and Django's BadHeaderError are ValueErrors), an unknown charset (LookupError).
UNSENDABLE_ERRORS = (ValueError, LookupError, MessageError)


def addresses_unusable_removed(message: EmailMultiAlternatives) -> list[str]:
    """Take out of the message's recipients the addresses no SMTP server could be given (one
    Django cannot sanitize, such as "x@y.cn;z@w.cn"), and return them: a department's one bad
    mailbox must not keep its email from the others."""
    unusable = []
    encoding = message.encoding or settings.DEFAULT_CHARSET
    for field_name in ("to", "cc", "bcc"):
        usable = []
        for address in getattr(message, field_name):
            try:
                sanitize_address(address, encoding)
            except UNSENDABLE_ERRORS:
                unusable.append(address)
            else:
                usable.append(address)
        setattr(message, field_name, usable)
    return unusable


def unusable_addresses_note(addresses: list[str]) -> str:
    return gettext("以下地址无效，未发往：%(addresses)s") % {"addresses": "、".join(addresses)}


def refused_addresses_note(refused: dict) -> str:
    """The recipients the relay turned away while it took the message for the others: the
    email is sent (sending it again would repeat it to them), and says who did not get it."""
    return gettext("以下地址被邮件服务器拒收，未收到：%(refusals)s") % {
        "refusals": _refusals(refused)
    }


def _refusals(refused: dict) -> str:
    return "、".join(
        f"{address}（{code} {_reply_text(reply)}）"
        for address, (code, reply) in sorted(refused.items())
    )


def _reply_text(reply) -> str:
    """An SMTP server's reply as text (smtplib gives bytes)."""
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def recipients_answered(message, refused: dict) -> tuple[list[str], dict]:
    """The message's recipients the relay took, and those it refused with its answers, as
    {address as the email has it: (code, reply)}.

    smtplib names a refused recipient as it was given to the server: sanitized by Django."""
    if not refused:  # nearly always: no address is sanitized for nothing
        return message.recipients(), {}
    encoding = message.encoding or settings.DEFAULT_CHARSET
    accepted, refusals = [], {}
    for address in message.recipients():
        answer = refused.get(sanitize_address(address, encoding))
        if answer is None:
            accepted.append(address)
        else:
            code, reply = answer
            refusals[address] = (code, _reply_text(reply))
    return accepted, refusals


def email_answered_in_part(
    email: OutgoingEmail,
    accepted: list[str],
    refused: dict,
    unusable: list[str],
    *,
    now,
) -> DeliveryResult:
    """What the relay's answers for each recipient make of an email it took for some of them,
    or refused for some for good and others for now, or of one an earlier attempt delivered in
    part. It is sent once every recipient has it or refused it for good (failed if none has
    it); while any refused it for now (4xx: a greylisting server, a full or busy mailbox), it
    waits for its retry, which goes to those alone (`delivered_to` and `refused_for_good` keep
    who is done), and is given up on as any email failing for `NOTIFY_GIVE_UP_AFTER`."""
    for_now, for_good = {}, {}
    for address, (code, reply) in refused.items():
        (for_good if 500 <= code < 600 else for_now)[address] = (code, reply)
    delivered = [*email.delivered_to, *accepted]
    refused_for_good = {**email.refused_for_good, **for_good}
    notes = [
        unusable_addresses_note(unusable) if unusable else "",
        refused_addresses_note(refused_for_good) if refused_for_good else "",
    ]
    result = DeliveryResult()
    with transaction.atomic():
        if delivered != email.delivered_to or refused_for_good != email.refused_for_good:
            OutgoingEmail.objects.filter(pk=email.pk).update(
                delivered_to=delivered,
                refused_for_good=refused_for_good,
                # When it first reached someone; when it reached the last, if it does.
                sent_at=email.sent_at or (now if delivered else None),
            )
        if not for_now:
            note = " ".join(note for note in notes if note)
            if delivered:
                email_mark_sent(email, note)
                result.sent.append(email.pk)
            else:
                email_mark_failed(email, note)
                result.failed.append(email.pk)
            return result
        waiting = {"refusals": _refusals(for_now)}
        retried = gettext("以下地址暂时拒收，将重试：%(refusals)s") % waiting
        given_up = gettext("以下地址暂时拒收，已不再重试：%(refusals)s") % waiting

        def said(refusal: str) -> str:
            return " ".join(n for n in [delivered_note(delivered), refusal, *notes] if n)

        return emails_postpone(
            [email.pk], said(retried), now=now, claimed=True, error_if_given_up=said(given_up)
        )


def delivered_note(delivered: list[str]) -> str:
    if not delivered:
        return ""
    return gettext("已发往：%(addresses)s。") % {"addresses": "、".join(delivered)}


def refusals_of_the_rest(message, error: Exception) -> dict | None:
    """What an error of a message's send answers for each of its recipients, as
    {address: (code, reply)}; None when it says nothing of them (the connection broke)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return recipients_answered(message, error.recipients)[1]
    if isinstance(error, smtplib.SMTPResponseException):
        answer = (error.smtp_code, _reply_text(error.smtp_error))
        return dict.fromkeys(message.recipients(), answer)
    return None


def is_permanent(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in error.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return 500 <= error.smtp_code < 600
    return False


def emails_send(email_ids: list[int]) -> DeliveryResult:
    """Send these emails over one connection, claiming each just before its own send.

    Emails sent, failed, held by another process or waiting for their retry are left alone:
    whoever holds them, or their own retry, finishes them. What fails now waits for its retry
    (`result.retry_ids`, due in `result.retry_in` seconds).
    """
    result = DeliveryResult()
    if not email_ids:
        return result
    email_ids = sorted(email_ids)
    if not _claimable(email_ids).exists():
        return result  # a stray task: no connection to the server for nothing
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except TRANSIENT_ERRORS as error:
        _merge(
            result, emails_postpone(email_ids, _describe(error), now=timezone.now(), claimed=False)
        )
        return result
    try:
        with sent_marks_flushed_lazily():
            for email_id in email_ids:
                email = _email_claim(email_id, now=timezone.now())
                if email is None:
                    continue
                if email.interrupted >= settings.NOTIFY_MAX_ATTEMPTS:
                    email_mark_failed(
                        email,
                        f"sending was interrupted {email.interrupted} times (worker lost); "
                        f"last error: {email.last_error or '-'}",
                    )
                    result.failed.append(email.pk)
                    continue
                if email.failing_since is not None:
                    _readdressed_for_retry(email)
                try:
                    message = email_message(email, connection)
                    unusable = addresses_unusable_removed(message)
                    if not message.recipients() and email.delivered_to:
                        # The rest of a partly delivered email went away (a mailbox removed
                        # before "send again"): what went out is all it can be.
                        answered = email_answered_in_part(
                            email, [], {}, unusable, now=timezone.now()
                        )
                        _merge(result, answered)
                        continue
                    if not message.recipients():
                        # Django's SMTP backend would send nothing and only return 0; the file
                        # and memory backends would keep a message that went to nobody.
                        email_mark_failed(
                            email,
                            unusable_addresses_note(unusable)
                            if unusable
                            else no_recipient_error(email),
                        )
                        result.failed.append(email.pk)
                        continue
                    try:
                        connection.open()  # a no-op unless an earlier reset failed to reopen it
                    except TRANSIENT_ERRORS as error:
                        # The server refusing a session (554 too many connections, 535 on
                        # login) says nothing about this email: it and the rest of the batch
                        # wait for their retry, as when the batch could not start.
                        described, now = _describe(error), timezone.now()
                        _merge(
                            result, emails_postpone([email.pk], described, now=now, claimed=True)
                        )
                        rest = email_ids[email_ids.index(email_id) + 1 :]
                        _merge(result, emails_postpone(rest, described, now=now, claimed=False))
                        break
                    with lease_kept_while_sending(connection, email):
                        connection.send_messages([message])
                except TRANSIENT_ERRORS as error:
                    refusals = refusals_of_the_rest(message, error)
                    refused_in_part = isinstance(error, smtplib.SMTPRecipientsRefused) and (
                        len({500 <= code < 600 for code, _reply in refusals.values()}) > 1
                    )
                    if refusals is not None and (email.delivered_to or refused_in_part):
                        # The rest of a partly delivered email, or some recipients refused for
                        # good and others for now: each recipient's answer decides.
                        answered = email_answered_in_part(
                            email, [], refusals, unusable, now=timezone.now()
                        )
                        _merge(result, answered)
                    elif email.delivered_to:  # the connection broke: nothing said of the rest
                        described = f"{delivered_note(email.delivered_to)} {_describe(error)}"
                        postponed = emails_postpone(
                            [email.pk], described, now=timezone.now(), claimed=True
                        )
                        _merge(result, postponed)
                    elif is_permanent(error):
                        email_mark_failed(email, _describe(error))
                        result.failed.append(email.pk)
                    else:
                        postponed = emails_postpone(
                            [email.pk], _describe(error), now=timezone.now(), claimed=True
                        )
                        _merge(result, postponed)
                    _reset_connection(connection)
                    continue
                except UNSENDABLE_ERRORS as error:
                    # This email's own fault: the rest of the batch goes on.
                    email_mark_failed(email, _describe(error))
                    result.failed.append(email.pk)
                    _reset_connection(connection)
                    continue
                except LeaseLost as error:
                    logger.warning("Stopped sending, another process holds it now: %s", error)
                    _drop_connection(connection)
                    continue
                refused = getattr(connection, "recipients_refused", None) or {}
                if refused:
                    # Counted, not named: the outbox keeps the addresses, a log does not.
                    logger.warning(
                        "Email %s: the relay refused %d of its recipients",
                        email.message_id,
                        len(refused),
                    )
                if refused or email.delivered_to:
                    accepted, refusals = recipients_answered(message, refused)
                    answered = email_answered_in_part(
                        email, accepted, refusals, unusable, now=timezone.now()
                    )
                    _merge(result, answered)
                    continue
                email_mark_sent(email, unusable_addresses_note(unusable) if unusable else "")
                result.sent.append(email.pk)
    finally:
        with contextlib.suppress(TRANSIENT_ERRORS):
            connection.close()
        notifications_mark_sent(result.sent)
    return result


def _claimable(email_ids, *, now=None):
    """Pending emails (among these ids, or all) that nobody holds and that are not waiting."""
    now = now or timezone.now()
    emails = OutgoingEmail.objects.filter(status=OutgoingEmail.Status.PENDING)
    if email_ids is not None:
        emails = emails.filter(pk__in=email_ids)
    return emails.filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now)).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + RETRY_SLACK)
    )


def _merge(result: DeliveryResult, other: DeliveryResult) -> None:
    result.sent += other.sent
    result.failed += other.failed
    result.retry_ids += other.retry_ids
    result.retry_in = max(result.retry_in, other.retry_in)


def _reset_connection(connection) -> None:
    """After an error the SMTP session may be half-dead; the next message opens a fresh one."""
    with contextlib.suppress(TRANSIENT_ERRORS):
        connection.close()
    with contextlib.suppress(TRANSIENT_ERRORS):
        connection.open()


def _drop_connection(connection) -> None:
    """Close the socket without a QUIT, so that the server discards the message left incomplete
    (a QUIT in the middle of DATA would be read as part of it), then open a fresh one."""
    smtp = getattr(connection, "connection", None)
    if isinstance(smtp, smtplib.SMTP):
        smtp.close()
        connection.connection = None
    _reset_connection(connection)


def no_recipient_error(email: OutgoingEmail) -> str:
    """What an admin reads on an email that had nobody to go to: whose addresses were missing
    when its notifications were written (a mailbox added afterwards is used when it is sent
    again)."""
    rows = list(
        email.notifications.exclude(department=None).values_list("kind", "department__name")
    )
    names = "、".join(sorted({name for _kind, name in rows}))
    if not names:
        return gettext("没有收件人，邮件未发出。")
    if any(kind == Notification.Kind.REMINDER for kind, _name in rows):
        return gettext(
            "没有收件人，邮件未发出：写入提醒时，%(departments)s既没有启用的通知邮箱，"
            "也没有留有邮箱的工作人员。"
        ) % {"departments": names}
    return gettext("没有收件人，邮件未发出：写入通知时，%(departments)s没有启用的通知邮箱。") % {
        "departments": names
    }


def _first_notification_ids(email_ids) -> list[int]:
    """One notification per email, the first: what a retry hands to the broker (delivering one
    notification of an email sends the whole email), and what the sweep looks at."""
    if not email_ids:
        return []
    firsts = (
        Notification.objects.filter(email_id__in=email_ids, status=Notification.Status.PENDING)
        .values("email_id")
        .annotate(first=Min("pk"))
        .values_list("first", flat=True)
    )
    return sorted(firsts)


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def email_resend(email: OutgoingEmail) -> list[int]:
    """Put a failed, or long pending, email back in the queue at once (admin action), with a
    fresh count and clock; returns its notification ids. An email being sent right now (a live
    lease) is left to its sender: [].

    An email to departments goes to their addresses as they are now: a mailbox added or
    corrected after it failed is what "send again" is for. A citizen's email keeps its
    address. One that could not be rendered is rendered again (the release that reads it may
    have changed); if it still cannot be, or its text was removed with the personal data it
    held (retention), `EmailNotResendable` says why and nothing changes."""
    now = timezone.now()
    with transaction.atomic():
        locked = (
            OutgoingEmail.objects.select_for_update()
            .filter(pk=email.pk)
            .exclude(status=OutgoingEmail.Status.SENT)
            .exclude(lease_until__gt=now)
            .first()
        )
        if locked is None:
            return []
        if locked.body_text == REDACTED:
            raise EmailNotResendable(gettext("个人信息保存期限已满，邮件正文已删除"))
        fresh = {
            "status": OutgoingEmail.Status.PENDING,
            "attempts": 0,
            "interrupted": 0,
            "lease_until": None,
            "next_attempt_at": None,
            "failing_since": None,
            "failed_at": None,
            # Asked to try again: a mailbox that refused it for good may take it now. Those
            # who have it do not get it twice.
            "refused_for_good": {},
        }
        addresses = notifications_readdress(locked.notifications.order_by("pk"))
        if addresses is not None:
            fresh["to"] = addresses
        if not locked.body_text:  # never rendered: see _email_unrenderable
            fresh.update(_email_rendered_again(locked, fresh.get("to", locked.to)))
        OutgoingEmail.objects.filter(pk=locked.pk).update(**fresh)
        locked.notifications.exclude(status=Notification.Status.SENT).update(
            status=Notification.Status.PENDING
        )
        ids = list(locked.notifications.order_by("pk").values_list("pk", flat=True))
    return ids


def emails_unsent_rendered_again(notifications, *, now=None) -> int:
    """Render again the emails built for these notifications and not sent yet (waiting for a
    retry while the mail relay was down, say), so that they tell what is so when they go: a
    department whose part in a comment changed meanwhile (a lead department that a coordinator
    made a cooperating one) must not get the owner's words and the submitter's details. An
    email a worker is sending now (its lease held) is sent as built; one whose text was
    removed with the personal data it held, or that cannot be rendered now, is left as it is.
    The Message-ID stays: a retry is still the same message. Returns how many were."""
    now = now or timezone.now()
    unsent = [OutgoingEmail.Status.PENDING, OutgoingEmail.Status.FAILED]
    emails = list(
        OutgoingEmail.objects.select_for_update()
        .filter(
            pk__in=notifications.filter(email__status__in=unsent).values("email_id"),
            status__in=unsent,
        )
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
        .exclude(body_text__in=["", REDACTED])
        .order_by("pk")
    )
    rendered = 0
    for email in emails:
        try:
            fields = _email_rendered_again(email, email.to)
        except EmailNotResendable:
            logger.warning("Email %s could not be rendered again; it stays as built", email.pk)
            continue
        OutgoingEmail.objects.filter(pk=email.pk).update(**fields)
        rendered += 1
    return rendered


class EmailNotResendable(Exception):
    """Why an email cannot be sent again (in the reader's language)."""


def _email_rendered_again(email: OutgoingEmail, to: list[str]) -> dict:
    members = list(
        email.notifications.select_related("department", "consultation__issuer")
        .defer(*consultation_texts("consultation"))
        .order_by("pk")
    )
    digest = Digest(members[: settings.NOTIFY_DIGEST_MAX_ITEMS], count=len(members), to=to)
    try:
        with translation.override(digest.listed[0].language):
            (rendered,) = _emails_render([digest])
    except UNRENDERABLE_ERRORS as error:
        raise EmailNotResendable(
            gettext("仍无法生成（%(error)s）") % {"error": _describe(error)}
        ) from error
    return {
        "subject": rendered.subject,
        "body_text": rendered.body_text,
        "body_html": rendered.body_html,
        "headers": rendered.headers,
        "sender_name": rendered.sender_name,
    }


__all__ = [
    "DeliveryResult",
    "EmailNotResendable",
    "deliver",
    "email_resend",
    "emails_build",
    "emails_send",
    "emails_unsent_rendered_again",
]
