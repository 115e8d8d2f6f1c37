import time

from django.core.management.base import BaseCommand

from consult.notifications.jobs import due_jobs_run


class Command(BaseCommand):
    help = (
        "Do once what Celery beat does periodically: send due reminders and digests and "
        "re-send what is stuck in the outbox. Safe to run from cron as often as you like."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--every",
            type=int,
            metavar="SECONDS",
            help="Keep running, once every SECONDS (the embedded mode's stand-in for beat).",
        )

    def handle(self, *args, every=None, **options):
        while True:
            for line in due_jobs_run():
                self.stdout.write(line)
            if not every:
                return
            time.sleep(every)
