from django.core.management.base import BaseCommand

from consult.notifications.jobs import due_jobs_run


class Command(BaseCommand):
    help = (
        "Do once what Celery beat does periodically: send due reminders and digests and "
        "re-send what is stuck in the outbox. Safe to run from cron as often as you like."
    )

    def handle(self, *args, **options):
        summary = due_jobs_run()
        for line in summary:
            self.stdout.write(line)
