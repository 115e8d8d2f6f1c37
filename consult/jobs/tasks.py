"""The one Celery task behind every beat entry: run the named periodic job."""

from celery import shared_task

from .services import job_run


@shared_task(ignore_result=True)
def run_job(name):
    job_run(name)
