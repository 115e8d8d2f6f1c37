from django.core.management.base import BaseCommand, CommandError

from consult.celery import app
from consult.jobs.services import jobs_health


class Command(BaseCommand):
    help = (
        "Health check: ping the Celery workers and look at the periodic jobs; exit 1 when no "
        "worker answers or a job has not succeeded for three of its intervals."
    )

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=3.0)

    def handle(self, *args, timeout, **options):
        problems = []
        if app.conf.task_always_eager:
            self.stdout.write("tasks run in-process (no broker configured)")
        else:
            problems += self.workers(timeout)
        for job in jobs_health():
            if not job.has_run:
                self.stdout.write(f"job {job.name}: not run yet")
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
        if problems:
            raise CommandError("; ".join(problems))

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
        return []
