import argparse
import time

from django.core.management.base import BaseCommand, CommandError

from consult.jobs.services import jobs_run_all

# Beat's longest schedule is a day: a longer wait is a typo (and "inf" crashed time.sleep).
LONGEST_WAIT_SECONDS = 86_400


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= LONGEST_WAIT_SECONDS:  # NaN and infinity too
        raise argparse.ArgumentTypeError(
            f"a number of seconds above 0 and at most {LONGEST_WAIT_SECONDS}, not {value!r}"
        )
    return seconds


class Command(BaseCommand):
    help = (
        "Run every periodic job once, as Celery beat does on its schedule: campaign grouping, "
        "reminders, digests, personal data retention, new-consultation emails, unconfirmed "
        "subscriptions, the export sweep, expired sessions and the outbox sweep. Safe to run "
        "from cron as often as you like. "
        "A job that fails is logged and the others still run; the command then exits 1."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--every",
            type=_seconds,
            metavar="SECONDS",
            help="Keep running, once every SECONDS (the embedded mode's stand-in for beat); "
            "a failing job is logged and tried again next time.",
        )

    def handle(self, *args, every=None, **options):
        while True:
            outcomes = jobs_run_all()
            for outcome in outcomes:
                write = self.stdout.write if outcome.ok else self.stderr.write
                write(f"{outcome.name}: {outcome.summary}")
            if not every:
                failed = [outcome.name for outcome in outcomes if not outcome.ok]
                if failed:
                    raise CommandError(f"failed: {', '.join(failed)}")
                return
            time.sleep(every)
