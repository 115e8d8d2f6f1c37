"""Deadline reminders: before the close, before the answer deadline, and overdue escalation.

`reminders_send(now)` is the whole job. It may run as often as anyone likes, from Celery beat,
from several beats at once or from cron: each reminder (kind, consultation, department, moment)
is a `Reminder` row under a unique constraint, inserted in the same transaction as its
notification, so a reminder is queued once however many runs race for it.

Reminder moments are calendar days at `REMIND_AT_HOUR` local time, so mail arrives in office
hours: "3 days before a close at 2024-11-10 23:59:59" is 2024-11-07 09:00:00 Asia/Shanghai.
A reminder is sent while it still matters: from its moment until the next reminder of the same
series or the deadline itself, whichever comes first. One found later than that (beat was down)
is recorded as missed, with a log line, and never sent.
"""

import dataclasses
import datetime
import logging
import zoneinfo
from collections import defaultdict

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from consult.consultations.models import Consultation, Department
from consult.notifications.models import Notification, Reminder
from consult.notifications.outbox import (
    notification_build,
    notifications_publish_on_commit,
    recipients_by_department,
)

from .models import Comment, CommentRouting
from .notifying import queue_url

logger = logging.getLogger(__name__)

# How far back a run looks for reminders it should have sent; older ones are history.
LOOKBACK = datetime.timedelta(days=8)


@dataclasses.dataclass(frozen=True)
class Moment:
    kind: str
    due_at: datetime.datetime
    until: datetime.datetime  # after this the reminder no longer makes sense
    deadline: datetime.datetime
    days_left: int = 0


def local_day_at(day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime.combine(
        day, datetime.time(hour), tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE)
    )


def _later(moment: datetime.datetime, days: int) -> datetime.datetime:
    """`moment` plus `days`, or the end of the calendar for an interval set beyond it."""
    try:
        return moment + datetime.timedelta(days=days)
    except OverflowError:
        return datetime.datetime.max.replace(tzinfo=datetime.UTC)


def _before(kind, deadline, days_list, not_before) -> list[Moment]:
    """Reminders `days_list` days before `deadline`, none before `not_before`.

    Each one matters until the next of the series, the last until the deadline itself.
    """
    local = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    deadline_day = timezone.localtime(deadline, local).date()
    # A lead reaching back past `not_before` gives no reminder; leaving it out before any date
    # arithmetic also keeps a huge configured lead from running off the calendar.
    longest = (deadline_day - timezone.localtime(not_before, local).date()).days
    moments = sorted(
        (local_day_at(deadline_day - datetime.timedelta(days=days), settings.REMIND_AT_HOUR), days)
        for days in set(days_list)
        if 0 < days <= longest
    )
    series = []
    until = deadline
    for due_at, days in reversed(moments):
        if not_before <= due_at < deadline:
            series.append(Moment(kind, due_at, until, deadline, days))
            until = due_at
    return series[::-1]


def consultation_moments(consultation: Consultation, now: datetime.datetime) -> list[Moment]:
    """Every reminder moment of this consultation from `now - LOOKBACK` up to `now`."""
    moments = _before(
        Reminder.Kind.CLOSING,
        consultation.closes_at,
        settings.REMIND_DAYS_BEFORE_CLOSE,
        consultation.opens_at,
    )
    answer_deadline = consultation.answer_deadline
    moments += _before(
        Reminder.Kind.ANSWER_DUE,
        answer_deadline,
        settings.REMIND_DAYS_BEFORE_ANSWER_DEADLINE,
        consultation.closes_at,
    )
    # Overdue: the day after the answer deadline, then every REMIND_OVERDUE_EVERY_DAYS days
    # while anything is late. The series counts whole days from its first moment, so every run
    # finds the same moments; it is walked back from the latest through the lookback only.
    every_days = max(1, settings.REMIND_OVERDUE_EVERY_DAYS)
    deadline_day = timezone.localtime(answer_deadline, zoneinfo.ZoneInfo(settings.TIME_ZONE)).date()
    first = local_day_at(deadline_day + datetime.timedelta(days=1), settings.REMIND_AT_HOUR)
    overdue = []
    if now >= first:
        for number in range((now - first).days // every_days, -1, -1):
            due_at = first + datetime.timedelta(days=number * every_days)
            if due_at < now - LOOKBACK:
                break
            until = _later(first, (number + 1) * every_days)
            overdue.append(Moment(Reminder.Kind.OVERDUE, due_at, until, answer_deadline))
    moments += reversed(overdue)
    return [m for m in moments if now - LOOKBACK <= m.due_at <= now]


def consultations_with_deadlines_near(now: datetime.datetime):
    """Consultations that may have a reminder due: opened, and not long settled."""
    longest_lead = max(
        [*settings.REMIND_DAYS_BEFORE_CLOSE, *settings.REMIND_DAYS_BEFORE_ANSWER_DEADLINE, 1]
    )
    anything_open = Exists(Comment.objects.open().filter(consultation=OuterRef("pk")))
    return (
        Consultation.objects.filter(opens_at__lte=now, closes_at__lte=_later(now, longest_lead + 1))
        .filter(Q(report_published_at__isnull=True) | anything_open)
        .select_related("issuer")
        .order_by("pk")
    )


def outstanding_by_department(consultation: Consultation, kind: str) -> dict[int, list[dict]]:
    """Per department, the comments a reminder of this kind is about, counted per clause.

    Before the close: everything routed to it that nobody has touched (待处理). Before the
    answer deadline: everything it owns and has not answered. Overdue: for the coordinator,
    the departments still owning open comments.
    """
    routes = CommentRouting.objects.filter(comment__consultation=consultation)
    if kind == Reminder.Kind.CLOSING:
        routes = routes.filter(comment__status=Comment.Status.PENDING)
    else:
        routes = routes.filter(
            is_owner=True,
            comment__status__in=Comment.OPEN_STATUSES,
        )
    rows = (
        routes.values(
            "department_id",
            "comment__clause_id",
            "comment__clause__label",
            "comment__clause__heading",
            "comment__clause__path",
        )
        .annotate(count=Count("pk"), owned=Count("pk", filter=Q(is_owner=True)))
        .order_by("department_id", "comment__clause__path")
    )
    outstanding = defaultdict(list)
    for row in rows:
        outstanding[row["department_id"]].append(
            {
                "clause": (
                    f"{row['comment__clause__label']} {row['comment__clause__heading']}".strip()
                    if row["comment__clause_id"]
                    else ""
                ),
                "count": row["count"],
                "owned": row["owned"],
            }
        )
    return dict(outstanding)


def reminder_targets(consultation: Consultation, moment: Moment) -> dict[int, dict]:
    """Department id → what its reminder says; departments with nothing outstanding are absent."""
    outstanding = outstanding_by_department(consultation, moment.kind)
    if moment.kind != Reminder.Kind.OVERDUE:
        return {
            department_id: {"clauses": rows, "total": sum(r["count"] for r in rows)}
            for department_id, rows in outstanding.items()
        }
    if not outstanding:
        return {}
    names = dict(Department.objects.filter(pk__in=outstanding).values_list("pk", "name"))
    late = sorted(
        (
            {"department": names[department_id], "count": sum(r["count"] for r in rows)}
            for department_id, rows in outstanding.items()
        ),
        key=lambda row: (-row["count"], row["department"]),
    )
    return {consultation.issuer_id: {"departments": late, "total": sum(r["count"] for r in late)}}


def reminder_record(
    consultation, department, moment: Moment, outcome, outstanding, notification=None
):
    """Insert the reminder's row, and its notification with it; False when it exists already."""
    try:
        with transaction.atomic():
            if notification is not None:
                notification.save(force_insert=True)
            Reminder.objects.create(
                kind=moment.kind,
                consultation=consultation,
                department=department,
                due_at=moment.due_at,
                outcome=outcome,
                outstanding=outstanding,
                notification=notification,
            )
    except IntegrityError:
        if Reminder.objects.filter(
            kind=moment.kind, consultation=consultation, department=department, due_at=moment.due_at
        ).exists():
            return False
        raise
    if notification is not None:
        notifications_publish_on_commit([notification])
    return True


def reminder_notification(consultation, department, moment: Moment, content, to, now):
    return notification_build(
        kind=Notification.Kind.REMINDER,
        key=f"reminder:{moment.kind}:{consultation.pk}:{department.pk}:{moment.due_at.isoformat()}",
        to=to,
        department=department,
        consultation=consultation,
        context={
            "reminder": moment.kind,
            "deadline": moment.deadline.isoformat(),
            "days_left": moment.days_left,
            "queue_url": queue_url(consultation, pending=moment.kind == Reminder.Kind.CLOSING),
            **content,
        },
        now=now,
    )


def reminders_send(*, now=None) -> dict[str, int]:
    """Queue every reminder that is due and not yet recorded; returns counts by outcome."""
    now = now or timezone.now()
    counts = {Reminder.Outcome.QUEUED: 0, Reminder.Outcome.MISSED: 0}
    for consultation in consultations_with_deadlines_near(now):
        moments = consultation_moments(consultation, now)
        if not moments:
            continue
        done = set(
            Reminder.objects.filter(
                consultation=consultation, due_at__gte=now - LOOKBACK
            ).values_list("kind", "department_id", "due_at")
        )
        for moment in moments:
            targets = {
                department_id: content
                for department_id, content in reminder_targets(consultation, moment).items()
                if (moment.kind, department_id, moment.due_at) not in done
            }
            if not targets:
                continue
            departments = Department.objects.in_bulk(targets)
            if now >= moment.until:
                for department_id, content in targets.items():
                    department = departments[department_id]
                    missed = Reminder.Outcome.MISSED
                    if reminder_record(consultation, department, moment, missed, content["total"]):
                        counts[missed] += 1
                        logger.warning(
                            "Skipped the %s reminder due %s for %s on consultation %s: its "
                            "moment passed while no due-job ran.",
                            moment.kind,
                            timezone.localtime(moment.due_at).isoformat(),
                            department.name,
                            consultation.slug,
                        )
                continue
            recipients = recipients_by_department(list(targets), staff=True)
            for department_id, content in targets.items():
                department = departments[department_id]
                if not department.is_active:
                    continue
                notification = reminder_notification(
                    consultation,
                    department,
                    moment,
                    content,
                    recipients.get(department_id, []),
                    now,
                )
                queued = Reminder.Outcome.QUEUED
                if reminder_record(
                    consultation, department, moment, queued, content["total"], notification
                ):
                    counts[queued] += 1
    return {str(outcome): count for outcome, count in counts.items()}
