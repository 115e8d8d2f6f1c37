"""Writing notifications into the outbox and publishing them to Celery after commit.

Two words, two steps: *write* puts a notification row in the outbox, inside the caller's
transaction (`notification_write`, `comments_notifications_write` …); *publish* hands committed
rows to the broker (`notifications_publish`, `notifications_publish_on_commit`). If the broker
cannot take them the rows stay pending for `outbox_sweep` to pick up.
"""

import atexit
import contextlib
import datetime
import logging
import os
import queue
import threading
import time
from collections.abc import Iterable
from functools import partial
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Min, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from consult.consultations.models import Department, Mailbox, Membership

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


def addresses_distinct(addresses: Iterable[str]) -> list[str]:
    """These addresses, each mailbox once, in order: compared in any case, as mail servers
    compare them (a mailbox saved in capitals beside its lower-case self, or a staff member's
    address typed otherwise than the department's mailbox, is one mailbox, mailed once)."""
    seen, distinct = set(), []
    for address in addresses:
        if address.lower() not in seen:
            seen.add(address.lower())
            distinct.append(address)
    return distinct


def recipients_by_department(department_ids, *, staff=False) -> dict[int, list[str]]:
    """Each department's active mailboxes; with `staff`, its active staff's own addresses too
    (reminders go to the people who must act, not only to the office's mailbox)."""
    recipients = {}
    mailboxes = Mailbox.objects.filter(department_id__in=department_ids, is_active=True)
    for department_id, email in mailboxes.order_by("pk").values_list("department_id", "email"):
        recipients.setdefault(department_id, []).append(email)
    if staff:
        members = (
            Membership.objects.filter(
                department_id__in=department_ids, user__is_active=True, user__is_staff=True
            )
            .exclude(user__email="")
            .order_by("pk")
            .values_list("department_id", "user__email")
        )
        for department_id, email in members:
            recipients.setdefault(department_id, []).append(email)
    return {department_id: addresses_distinct(to) for department_id, to in recipients.items()}


# The kinds written to a department's addresses rather than to a citizen's own, each with
# whether its staff's addresses go with the mailboxes (`recipients_by_department`'s `staff`):
# sent again, they go to the department's addresses as they are now. The layers that write
# such notifications register their kinds (comments: `CommentsConfig.ready`).
_department_addressed_kinds: dict[str, bool] = {}


def department_addressed_kinds_register(kinds: dict[str, bool]) -> None:
    _department_addressed_kinds.update(kinds)


def department_addresses_now(pairs) -> dict[tuple[str, int], list[str]]:
    """For (kind, department id) pairs of notifications addressed to a department, that
    department's addresses as they are now, by pair; pairs of other kinds are left out. What
    an email to a department goes to when it is built or sent again: a mailbox switched off
    since the notification was written is no longer one of them."""
    wanted = {
        (kind, department_id)
        for kind, department_id in pairs
        if kind in _department_addressed_kinds and department_id is not None
    }
    addresses = {}
    for staff in (False, True):
        of_kind = {pair for pair in wanted if _department_addressed_kinds[pair[0]] == staff}
        if of_kind:
            found = recipients_by_department({pair[1] for pair in of_kind}, staff=staff)
            for pair in of_kind:
                addresses[pair] = found.get(pair[1], [])
    return addresses


def notifications_readdress(notifications) -> list[str] | None:
    """Give department notifications their departments' current addresses; returns the
    addresses of them all, or None (nothing changed) when any of them is not addressed to a
    department."""
    notifications = list(notifications)
    current = department_addresses_now((n.kind, n.department_id) for n in notifications)
    if not notifications or any((n.kind, n.department_id) not in current for n in notifications):
        return None
    addresses = []
    for notification in notifications:
        notification.to = current[notification.kind, notification.department_id]
        addresses.extend(notification.to)
    Notification.objects.bulk_update(notifications, ["to"])
    return addresses_distinct(sorted(addresses))


def notification_values(
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
) -> dict:
    """The row of a new notification ({attname: value}), due now or at the end of its
    department's digest window."""
    now = now or timezone.now()
    # "Immediate" departments get one email per notification, never a digest.
    digest = digest and department is not None
    digest = digest and department.digest_mode != Department.DigestMode.IMMEDIATE
    return {
        "kind": kind,
        "key": key,
        "to": list(to),
        "department_id": department.pk if department is not None else None,
        "consultation_id": consultation.pk if consultation is not None else None,
        "comment_id": comment.pk if comment is not None else None,
        "context": context or {},
        "digest_group": (
            f"{department.pk}:{consultation.pk if consultation else 0}:{kind}" if digest else ""
        ),
        "due_at": digest_due_at(department, now) if digest else now,
        "language": language or settings.LANGUAGE_CODE,
    }


_RELATIONS = ("department", "consultation", "comment")


def notification_build(**fields) -> Notification:
    """An unsaved notification (see `notification_values`), holding the objects it was given."""
    values = notification_values(**fields)
    for name in _RELATIONS:
        del values[f"{name}_id"]
    return Notification(**values, **{name: fields.get(name) for name in _RELATIONS})


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


def notifications_write_once(notifications: list[Notification]) -> int:
    """Write these notifications, each unless one with its key exists already, and publish the
    ones still pending after commit; returns how many that is. The keys make repeating the
    call (publishing a report twice, a retried job) mail nobody twice."""
    if not notifications:
        return 0
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)
    queued = list(
        Notification.objects.filter(
            key__in=[n.key for n in notifications], status=Notification.Status.PENDING
        )
    )
    notifications_publish_on_commit(queued)
    return len(queued)


def notifications_unsent_withdraw(notifications, *, now=None) -> int:
    """Delete those of these notifications not sent yet: they would tell of something no longer
    so. Those no email holds yet, and the emails built for them alone and not sent (waiting for
    a retry while the mail relay was down, say, or failed, which "send again" would otherwise
    send as built) with them; an email a worker is sending now (its lease held), or a digest
    that also tells of others, is sent as built. One some of its recipients already have (the
    others refused it for now) stays as the record of what went out, goes to nobody more, and
    counts as sent. A task published for a deleted one finds nothing to do. Returns how many
    notifications were withdrawn."""
    now = now or timezone.now()
    unsent_statuses = [Notification.Status.PENDING, Notification.Status.FAILED]
    unbuilt = notifications.filter(status__in=unsent_statuses, email__isnull=True)
    windows_losing_their_task = _windows_whose_first_member_is_among(unbuilt)
    withdrawn, _by_model = unbuilt.delete()
    digest_windows_handed_on_again(windows_losing_their_task, now=now)
    built = set(
        notifications.filter(
            status__in=unsent_statuses,
            email__status__in=[OutgoingEmail.Status.PENDING, OutgoingEmail.Status.FAILED],
        ).values_list("email_id", flat=True)
    )
    if not built:
        return withdrawn
    # Locked as a worker's claim locks them (it waits, then finds them gone), and only those
    # no worker holds a lease on.
    unsent = list(
        OutgoingEmail.objects.select_for_update()
        .filter(pk__in=built)
        .exclude(status=OutgoingEmail.Status.SENT)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    telling_others = set(
        Notification.objects.filter(email_id__in=unsent)
        .exclude(pk__in=notifications.values("pk"))
        .values_list("email_id", flat=True)
    )
    alone = [pk for pk in unsent if pk not in telling_others]
    partly_delivered = OutgoingEmail.objects.filter(pk__in=alone).exclude(delivered_to=[])
    for email in partly_delivered:
        note = gettext("通知已撤回，未再发往：%(addresses)s") % {
            "addresses": "、".join(email.addresses_still_to_send())
        }
        OutgoingEmail.objects.filter(pk=email.pk).update(
            status=OutgoingEmail.Status.SENT,
            lease_until=None,
            next_attempt_at=None,
            failed_at=None,
            last_error=note[:2000],
        )
        Notification.objects.filter(email=email).update(status=Notification.Status.SENT)
        alone.remove(email.pk)
    if alone:
        count, _by_model = Notification.objects.filter(email_id__in=alone).delete()
        OutgoingEmail.objects.filter(pk__in=alone).delete()
        withdrawn += count
    return withdrawn


def _windows_whose_first_member_is_among(notifications) -> set[tuple]:
    """The (digest, due moment) windows whose first waiting member, the one their task
    carries (`batches_plan`), is among these notifications."""
    waiting = Notification.objects.filter(status=Notification.Status.PENDING, email__isnull=True)
    windows = set(
        notifications.filter(status=Notification.Status.PENDING)
        .exclude(digest_group="")
        .values_list("digest_group", "due_at")
    )
    if not windows:
        return set()
    firsts = (
        waiting.filter(digest_group__in={group for group, _due in windows})
        .order_by()
        .values("digest_group", "due_at")
        .annotate(first=Min("pk"))
        .filter(first__in=notifications.values("pk"))
    )
    return {(row["digest_group"], row["due_at"]) for row in firsts} & windows


def digest_windows_handed_on_again(windows: set[tuple], *, now) -> None:
    """A task, after commit, for each of these (digest, due moment) windows that still has
    members waiting, their first member withdrawn.

    A window's one task carries its first member only (`batches_plan`) and builds the digest
    of the members it finds with it: with that member withdrawn, it finds nothing, and the
    others waited for the sweep (an hour, the broker's visibility timeout) instead of the
    window's end. In-process tasks cannot wait: `run_due_jobs` sends those when due."""
    from .tasks import deliver_notifications

    if not windows or deliver_notifications.app.conf.task_always_eager:
        return
    members_of: dict[tuple, list[int]] = {}
    waiting = Notification.objects.filter(
        digest_group__in={group for group, _due in windows},
        status=Notification.Status.PENDING,
        email__isnull=True,
    ).order_by("due_at", "pk")
    for pk, group, due_at in waiting.values_list("pk", "digest_group", "due_at"):
        if (group, due_at) in windows:
            members_of.setdefault((group, due_at), []).append(pk)
    batches = [
        Batch([members[0]], max((due_at - now).total_seconds(), 0), members)
        for (_group, due_at), members in members_of.items()
        if due_at - now <= LONGEST_COUNTDOWN  # a daily digest's is the digests job's
    ]
    if batches:
        transaction.on_commit(partial(batches_publish, batches), robust=True)


def notifications_publish_on_commit(notifications: list[Notification]) -> None:
    planned_publish_on_commit([planned_of(n) for n in notifications if n is not None])


def planned_publish_on_commit(planned: list["Planned"]) -> None:
    if planned:
        transaction.on_commit(partial(planned_publish, planned), robust=True)


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


class Batch(NamedTuple):
    """One delivery task: the notification ids it carries, its countdown (seconds), and the ids
    it takes care of (a digest window's task builds the window's other members too)."""

    ids: list[int]
    countdown: float
    covered: list[int]


class Planned(NamedTuple):
    """What publishing needs of a committed notification."""

    pk: int
    due_at: datetime.datetime
    digest_group: str


def planned_of(notification: Notification) -> Planned:
    return Planned(notification.pk, notification.due_at, notification.digest_group)


def notifications_publish(notifications: list[Notification]) -> None:
    """Hand committed notifications to Celery in as few messages as possible.

    Never raises: if the broker cannot take them they stay pending and the sweep sends them.
    Due ones go in one task; a digest gets one task, at its due moment, per window. What was
    handed over is recorded on the rows (`published_at`), so the sweep leaves it alone.
    Planning the tasks asks the database about digest windows: in the background, that too
    happens on the publisher thread, not in the request.
    """
    planned_publish([planned_of(n) for n in notifications])


def planned_publish(planned: list[Planned]) -> None:
    """`notifications_publish` for what a writer that built no instances knows of its rows."""
    from .tasks import deliver_notifications

    if not planned:
        return
    if (
        deliver_notifications.app.conf.task_always_eager
        or not settings.NOTIFY_PUBLISH_IN_BACKGROUND
    ):
        batches_publish(batches_plan(planned))
    else:
        publisher.submit(planned)


def batches_plan(
    notifications: list[Planned], *, now=None, windows_scheduled: "ScheduledWindows | None" = None
) -> list[Batch]:
    """The delivery tasks that hand these notifications on: tasks of at most
    DELIVERY_BATCH_SIZE for all that are due, one per digest window whose earlier members have
    none yet. `windows_scheduled` remembers the windows this process has sent a task for, so a
    busy window is not looked up in the database for each of its members."""
    from .tasks import deliver_notifications

    now = now or timezone.now()
    eager = deliver_notifications.app.conf.task_always_eager
    batches: list[Batch] = []
    due_now = []
    windows: dict[tuple, list[Planned]] = {}
    for notification in notifications:
        countdown = (notification.due_at - now).total_seconds()
        if countdown <= 0:
            due_now.append(notification.pk)
        elif countdown > LONGEST_COUNTDOWN.total_seconds():
            continue  # a daily digest: the digests job hands it on when it is due
        elif eager:
            continue  # in-process tasks cannot wait; `run_due_jobs` sends it when it is due
        else:
            window = (notification.digest_group or notification.pk, notification.due_at)
            windows.setdefault(window, []).append(notification)
    for members in windows.values():
        first = members[0]
        covered = [member.pk for member in members]
        if (windows_scheduled and windows_scheduled.has_earlier(first, now)) or (
            _digest_has_earlier_member(first)
        ):
            # One task per digest window: an earlier member's task builds these too.
            batches.append(Batch([], 0, covered))
        else:
            countdown = (first.due_at - now).total_seconds()
            batches.append(Batch([first.pk], countdown, covered))
    size = settings.NOTIFY_DELIVERY_BATCH_SIZE
    for start in reversed(range(0, len(due_now), size)):
        part = due_now[start : start + size]
        batches.insert(0, Batch(part, 0, part))
    return batches


class ScheduledWindows:
    """The digest windows this process has handed a task to, until they fall due.

    A window's task builds every member pending when it runs, so once this process has sent it,
    a later member needs no task and no database lookup to learn that. Kept by the publisher
    thread only; forgotten a little before the window is due, when its task may be running."""

    MARGIN = datetime.timedelta(seconds=5)

    def __init__(self):
        self._first: dict[tuple[str, datetime.datetime], int] = {}

    def has_earlier(self, notification: Planned, now) -> bool:
        first = self._first.get((notification.digest_group, notification.due_at))
        return (
            first is not None
            and first < notification.pk
            and notification.due_at - now > self.MARGIN
        )

    def note(self, batches: list[Batch], planned: list[Planned], now) -> None:
        by_pk = {p.pk: p for p in planned}
        for batch in batches:
            if batch.countdown > 0 and batch.ids:
                first = by_pk.get(batch.ids[0])
                if first is not None and first.digest_group:
                    key = (first.digest_group, first.due_at)
                    self._first[key] = min(self._first.get(key, first.pk), first.pk)
        if len(self._first) > 1000:
            self._first = {k: v for k, v in self._first.items() if k[1] - now > self.MARGIN}


def batches_publish(batches: list[Batch]) -> list[int]:
    """One delivery task per batch, each after its countdown; returns the ids handed over, and
    marks them (and those their tasks take care of) published."""
    # Taken before the hand-off: an idle worker may start the task before this process records
    # it, and the sweep tells a task that died after starting by a start at or after this.
    now = timezone.now()
    published, covered = _batches_publish(batches)
    notifications_mark_published(published, covered, now=now)
    return published


def _batches_publish(batches: list[Batch]) -> tuple[list[int], list[int]]:
    """Stops at the first broker error: the rest stay pending, unmarked, for the sweep."""
    from .tasks import deliver_notifications

    published: list[int] = []
    covered: list[int] = []
    for batch in batches:
        if batch.ids:
            if not broker_breaker.allows():
                break
            try:
                deliver_notifications.apply_async(
                    args=[batch.ids], countdown=batch.countdown, retry=False
                )
            except Exception:  # the broker is down or hung: the rows stay pending for the sweep
                broker_breaker.trip()
                logger.warning(
                    "Could not enqueue notifications %s; they stay pending for the sweep "
                    "(not trying the broker again for %s s).",
                    batch.ids,
                    settings.NOTIFY_BROKER_PAUSE_SECONDS,
                    exc_info=True,
                )
                break
            published += batch.ids
        covered += batch.covered
    return published, covered


def notifications_mark_published(published, covered=(), *, now=None) -> None:
    """Record that these rows were handed to the broker (`published`, counted) or are taken care
    of by a task that was (`covered`). Never raises: an unrecorded hand-off only means the sweep
    may send the row once more, which delivery makes harmless."""
    now = now or timezone.now()
    counted = set(published)
    uncounted = set(covered) - counted
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():  # a savepoint inside a caller's transaction
                _mark_published(counted, uncounted, now)
        else:
            _mark_published(counted, uncounted, now)  # one statement: atomic on its own
    except Exception:
        logger.warning("Could not record the hand-off of notifications", exc_info=True)


def _mark_published(counted, uncounted, now) -> None:
    if counted or uncounted:
        Notification.objects.filter(pk__in=counted | uncounted).update(
            published_at=now,
            publications=F("publications")
            + Case(When(pk__in=counted, then=Value(1)), default=Value(0)),
        )


def retry_publish(notification_ids: list[int], countdown: float) -> None:
    """Hand the retry of emails that failed to the broker, due at their next attempt time."""
    batches_publish([Batch(list(notification_ids), countdown, list(notification_ids))])


class _PublisherLine:
    """One publisher thread's own queue and count of what it has not published yet: a thread
    stopped, or left behind by a fork, never touches the next one's."""

    def __init__(self):
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.unpublished = 0
        self.published = threading.Condition()


class _Publisher:
    """Publishes delivery tasks from a thread of its own, so that no request waits on the broker.

    A Celery publish costs about a millisecond of Python on top of Redis's own round trip, more
    than everything else the hand-off does. Nothing is at stake while a batch waits here: its
    notifications are committed rows, and whatever a dying process never publishes is picked
    up by `outbox_sweep`. The thread records what it handed over with one UPDATE for whatever
    has queued up meanwhile, and closes its database connection after each round.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._pid = None
        self._line = _PublisherLine()

    def submit(self, planned: list[Planned]) -> None:
        # Under the lock: never onto the line of a thread that `stop` has just ended.
        with self._lock:
            line = self._started()
            with line.published:
                line.unpublished += 1
            line.queue.put(planned)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything submitted so far is published; False on timeout."""
        line = self._line
        with line.published:
            return line.published.wait_for(lambda: line.unpublished == 0, timeout)

    def stop(self, timeout: float = 5.0) -> bool:
        """Publish what was submitted, then end the thread and close its database connection
        (the test suite does this before it drops its database); False on timeout. A later
        `submit` starts a new thread, on a line of its own."""
        with self._lock:
            if self._pid != os.getpid():
                return True
            self._pid = None
            stopped = threading.Event()
            self._line.queue.put(stopped)
        return stopped.wait(timeout)

    def _started(self) -> "_PublisherLine":
        """The running thread's line, starting the thread first if this process has none
        (threads do not survive a fork: gunicorn, Celery's prefork pool). Under the lock."""
        if self._pid != os.getpid():
            self._line = _PublisherLine()
            thread = threading.Thread(
                target=self._run, args=(self._line,), name="notification-publisher"
            )
            thread.daemon = True
            thread.start()
            self._pid = os.getpid()
        return self._line

    def _run(self, line: "_PublisherLine") -> None:
        from django.db import connection

        windows = ScheduledWindows()
        stopped = None  # set by `stop`: the thread ends once what came before is published
        while stopped is None:
            try:
                item = line.queue.get(timeout=settings.NOTIFY_PUBLISHER_IDLE_SECONDS)
            except queue.Empty:
                # Idle: give the connection back; while busy, keep it (a connection per round
                # cost more than all the rest of publishing).
                with contextlib.suppress(Exception):
                    connection.close()
                continue
            if isinstance(item, threading.Event):
                stopped = item
                break
            rounds = [item]
            # Wait a moment for more: under load, many requests' notifications then share a
            # broker message and a database round trip (an email half a second later
            # costs nobody anything).
            deadline = time.monotonic() + settings.NOTIFY_PUBLISH_LINGER_SECONDS
            with contextlib.suppress(queue.Empty):
                while len(rounds) < 100:
                    item = line.queue.get(timeout=max(0, deadline - time.monotonic()))
                    if isinstance(item, threading.Event):
                        stopped = item
                        break
                    rounds.append(item)
            # Everything that queued up meanwhile is planned together: the due ones of many
            # requests travel in one task, and each digest window is looked up once.
            planned = [notification for round_ in rounds for notification in round_]
            published: list[int] = []
            covered: list[int] = []
            # Before the hand-off, and recorded as its moment (see `batches_publish`).
            now = timezone.now()
            try:
                batches = batches_plan(planned, now=now, windows_scheduled=windows)
                published, covered = _batches_publish(batches)
                windows.note([b for b in batches if set(b.ids) <= set(published)], planned, now)
            except Exception:  # never let the thread die; the sweep covers what was not sent
                logger.exception("Publishing notifications failed")
                with contextlib.suppress(Exception):
                    connection.close()
            with line.published:  # published: `flush` waits for no database
                line.unpublished -= len(rounds)
                line.published.notify_all()
            notifications_mark_published(published, covered, now=now)
            # As at the end of a request: a broken connection, or one past CONN_MAX_AGE, goes.
            with contextlib.suppress(Exception):
                connection.close_if_unusable_or_obsolete()
        with contextlib.suppress(Exception):
            connection.close()
        stopped.set()


publisher = _Publisher()
atexit.register(publisher.flush, 2.0)


def _digest_has_earlier_member(notification: Planned) -> bool:
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
    # An SMTP refusal's text names the refused address.
    redacted = emails.update(
        to=[],
        delivered_to=[],
        refused_for_good={},
        body_text=REDACTED,
        body_html="",
        last_error="",
    )
    notifications.update(to=[], context={})
    return redacted


# Stored as it is, in the site's first language; shown in the reader's (the email's admin page).
REDACTED = gettext_noop("（个人信息保存期限已满，正文已删除。）")


def visibility_timeout() -> datetime.timedelta:
    """How long the broker keeps a message it handed to a worker before handing it out again:
    a row handed over longer ago than this and still not taken up was lost with its message."""
    from .tasks import deliver_notifications

    options = deliver_notifications.app.conf.broker_transport_options or {}
    return datetime.timedelta(seconds=options.get("visibility_timeout", 3600))


def _lost_before(now) -> datetime.datetime:
    """Hand-offs before this moment count as lost. In-process (eager) mode queues nothing: a
    row still pending after its task ran inline waits for nobody."""
    from .tasks import deliver_notifications

    if deliver_notifications.app.conf.task_always_eager:
        return now
    lost_before = now - visibility_timeout()
    epoch = broker_epoch(now)
    if epoch is not None:
        # Everything handed over before the broker's memory began is gone with it.
        lost_before = max(lost_before, epoch - datetime.timedelta(microseconds=1))
    return lost_before


BROKER_EPOCH_KEY = "consult:outbox:broker-epoch"


def broker_epoch(now) -> datetime.datetime | None:
    """Since when the broker has kept its messages, or None if that cannot be told.

    A Redis restarted without persistence, or wiped, has lost every message handed to it
    before; waiting out the visibility timeout (an hour) would hold that mail back for nothing.
    The sweep keeps a key in the broker's own database that goes with its messages: when the
    key is missing, this sweep's moment becomes the new beginning, and all earlier hand-offs
    count as lost.
    """
    from .tasks import deliver_notifications

    app = deliver_notifications.app
    if not str(app.conf.broker_url or "").startswith(("redis://", "rediss://")):
        return None
    try:
        with app.connection_for_write() as connection:
            client = connection.default_channel.client
            client.set(BROKER_EPOCH_KEY, now.isoformat(), nx=True)
            value = client.get(BROKER_EPOCH_KEY)
        return datetime.datetime.fromisoformat(value.decode())
    except Exception:  # the broker is unreachable: nothing can be handed over anyway
        logger.warning("Could not read the broker's epoch", exc_info=True)
        return None


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
    due = due.filter(Q(published_at__isnull=True) | Q(published_at__lte=_lost_before(now)))
    return len(_hand_on(due.order_by("due_at", "pk"), now=now, chunk=chunk))


def outbox_sweep(*, older_than: datetime.timedelta | None = None, now=None, chunk=100) -> int:
    """Re-send what is due and unsent and whose hand-off to the broker was lost; returns how
    many notifications were handed on.

    Lost means: never handed over (`older_than` after it was due, time for the publish that
    follows the commit), or handed over longer ago than the broker's visibility timeout and not
    taken up since, or taken up by a process that died (a lease ago, an email's lease run out,
    or its task started a lease ago and left it neither done nor waiting). Never
    an email waiting for its retry, an email being sent, or a row handed over since: the broker
    still holds its task. Each row re-sent is marked, so sweeps running back to back, or twice
    from one beat message, send it once.

    Runs from Celery beat and from `run_due_jobs` (cron in the embedded mode). Sending twice is
    impossible however often it runs: delivery claims each email before it sends it.
    """
    now = now or timezone.now()
    if older_than is None:
        older_than = datetime.timedelta(seconds=settings.NOTIFY_SWEEP_AFTER_SECONDS)
    cutoff = now - older_than
    # A worker killed between sending an email and recording it for its notifications.
    Notification.objects.filter(
        status=Notification.Status.PENDING, email__status=OutgoingEmail.Status.SENT
    ).update(status=Notification.Status.SENT)
    unbuilt = Notification.objects.filter(
        status=Notification.Status.PENDING, email__isnull=True, due_at__lte=cutoff
    )
    # Emails nobody is sending and that are not waiting for a retry; each is looked at through
    # its first notification, the one its retries carry.
    idle_emails = (
        OutgoingEmail.objects.filter(status=OutgoingEmail.Status.PENDING, created_at__lte=cutoff)
        .exclude(lease_until__gt=now)
        .exclude(next_attempt_at__gt=now)
    )
    firsts = (
        Notification.objects.filter(status=Notification.Status.PENDING, email__in=idle_emails)
        .values("email_id")
        .annotate(first=Min("pk"))
        .values_list("first", flat=True)
    )
    lost_before = _lost_before(now)
    lease = datetime.timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)
    lost = (
        Q(published_at__isnull=True)
        | Q(published_at__lte=lost_before)
        # Taken up after its last hand-off by a process that died: the lease was never given
        # back, and nothing was handed over since.
        | Q(email__lease_until__lte=now, published_at__lt=F("email__lease_until"))
        # Taken up by a task after its last hand-off, a lease ago, and neither done nor waiting
        # nor being sent: that task's process died (or is slower than a lease, and then the
        # second task finds the emails claimed or sent).
        | Q(taken_up_at__lte=now - lease, taken_up_at__gte=F("published_at"))
    )
    # Asked again under the row locks: a task may have claimed or scheduled the email since.
    candidates = (
        Notification.objects.filter(Q(pk__in=unbuilt.values("pk")) | Q(pk__in=list(firsts)))
        .filter(lost)
        .exclude(email__lease_until__gt=now)
        .exclude(email__next_attempt_at__gt=now)
    )
    previous = {}
    handed_on = _hand_on(
        candidates.order_by("due_at", "pk"), now=now, chunk=chunk, previous=previous
    )
    if handed_on:
        logger.warning(
            "Outbox sweep re-sent %s notifications whose hand-off was lost (before %s): %s",
            len(handed_on),
            f"{lost_before:%H:%M:%S.%f}",
            _describe_lost(handed_on, previous),
        )
    return len(handed_on)


def _describe_lost(ids, previous) -> str:
    rows = Notification.objects.filter(pk__in=ids[:5]).select_related("email")
    return "; ".join(
        f"#{row.pk} handed over {row.publications}× (before: {previous.get(row.pk)})"
        + (
            f", email {row.email_id} attempts {row.email.attempts}, lease {row.email.lease_until}"
            f", next attempt {row.email.next_attempt_at}"
            if row.email_id
            else ", not built"
        )
        for row in rows
    )


def _hand_on(notifications, *, now, chunk, previous=None) -> list[int]:
    """Mark these rows handed over, then hand them to the broker. The mark comes first, under
    row locks that a concurrent sweep skips, so no two sweeps send one row; rows the broker
    refuses are unmarked again for the next sweep."""
    from .tasks import deliver_notifications

    with transaction.atomic():
        ids = list(
            notifications.select_for_update(skip_locked=True, of=("self",)).values_list(
                "pk", flat=True
            )
        )
        previous = {} if previous is None else previous
        previous.update(Notification.objects.filter(pk__in=ids).values_list("pk", "published_at"))
        Notification.objects.filter(pk__in=ids).update(
            published_at=now, publications=F("publications") + 1
        )
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        try:
            deliver_notifications.apply_async(args=[part], retry=False)
        except Exception:
            left = ids[start:]
            logger.warning("Could not hand %s notifications to the broker", len(left))
            for pk in left:
                Notification.objects.filter(pk=pk).update(
                    published_at=previous.get(pk), publications=F("publications") - 1
                )
            return ids[:start]
    return ids
