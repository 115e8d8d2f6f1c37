"""The mail server down for longer than eight retries, at the default NOTIFY_MAX_ATTEMPTS:
every email waits for its scheduled retry (the sweep leaves it alone), none is given up on,
and each arrives once when the server is back."""

import re

import pytest
from django.conf import settings
from django.db.models import Sum

from consult.notifications.models import Notification, OutgoingEmail
from consult.testing.services import wait_for
from tests.integration.test_notification_delivery import (
    assert_each_email_arrived_exactly_once,
    submit_many,
    wait_until_everything_is_sent,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SWEEP_RESENT = re.compile(r"Outbox sweep re-sent (\d+) notifications")


def sweep_resent(stack) -> int:
    """Notifications the sweep handed to the broker again, from the worker's log."""
    log = stack.directory.joinpath("worker.log").read_text(errors="replace")
    return sum(int(count) for count in SWEEP_RESENT.findall(log))


def sweep_lines(stack) -> str:
    log = stack.directory.joinpath("worker.log").read_text(errors="replace")
    return "\n".join(line for line in log.splitlines() if SWEEP_RESENT.search(line))


def test_smtp_down_for_longer_than_eight_retries_loses_and_doubles_nothing(stack, weifang_live):
    # The defaults the outage is about: eight attempts was where the old accounting gave up.
    assert "NOTIFY_MAX_ATTEMPTS" not in stack.env and "NOTIFY_GIVE_UP_AFTER" not in stack.env
    limit = settings.NOTIFY_MAX_ATTEMPTS
    base = float(stack.env["NOTIFY_RETRY_BASE_SECONDS"])
    stack.smtp.stop()
    submit_many(weifang_live, 30, email_every=3)

    def every_email_tried_more_than_the_limit():
        failed = OutgoingEmail.objects.filter(status=OutgoingEmail.Status.FAILED)
        assert not failed.exists(), f"given up during the outage: {list(failed.values())[:1]}"
        return (
            not Notification.objects.filter(email__isnull=True).exists()
            and not OutgoingEmail.objects.filter(attempts__lte=limit).exists()
        )

    # Each retry waits at least the base, so this outage lasts well over 8 × the base.
    wait_for(
        every_email_tried_more_than_the_limit,
        timeout=90,
        interval=0.25,
        message=f"every email to be tried more than {limit} times",
    )
    outage = max(
        (e.next_attempt_at - e.failing_since).total_seconds() for e in OutgoingEmail.objects.all()
    )
    assert outage > 8 * base
    assert not OutgoingEmail.objects.filter(status=OutgoingEmail.Status.SENT).exists()
    # Every pending email waits for a retry it was scheduled, none for the sweep.
    assert not OutgoingEmail.objects.filter(next_attempt_at__isnull=True).exists()
    stack.smtp.start()
    wait_until_everything_is_sent(stack, timeout=120)
    assert_each_email_arrived_exactly_once(stack)
    assert not OutgoingEmail.objects.filter(status=OutgoingEmail.Status.FAILED).exists()

    # Re-enqueued work: the first hand-off of each notification, then one per failed try of
    # each email (its scheduled retry). The sweep re-sent nothing: no hand-off was lost.
    notifications = Notification.objects.count()
    emails = OutgoingEmail.objects.count()
    attempts = OutgoingEmail.objects.aggregate(total=Sum("attempts"))["total"]
    handed = Notification.objects.aggregate(total=Sum("publications"))["total"]
    retries = attempts - emails
    print(
        f"SMTP down {outage:.0f} s: {notifications} notifications in {emails} emails, "
        f"{attempts} attempts, {handed} hand-offs ({notifications} first + {retries} retries), "
        f"swept {sweep_resent(stack)}; failed 0, repeats 0"
    )
    assert sweep_resent(stack) == 0, sweep_lines(stack)
    assert handed <= notifications + retries
