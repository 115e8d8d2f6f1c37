"""Deadline reminders: before the close, before the answer deadline, and overdue escalation.

`reminders_send(now)` is the whole job. It may run as often as anyone likes, from Celery beat,
from several beats at once or from cron: each reminder (kind, consultation, department, moment)
is a `Reminder` row under a unique constraint, inserted in the same transaction as its
notification, so a reminder is queued once however many runs race for it.

Each draft with a comment period has its own deadlines (`consultation_drafts`): a comment keeps
the answer deadline of the draft it was written on (`revision_outcomes.comment_answer_draft`),
so publishing a later draft for comment neither moves nor ends the reminders about an earlier
draft's comments.
Two drafts' reminders of one kind that fall on the same moment are one reminder, in one email,
with a part per draft (the `Reminder` row's key has no draft in it).

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

from consult.consultations.models import Consultation, Department, Revision
from consult.notifications.models import Notification, Reminder
from consult.notifications.outbox import (
    notification_build,
    notifications_publish_on_commit,
    recipients_by_department,
)

from .models import Comment, CommentRouting, CooperatingOpinion
from .notifying import queue_url
from .revision_outcomes import answer_drafts_q

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


def period_moments(opens_at, closes_at, answer_deadline, now, *, closing=True) -> list[Moment]:
    """Every reminder moment of one comment period and its answer deadline from
    `now - LOOKBACK` up to `now`; without the closing ones unless `closing`."""
    moments = []
    if closing:
        moments += _before(
            Reminder.Kind.CLOSING, closes_at, settings.REMIND_DAYS_BEFORE_CLOSE, opens_at
        )
    moments += _before(
        Reminder.Kind.ANSWER_DUE,
        answer_deadline,
        settings.REMIND_DAYS_BEFORE_ANSWER_DEADLINE,
        closes_at,
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


# --- Reminders per draft ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Draft:
    """A draft with a comment period, and which comments have its deadlines."""

    number: int | None  # None: a consultation without revisions
    comments: Q
    opens_at: datetime.datetime
    closes_at: datetime.datetime
    answer_deadline: datetime.datetime
    consulted: bool  # the draft now consulted on: the one whose close is still to remind of


def consultation_drafts(consultation: Consultation, revisions=None) -> list[Draft]:
    """Each published draft with a comment period, in order, with the comments that have its
    answer deadline (`revision_outcomes.answer_drafts_q`); the last is the one consulted on
    now."""
    found = answer_drafts_q(consultation, revisions)
    drafts = []
    for holder, comments in found:
        opens_at, closes_at = consultation.period_of(holder)
        drafts.append(
            Draft(
                None if holder is None else holder.number,
                comments,
                opens_at,
                closes_at,
                consultation.answer_deadline_of(holder),
                holder is found[-1][0],
            )
        )
    return drafts


def consultations_with_deadlines_near(now: datetime.datetime):
    """Consultations that may have a reminder due: opened, and not long settled. An earlier
    draft's answer deadlines go on while a later draft is open."""
    longest_lead = max(
        [*settings.REMIND_DAYS_BEFORE_CLOSE, *settings.REMIND_DAYS_BEFORE_ANSWER_DEADLINE, 1]
    )
    near = _later(now, longest_lead + 1)
    anything_open = Exists(Comment.objects.open().filter(consultation=OuterRef("pk")))
    earlier_draft_closed = Exists(
        Revision.objects.published().filter(consultation=OuterRef("pk"), closes_at__lte=near)
    )
    # A later draft announced ahead of its period moves the consultation's opening into the
    # future; the earlier draft's answers are due all the same.
    draft_opened = Exists(
        Revision.objects.published().filter(consultation=OuterRef("pk"), opens_at__lte=now)
    )
    return (
        Consultation.objects.filter(Q(opens_at__lte=now) | draft_opened)
        .filter(Q(closes_at__lte=near) | earlier_draft_closed)
        .filter(Q(report_published_at__isnull=True) | anything_open)
        .select_related("issuer")
        .order_by("pk")
    )


def opinion_awaited() -> Q:
    """Of a comment's routes, those whose department still owes its opinion (配合意见): not the
    owner, the comment still open, no opinion from it, and the owner has not chosen to answer
    without waiting (`opinions_waived_reason`, workflow's rule for `opinions_missing`)."""
    given = CooperatingOpinion.objects.filter(
        comment_id=OuterRef("comment_id"), department_id=OuterRef("department_id")
    )
    return Q(
        ~Exists(given),
        is_owner=False,
        comment__status__in=Comment.OPEN_STATUSES,
        comment__opinions_waived_reason="",
    )


def outstanding_by_department(
    consultation: Consultation, kind: str, comments: Q | None = None
) -> dict[int, list[dict]]:
    """Per department, the comments a reminder of this kind is about, counted per clause
    ("count"; of those, "owned" it answers and "awaited" it owes an opinion on); only those
    matching `comments` (a draft's, `Draft.comments`) when given.

    Before the close: those it answers that nobody has touched (待处理). Before the answer
    deadline: those it answers and has not answered. Both: those it cooperates on whose
    opinion it still owes (`opinion_awaited`), whatever their status, and not those it gave
    its opinion on. Overdue: for the coordinator, the departments still owning open comments.
    """
    routes = CommentRouting.objects.filter(comment__consultation=consultation)
    if comments is not None:
        routes = routes.filter(comment__in=Comment.objects.filter(comments).values("pk"))
    about = Q(is_owner=True, comment__status__in=Comment.OPEN_STATUSES)
    if kind == Reminder.Kind.CLOSING:
        about = Q(is_owner=True, comment__status=Comment.Status.PENDING)
    if kind != Reminder.Kind.OVERDUE:
        about |= opinion_awaited()
    routes = routes.filter(about)
    rows = (
        routes.values(
            "department_id",
            "comment__clause_id",
            "comment__clause__label",
            "comment__clause__heading",
            "comment__clause__path",
            "role",
        )
        .annotate(
            count=Count("pk"),
            owned=Count("pk", filter=Q(is_owner=True)),
            awaited=Count("pk", filter=Q(is_owner=False)),
        )
        .order_by("department_id", "comment__clause__path", "comment__clause_id", "role")
    )
    outstanding = defaultdict(dict)
    for row in rows:
        clauses = outstanding[row["department_id"]]
        clause = clauses.setdefault(
            row["comment__clause_id"],
            {
                "clause": (
                    f"{row['comment__clause__label']} {row['comment__clause__heading']}".strip()
                    if row["comment__clause_id"]
                    else ""
                ),
                "count": 0,
                "owned": 0,
                "awaited": 0,
            },
        )
        for count in ("count", "owned", "awaited"):
            clause[count] += row[count]
    return {department_id: list(clauses.values()) for department_id, clauses in outstanding.items()}


def _department_part(kind: str, rows: list[dict]) -> dict:
    """A department's part of a closing or answer-due reminder: "total", "owned" (those it
    answers), "awaited" (those it owes an opinion on) and the rows. Before the answer deadline
    the two are listed apart ("clauses", "opinion_clauses"): they ask different things."""
    part = {
        "total": sum(r["count"] for r in rows),
        "owned": sum(r["owned"] for r in rows),
        "awaited": sum(r["awaited"] for r in rows),
    }
    if kind == Reminder.Kind.CLOSING:
        part["clauses"] = [
            {key: r[key] for key in ("clause", "count", "owned", "awaited")} for r in rows
        ]
        return part
    part["clauses"] = [{"clause": r["clause"], "count": r["owned"]} for r in rows if r["owned"]]
    part["opinion_clauses"] = [
        {"clause": r["clause"], "count": r["awaited"]} for r in rows if r["awaited"]
    ]
    return part


def _draft_targets(consultation: Consultation, kind: str, draft: Draft) -> dict[int, dict]:
    """Department id → its part of a reminder about one draft's comments (`_department_part`;
    overdue: the coordinator's, the late departments)."""
    outstanding = outstanding_by_department(consultation, kind, draft.comments)
    if kind != Reminder.Kind.OVERDUE:
        return {
            department_id: _department_part(kind, rows)
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


ROWS = ("departments", "clauses", "opinion_clauses")


def reminder_targets(consultation: Consultation, parts, *, named=False) -> dict[int, dict]:
    """Department id → what its reminder says; departments with nothing outstanding are absent.

    `parts`: the (moment, draft) pairs of one kind at one moment, a draft each. The reminder
    has a part per draft with anything outstanding ("drafts", each with its number; `named`
    when the consultation has several drafts, so the email says which one each part is about),
    and the rows and counts of all of them at the top as well (as before drafts had parts)."""
    targets = {}
    for moment, draft in parts:
        for department_id, part in _draft_targets(consultation, moment.kind, draft).items():
            content = targets.setdefault(department_id, {"drafts": []})
            for count in ("total", "owned", "awaited"):
                if count in part:
                    content[count] = content.get(count, 0) + part[count]
            if draft.number is not None:
                content["drafts"].append({"number": draft.number, "named": named, **part})
            for rows in ROWS:
                if rows in part:
                    content.setdefault(rows, []).extend(part[rows])
    return targets


def reminder_record(
    consultation,
    department,
    moment: Moment,
    outcome,
    outstanding,
    notification=None,
    *,
    days_before,
):
    """Insert the reminder's row, and its notification with it; False when it exists already.
    `days_before` (how many days before its deadline it is planned) tells it from another
    reminder at the same moment."""
    try:
        with transaction.atomic():
            if notification is not None:
                notification.save(force_insert=True)
            Reminder.objects.create(
                kind=moment.kind,
                consultation=consultation,
                department=department,
                due_at=moment.due_at,
                days_before=days_before,
                outcome=outcome,
                outstanding=outstanding,
                notification=notification,
            )
    except IntegrityError:
        if Reminder.objects.filter(
            kind=moment.kind,
            consultation=consultation,
            department=department,
            due_at=moment.due_at,
            days_before=days_before,
        ).exists():
            return False
        raise
    if notification is not None:
        notifications_publish_on_commit([notification])
    return True


def reminder_links(consultation, moment: Moment, content) -> dict[str, str]:
    """The queue's lists of exactly what the reminder counts: "queue_url" — for the coordinator
    every open comment (scope=open), for a department those it answers (role=owner; before the
    close only the untouched ones) — and "opinions_url" for those it still owes an opinion on
    (role=awaited, `opinion_awaited`). A reminder about one draft of several lists that draft's
    only."""
    drafts = content.get("drafts", [])
    revision = drafts[0]["number"] if len(drafts) == 1 and drafts[0]["named"] else None
    if moment.kind == Reminder.Kind.OVERDUE:
        return {"queue_url": queue_url(consultation, scope="open", revision=revision)}
    links = {
        "queue_url": queue_url(
            consultation,
            pending=moment.kind == Reminder.Kind.CLOSING,
            role="owner",
            revision=revision,
        )
    }
    if content.get("awaited"):
        links["opinions_url"] = queue_url(consultation, role="awaited", revision=revision)
    return links


def reminder_notification(
    consultation, department, moment: Moment, content, to, now, *, days_before
):
    return notification_build(
        kind=Notification.Kind.REMINDER,
        key=(
            f"reminder:{moment.kind}:{consultation.pk}:{department.pk}"
            f":{moment.due_at.isoformat()}:{days_before}"
        ),
        to=to,
        department=department,
        consultation=consultation,
        context={
            "reminder": moment.kind,
            "deadline": moment.deadline.isoformat(),
            # As counted when it is sent (a reminder may go out late, while it still matters),
            # in Beijing calendar days; on the deadline's own day, within one.
            "days_left": max(
                1, (timezone.localdate(moment.deadline) - timezone.localdate(now)).days
            ),
            **reminder_links(consultation, moment, content),
            **content,
        },
        now=now,
    )


def _moments_by_time(drafts: list[Draft], now) -> list[list[tuple]]:
    """The reminders due, each as the (moment, draft) pairs of one kind at one time, a pair per
    draft with a moment there, the earliest deadline first."""
    planned = defaultdict(list)
    for draft in drafts:
        moments = period_moments(
            draft.opens_at,
            draft.closes_at,
            draft.answer_deadline,
            now,
            # An earlier draft no longer takes comments: the close to remind of is the current one.
            closing=draft.consulted,
        )
        for moment in moments:
            planned[moment.due_at, moment.kind].append((moment, draft))
    return [
        sorted(parts, key=lambda part: part[0].deadline)
        for _key, parts in sorted(planned.items(), key=lambda item: item[0])
    ]


def reminders_send(*, now=None) -> dict[str, int]:
    """Queue every reminder that is due and not yet recorded; returns counts by outcome."""
    now = now or timezone.now()
    counts = {Reminder.Outcome.QUEUED: 0, Reminder.Outcome.MISSED: 0}
    for consultation in consultations_with_deadlines_near(now):
        drafts = consultation_drafts(consultation)
        planned = _moments_by_time(drafts, now)
        if not planned:
            continue
        done = set(
            Reminder.objects.filter(
                consultation=consultation, due_at__gte=now - LOOKBACK
            ).values_list("kind", "department_id", "due_at", "days_before")
        )
        for parts in planned:
            # What the reminder says, as every run finds it whatever has lapsed since: how many
            # days before the earliest deadline of its drafts it is planned. The close brought
            # forward makes the same moment another reminder ("1 day left" due when "3 days
            # left" went); a deadline moved within its day, the same one.
            days_before = parts[0][0].days_left
            # The drafts whose reminder still matters; with none, it is recorded as missed.
            parts = [part for part in parts if now < part[0].until] or parts
            moment = parts[0][0]
            targets = {
                department_id: content
                for department_id, content in reminder_targets(
                    consultation, parts, named=len(drafts) > 1
                ).items()
                if (moment.kind, department_id, moment.due_at, days_before) not in done
                # Recorded before the deadline was kept: for whichever deadline it was.
                and (moment.kind, department_id, moment.due_at, None) not in done
            }
            if not targets:
                continue
            departments = Department.objects.in_bulk(targets)
            if now >= moment.until:
                for department_id, content in targets.items():
                    department = departments[department_id]
                    missed = Reminder.Outcome.MISSED
                    if reminder_record(
                        consultation,
                        department,
                        moment,
                        missed,
                        content["total"],
                        days_before=days_before,
                    ):
                        counts[missed] += 1
                        logger.warning(
                            "Skipped the %s reminder due %s for %s on consultation %s: its "
                            "moment passed %s.",
                            moment.kind,
                            timezone.localtime(moment.due_at).isoformat(),
                            department.name,
                            consultation.slug,
                            # An inactive department's reminder waits while it could still be
                            # sent (the department may be enabled again), then lapses here.
                            "while no due-job ran"
                            if department.is_active
                            else "while the department was disabled",
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
                    days_before=days_before,
                )
                queued = Reminder.Outcome.QUEUED
                if reminder_record(
                    consultation,
                    department,
                    moment,
                    queued,
                    content["total"],
                    notification,
                    days_before=days_before,
                ):
                    counts[queued] += 1
    return {str(outcome): count for outcome, count in counts.items()}
