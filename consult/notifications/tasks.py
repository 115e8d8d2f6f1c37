"""Celery tasks: thin wrappers that move outbox rows along (see delivery and outbox)."""

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.utils import timezone

from . import delivery, outbox

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def deliver_notifications(self, notification_ids):
    """Deliver these notifications; what failed is handed over again as a new task due at its
    next attempt time (recorded on the rows, so the sweep leaves it alone meanwhile)."""
    result = delivery.deliver(list(notification_ids))
    if result.retry_ids and not self.request.is_eager:
        # In-process (eager) mode cannot wait; `run_due_jobs` picks the rest up later.
        outbox.retry_publish(result.retry_ids, result.retry_in)


@shared_task(ignore_result=True)
def probe():
    """Does nothing: health checks and benchmarks use it to measure the queue path itself."""


@worker_ready.connect
def note_the_brokers_epoch(**kwargs):
    """A worker starting on a broker that lost its messages (restarted without persistence, or
    wiped) notes when its memory began, so the sweep re-sends what was handed over before."""
    outbox.broker_epoch(timezone.now())
