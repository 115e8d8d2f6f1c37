"""Routing comments recorded in bulk (letters, emails, imports) off the request path."""

from celery import shared_task
from django.conf import settings

from .services import comments_route_unrouted

ROUTING_BATCH = 200


@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def route_unrouted(comment_ids):
    """Idempotent: comments routed already (or being routed elsewhere) are skipped."""
    comments_route_unrouted(list(comment_ids))


def route_unrouted_later(comment_ids) -> None:
    ids = list(comment_ids)
    for start in range(0, len(ids), ROUTING_BATCH):
        route_unrouted.delay(ids[start : start + ROUTING_BATCH])


@shared_task(
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.EXPORT_SOFT_TIME_LIMIT_SECONDS,
    time_limit=settings.EXPORT_SOFT_TIME_LIMIT_SECONDS + 60,
)
def build_export(export_id):
    from .exports import export_build

    export_build(export_id)
