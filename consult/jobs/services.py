"""The periodic jobs, listed in one place; each run on its own, each one's health kept.

Celery beat gives every job its own schedule entry, every `PERIODIC_JOBS_EVERY_SECONDS[name]`
seconds (settings); `run_due_jobs` (cron, or
its `--every` loop in the embedded mode) runs them all in turn. Either way a job that raises is
logged with its traceback and recorded, and the others still run: one broken consultation's
reminders must never hold back every department's notifications.

A job is overdue when it has not succeeded for `OVERDUE_AFTER_INTERVALS` of its intervals, or
has never run for that long since its health was first read (a beat never started); the admin
index, `check_workers` and `/healthz/jobs` say so (`/healthz` only reports it).
"""

import dataclasses
import datetime
import logging
import traceback
from collections.abc import Callable
from contextlib import nullcontext

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.utils import timezone

from consult.comments.campaigns import campaigns_assign_pending
from consult.comments.exports import exports_sweep
from consult.comments.reminders import reminders_send
from consult.comments.retention import retention_apply
from consult.notifications.outbox import digests_hand_on, outbox_sweep
from consult.subscriptions.services import (
    consultations_opened_notify,
    subscriptions_unconfirmed_purge,
)

from .models import JobStatus

logger = logging.getLogger(__name__)

OVERDUE_AFTER_INTERVALS = 3


@dataclasses.dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[datetime.datetime], str]  # takes "now", returns a one-line summary

    @property
    def every(self) -> datetime.timedelta:
        return datetime.timedelta(seconds=settings.PERIODIC_JOBS_EVERY_SECONDS[self.name])


@dataclasses.dataclass(frozen=True)
class JobOutcome:
    name: str
    ok: bool
    summary: str


def _campaigns(now) -> str:
    return f"comments grouped into campaigns: {campaigns_assign_pending()}"


def _reminders(now) -> str:
    counts = reminders_send(now=now)
    return f"reminders queued: {counts['queued']}, skipped as too late: {counts['missed']}"


def _digests(now) -> str:
    return f"digest notifications handed to delivery: {digests_hand_on(now=now)}"


def _personal_data_retention(now) -> str:
    comments, exports = retention_apply(now=now)
    return f"comments whose personal data was removed: {comments}, exports deleted: {exports}"


def _new_consultations(now) -> str:
    mailed = consultations_opened_notify(now=now)
    return f"subscribers mailed of newly opened consultations: {mailed}"


def _unconfirmed_subscriptions(now) -> str:
    return f"unconfirmed subscriptions forgotten: {subscriptions_unconfirmed_purge(now=now)}"


def _export_sweep(now) -> str:
    return f"exports handed to a worker again: {exports_sweep(now=now)}"


def _expired_sessions(now) -> str:
    # Django leaves expired sessions in their table until `clearsessions`; every visitor of a
    # comment form starts one (the double-post check), so a viral consultation leaves millions.
    deleted, _by_model = Session.objects.filter(expire_date__lt=now).delete()
    return f"expired sessions deleted: {deleted}"


def _outbox_sweep(now) -> str:
    return f"pending notifications handed to delivery again: {outbox_sweep(now=now)}"


# In the order `run_due_jobs` runs them: the sweep last, after the others wrote their mail.
JOBS = {
    job.name: job
    for job in [
        Job("campaigns", _campaigns),
        Job("reminders", _reminders),
        Job("digests", _digests),
        Job("personal-data-retention", _personal_data_retention),
        Job("new-consultations", _new_consultations),
        Job("unconfirmed-subscriptions", _unconfirmed_subscriptions),
        Job("export-sweep", _export_sweep),
        Job("expired-sessions", _expired_sessions),
        Job("outbox-sweep", _outbox_sweep),
    ]
}


def jobs_registered() -> list[Job]:
    return list(JOBS.values())


def job_get(name: str) -> Job:
    try:
        return JOBS[name]
    except KeyError:
        raise LookupError(f"no periodic job named {name!r}") from None


def job_run(name: str, *, now=None) -> JobOutcome:
    """Run one job, record how it went, and never raise what the job raised."""
    job = job_get(name)
    now = now or timezone.now()
    # Inside a caller's transaction (tests, a shell) a failed job is rolled back to a savepoint,
    # so its outcome can still be recorded; outside, each job commits as it goes.
    isolation = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with isolation:
            summary = str(job.run(now))
    except Exception as error:
        logger.exception("Periodic job %s failed", name)
        _record(name, now, error=error)
        return JobOutcome(name, False, f"failed: {type(error).__name__}: {error}")
    _record(name, now, summary=summary)
    return JobOutcome(name, True, summary)


def jobs_run_all(*, now=None) -> list[JobOutcome]:
    """Every registered job in turn (the embedded mode's and cron's stand-in for beat)."""
    return [job_run(job.name, now=now) for job in jobs_registered()]


def _record(name, now, *, summary: str = "", error: BaseException | None = None) -> None:
    status, _created = JobStatus.objects.get_or_create(name=name, defaults={"first_seen_at": now})
    if status.first_run_at is None:
        status.first_run_at = now
    status.last_started_at = now
    if error is None:
        status.last_succeeded_at = now
        status.last_summary = summary[:500]
        status.failures_in_a_row = 0
    else:
        status.last_failed_at = now
        status.last_error = "".join(traceback.format_exception_only(error)).strip()[:2000]
        status.failures_in_a_row += 1
    status.save()


@dataclasses.dataclass(frozen=True)
class JobHealth:
    name: str
    every: datetime.timedelta
    last_succeeded_at: datetime.datetime | None
    last_failed_at: datetime.datetime | None
    last_error: str
    failures_in_a_row: int
    has_run: bool
    overdue: bool
    first_seen_at: datetime.datetime

    @property
    def state(self) -> str:
        """One of "ok", "overdue", "not run yet" (a job never run, within its grace period) and
        "never run" (past it: nothing runs the periodic jobs)."""
        if self.has_run:
            return "overdue" if self.overdue else "ok"
        return "never run" if self.overdue else "not run yet"


def jobs_health(*, now=None) -> list[JobHealth]:
    """Each registered job's state. The first read writes a row for each job that has none;
    a job that never ran is overdue once `OVERDUE_AFTER_INTERVALS` of its intervals have
    passed since then."""
    now = now or timezone.now()
    names = [job.name for job in jobs_registered()]
    statuses = JobStatus.objects.in_bulk(names)
    # Counted from the first read, not from the jobs app's migration: that is stamped once in
    # real time, so a test database, or any clock moved on since, would find every job overdue
    # before it had a chance to run. A new install is read within seconds of starting (the
    # load balancer's /healthz), so its grace period starts about when it does.
    unseen = [JobStatus(name=name, first_seen_at=now) for name in names if name not in statuses]
    if unseen:
        JobStatus.objects.bulk_create(unseen, ignore_conflicts=True)
        statuses.update({status.name: status for status in unseen})
    health = []
    for job in jobs_registered():
        status = statuses[job.name]
        last_good = status.last_succeeded_at or status.first_run_at or status.first_seen_at
        health.append(
            JobHealth(
                name=job.name,
                every=job.every,
                last_succeeded_at=status.last_succeeded_at,
                last_failed_at=status.last_failed_at,
                last_error=status.last_error,
                failures_in_a_row=status.failures_in_a_row,
                has_run=status.first_run_at is not None,
                overdue=now - last_good > OVERDUE_AFTER_INTERVALS * job.every,
                first_seen_at=status.first_seen_at,
            )
        )
    return health


def jobs_overdue(*, now=None) -> list[JobHealth]:
    return [job for job in jobs_health(now=now) if job.overdue]
