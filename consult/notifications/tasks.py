"""Celery tasks: thin wrappers that move outbox rows along (see delivery and outbox)."""

import logging

from celery import shared_task

from . import delivery

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # attempts are counted on the email row, which gives up after N
    ignore_result=True,
)
def deliver_notifications(self, notification_ids):
    result = delivery.deliver(list(notification_ids))
    if result.retry_ids and not self.request.is_eager:
        # In-process (eager) mode cannot wait; `run_due_jobs` picks the rest up later.
        raise self.retry(args=[result.retry_ids], countdown=result.retry_in)


@shared_task(ignore_result=True)
def probe():
    """Does nothing: health checks and benchmarks use it to measure the queue path itself."""
