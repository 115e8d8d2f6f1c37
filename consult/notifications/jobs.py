"""The periodic work, in one place for Celery beat and for `run_due_jobs` (cron)."""

import datetime

from django.utils import timezone

from .outbox import outbox_sweep
from .reminders import reminders_send


def due_jobs_run(*, now=None) -> list[str]:
    now = now or timezone.now()
    summary = []
    from consult.comments.campaigns import campaigns_assign_pending

    summary.append(f"comments grouped into campaigns: {campaigns_assign_pending()}")
    reminders = reminders_send(now=now)
    summary.append(
        f"reminders queued: {reminders['queued']}, skipped as too late: {reminders['missed']}"
    )
    # Everything due now, including digests whose window just closed.
    handed_on = outbox_sweep(older_than=datetime.timedelta(0), now=now)
    summary.append(f"notifications handed to delivery: {handed_on}")
    return summary
