"""A burst of 200 comments while beat runs the outbox sweep every second: the sweep leaves
queued work to its tasks, so the work handed to the broker stays within 1.1 × the
notifications, and each email arrives once."""

import collections

import pytest
from django.db.models import Sum

from consult.notifications.models import Notification
from tests.integration.test_notification_delivery import (
    assert_each_email_arrived_exactly_once,
    submit_many,
    wait_until_everything_is_sent,
)
from tests.integration.test_outages_smtp import sweep_resent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SWEEPS_SENT = "Sending due task outbox-sweep "


def test_a_burst_with_the_sweep_running_hands_each_notification_over_about_once(
    stack, weifang_live
):
    sweeps_before = stack.worker.log_count(SWEEPS_SENT)
    submit_many(weifang_live, 200, email_every=5)
    wait_until_everything_is_sent(stack, timeout=150)
    assert_each_email_arrived_exactly_once(stack)
    sweeps = stack.worker.log_count(SWEEPS_SENT) - sweeps_before
    assert sweeps >= 3, "the sweep did not run during the burst"

    needed = Notification.objects.count()
    handed = Notification.objects.aggregate(total=Sum("publications"))["total"]
    per_row = collections.Counter(Notification.objects.values_list("publications", flat=True))
    # The worker's own count of delivery tasks, independent of the rows' counters.
    tasks = stack.worker.log_count("consult.notifications.tasks.deliver_notifications[")
    print(
        f"burst: {needed} notifications, {handed} hand-offs ({handed / needed:.3f} × needed), "
        f"swept {sweep_resent(stack)} in {sweeps} sweeps, hand-offs per row {dict(per_row)}, "
        f"{tasks} task log lines"
    )
    assert 0 not in per_row, "a notification was delivered without being recorded as handed over"
    assert handed <= 1.1 * needed
    assert sweep_resent(stack) <= 0.1 * needed
