"""The broker loses every queued message (FLUSHALL, as a Redis restarted without persistence
does) while the worker is stopped: the sweep re-sends everything at once, not after the
visibility timeout, and each email arrives once."""

import time

import pytest
import redis

from consult.notifications import outbox
from consult.notifications.models import Notification
from consult.testing.services import wait_for
from tests.integration.test_notification_delivery import (
    assert_each_email_arrived_exactly_once,
    submit_many,
    wait_until_everything_is_sent,
)
from tests.integration.test_outages_smtp import sweep_resent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


# Production's visibility timeout: a sweep that waited for it would re-send nothing for an hour.
@pytest.mark.worker_env(CELERY_VISIBILITY_TIMEOUT="3600")
def test_a_wiped_broker_loses_nothing_and_its_mail_goes_out_at_once(stack, weifang_live):
    stack.worker.stop()
    submit_many(weifang_live, 20, email_every=4)
    assert outbox.publisher.flush(10)
    wait_for(
        lambda: not Notification.objects.filter(published_at__isnull=True).exists(),
        timeout=10,
        message="every notification handed to the broker",
    )
    client = redis.Redis(port=stack.redis.port)
    assert client.llen("notifications") > 0
    client.flushall()
    worker = stack.new_worker(beat=True)
    stack.worker = worker
    started = time.monotonic()
    worker.start()
    wait_until_everything_is_sent(stack, timeout=60)
    took = time.monotonic() - started
    assert_each_email_arrived_exactly_once(stack)
    needed = Notification.objects.count()
    print(f"broker wiped: {needed} notifications re-sent by the sweep in {took:.1f} s")
    assert sweep_resent(stack) == needed


def test_a_large_export_asked_for_while_redis_is_down_is_built_once_it_is_back(
    stack, weifang_live, client, settings
):
    """The admin answered 500 (the task's publish raised after commit) and the export waited
    as 'queued' until it expired, built by nobody."""
    from django.contrib.auth.models import User

    from consult.comments.models import Comment, Export

    submit_many(weifang_live, 5)
    settings.EXPORT_INLINE_ROWS = 1  # any export is built by a task, as over 5,000 rows are
    client.force_login(User.objects.create_superuser("root", password="pw"))
    stack.redis.stop()
    response = client.post(
        "/admin/comments/comment/?scope=all",
        {
            "action": "export_csv",
            "_selected_action": list(Comment.objects.values_list("pk", flat=True)),
        },
    )
    assert response.status_code == 302
    job = Export.objects.get()
    assert job.status == Export.Status.PENDING
    stack.redis.start()
    wait_for(
        lambda: Export.objects.filter(status=Export.Status.DONE).exists(),
        timeout=60,
        message="the export sweep to hand the export to the worker, and the worker to build it",
    )
    job.refresh_from_db()
    assert job.rows_done == 5
    built = stack.directory / "var" / "private" / job.file.name
    text = built.read_bytes().decode("utf-8-sig")
    assert all(
        number in text for number in Comment.objects.values_list("tracking_number", flat=True)
    )
