from django.conf import settings
from django.core.checks import Error, register

from .services import jobs_registered


@register()
def every_job_has_a_schedule(app_configs, **kwargs):
    """A registered job without an interval would never run under beat, and never be missed."""
    errors = []
    beat_tasks = {
        entry.get("args", (None,))[0]
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry.get("task") == "consult.jobs.tasks.run_job"
    }
    for job in jobs_registered():
        if job.name not in settings.PERIODIC_JOBS_EVERY_SECONDS:
            errors.append(
                Error(
                    f"Periodic job {job.name!r} has no interval in PERIODIC_JOBS_EVERY_SECONDS.",
                    id="jobs.E001",
                )
            )
        if job.name not in beat_tasks:
            errors.append(
                Error(f"Periodic job {job.name!r} has no Celery beat entry.", id="jobs.E002")
            )
    return errors
