import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from consult.celery import app
from consult.jobs.services import OVERDUE_AFTER_INTERVALS, jobs_health
from consult.notifications.health import emails_failed_recently, oldest_undelivered_due_at


class Command(BaseCommand):
    help = (
        "Health check: ping the Celery workers, look at their queues, the periodic jobs and the "
        "outbox; exit 1 when no worker answers, a queue tasks are sent to has no worker, a job "
        "has not succeeded for three of its intervals (or never ran for that long since its "
        "health was first read), or the oldest undelivered email was due longer ago than "
        "--max-pending-age."
    )

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=3.0)
        parser.add_argument(
            "--max-pending-age",
            type=float,
            metavar="SECONDS",
            default=None,
            help="How long an email may wait undelivered after it was due "
            "(default: NOTIFY_PENDING_ALERT_SECONDS).",
        )

    def handle(self, *args, timeout, max_pending_age=None, **options):
        problems = []
        if app.conf.task_always_eager:
            self.stdout.write("tasks run in-process (no broker configured)")
        else:
            problems += self.workers(timeout)
        for job in jobs_health():
            if not job.has_run:
                problems += self.never_run(job)
                continue
            last = job.last_succeeded_at.isoformat() if job.last_succeeded_at else "never"
            line = f"job {job.name}: last success {last}"
            if job.failures_in_a_row:
                line += f", {job.failures_in_a_row} failures in a row ({job.last_error})"
            if job.overdue:
                problems.append(f"job {job.name} overdue")
                self.stderr.write(f"{line} — OVERDUE")
            else:
                self.stdout.write(line)
        problems += self.outbox(max_pending_age)
        if problems:
            raise CommandError("; ".join(problems))

    def never_run(self, job) -> list[str]:
        since = job.first_seen_at.isoformat()
        if not job.overdue:
            self.stdout.write(f"job {job.name}: not run yet (first checked {since})")
            return []
        self.stderr.write(
            f"job {job.name}: never run, though first checked {since}, more than "
            f"{OVERDUE_AFTER_INTERVALS} of its intervals ({job.every}) ago — NEVER RUN: is Celery "
            "beat (or cron's run_due_jobs) running?"
        )
        return [f"job {job.name} never run"]

    def outbox(self, max_pending_age) -> list[str]:
        if max_pending_age is None:
            max_pending_age = settings.NOTIFY_PENDING_ALERT_SECONDS
        failed = emails_failed_recently().count()
        if failed:
            self.stderr.write(f"emails failed in the last day: {failed} (see the admin's outbox)")
        oldest = oldest_undelivered_due_at()
        if oldest is None:
            self.stdout.write("outbox: nothing due is waiting")
            return []
        age = (timezone.now() - oldest).total_seconds()
        line = f"outbox: oldest undelivered email due {age:.0f} s ago"
        if age > max_pending_age:
            self.stderr.write(f"{line} — more than {max_pending_age:.0f} s")
            return [f"oldest pending email waiting {datetime.timedelta(seconds=round(age))}"]
        self.stdout.write(line)
        return []

    def workers(self, timeout) -> list[str]:
        try:
            replies = app.control.ping(timeout=timeout)
        except Exception as error:  # broker unreachable
            return [f"broker unreachable: {error}"]
        if not replies:
            return ["no Celery worker answered"]
        for reply in replies:
            for name, answer in reply.items():
                self.stdout.write(f"{name}: {answer.get('ok', answer)}")
        return self.queues(timeout)

    def queues(self, timeout) -> list[str]:
        """Every queue tasks are routed to has a worker taking from it: with a worker per queue
        (the README's production example), one missing leaves its work waiting unseen."""
        consumed = app.control.inspect(timeout=timeout).active_queues() or {}
        taken = {queue["name"] for queues in consumed.values() for queue in queues}
        needed = {app.conf.task_default_queue} | {
            route["queue"] for route in settings.CELERY_TASK_ROUTES.values()
        }
        missing = sorted(needed - taken)
        for queue in sorted(needed & taken):
            self.stdout.write(f"queue {queue}: consumed")
        for queue in missing:
            self.stderr.write(f"queue {queue}: no worker takes from it")
        return [f"no worker takes from the queue {queue!r}" for queue in missing]
