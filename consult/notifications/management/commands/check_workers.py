from django.core.management.base import BaseCommand, CommandError

from consult.celery import app


class Command(BaseCommand):
    help = "Health check: ping the Celery workers; exit 1 when none answers."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=3.0)

    def handle(self, *args, timeout, **options):
        if app.conf.task_always_eager:
            self.stdout.write("tasks run in-process (no broker configured)")
            return
        try:
            replies = app.control.ping(timeout=timeout)
        except Exception as error:  # broker unreachable
            raise CommandError(f"broker unreachable: {error}") from error
        if not replies:
            raise CommandError("no Celery worker answered")
        for reply in replies:
            for name, answer in reply.items():
                self.stdout.write(f"{name}: {answer.get('ok', answer)}")
