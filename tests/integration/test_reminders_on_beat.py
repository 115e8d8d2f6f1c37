"""Reminders from a real `celery beat` (two of them) and worker, arriving at the loopback SMTP
server exactly once each."""

import collections
import datetime
import time

import pytest
from django.utils import timezone

from consult.comments.services import comment_submit
from consult.notifications.models import Reminder
from tests.support.services import wait_for

# A reminder "1 day before the close" falls at 00:00 today when the close is tomorrow, so it is
# due the moment the test starts, whatever the hour; beat runs the due jobs every second.
pytestmark = pytest.mark.worker_env(
    DUE_JOBS_EVERY_SECONDS="1", REMIND_AT_HOUR="0", REMIND_DAYS_BEFORE_CLOSE="1"
)


def closing_reminders(stack):
    return [m for m in stack.smtp.received() if "截止提醒" in m.subject]


def test_beat_sends_each_reminder_once_even_with_two_beats(stack, weifang_live):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    weifang_live.closes_at = timezone.make_aware(
        datetime.datetime.combine(tomorrow, datetime.time(23, 59, 59))
    )
    weifang_live.save(update_fields=["closes_at"])
    for n, label in enumerate(["二(四)2", "二(三)4"]):
        comment_submit(
            consultation=weifang_live,
            clause=weifang_live.clauses.get(label=label),
            body=f"第{n}条意见：建议明确集聚区的评价指标并公开结果。",
            channel="web",
            consent=True,
            phone=f"1381234{n:04d}",
        )
    # A second beat (its own schedule file) fires the same job independently.
    second_beat = stack.new_worker(worker=False)
    second_beat.log_path = stack.directory / "beat-2.log"
    second_beat.start()
    try:
        wait_for(
            lambda: len(closing_reminders(stack)) >= 4,
            timeout=60,
            message=f"four closing reminders\n{stack.worker.log_tail()}",
        )
        time.sleep(5)  # several more beats from each scheduler
    finally:
        second_beat.stop()

    reminders = closing_reminders(stack)
    recipients = collections.Counter(address for m in reminders for address in m.to)
    assert recipients == {
        "sthjj@weifang.example": 1,
        "gxj@weifang.example": 1,
        "czj@weifang.example": 1,
        "dsjj@weifang.example": 1,
    }
    assert len({m.message_id for m in reminders}) == 4
    assert Reminder.objects.filter(outcome="queued").count() == 4
    beat_log = stack.worker.log_path.read_text() + (stack.directory / "beat-2.log").read_text()
    assert beat_log.count("Sending due task due-jobs") >= 6
