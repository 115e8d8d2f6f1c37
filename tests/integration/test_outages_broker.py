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
