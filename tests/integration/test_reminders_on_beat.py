"""Reminders from a real `celery beat` (two of them) and worker, arriving at the loopback SMTP
server exactly once each."""

import collections
import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from consult.comments.services import comment_submit
from consult.jobs.models import JobStatus
from consult.notifications.models import Notification, Reminder
from consult.testing.services import wait_for

# A reminder "1 day before the close" falls at 00:00 today when the close is tomorrow, so it is
# due the moment the test starts, whatever the hour, and still worth sending until the close;
# beat runs the reminders job every second instead of every five minutes.
pytestmark = pytest.mark.worker_env(
    DUE_JOBS_EVERY_SECONDS="1", REMIND_AT_HOUR="0", REMIND_DAYS_BEFORE_CLOSE="1"
)


# The beat entry and periodic job that send reminders (settings.CELERY_BEAT_SCHEDULE).
REMINDERS_JOB = "reminders"
SENDING_REMINDERS = f"Sending due task {REMINDERS_JOB} "


def closing_reminders(stack):
    return [m for m in stack.smtp.received() if "截止提醒" in m.subject]


def test_beat_sends_each_reminder_once_even_with_two_beats(stack, weifang_live):
    assert REMINDERS_JOB in settings.CELERY_BEAT_SCHEDULE
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
    beats = [stack.worker, second_beat]
    try:
        wait_for(
            lambda: len(closing_reminders(stack)) >= 4,
            timeout=120,
            message=f"four closing reminders\n{stack.worker.log_tail()}",
        )
        # "Nothing more happens" means something only once the job has been given the chance:
        # wait until each beat has sent the job three more times and the worker has finished
        # three more runs, each started after the four reminders had arrived.
        arrived = timezone.now()
        sent = [beat.log_count(SENDING_REMINDERS) for beat in beats]
        runs = set()

        def three_more_sends_from_each_beat_and_three_more_runs():
            finished = (
                JobStatus.objects.filter(name=REMINDERS_JOB)
                .values_list("last_succeeded_at", flat=True)
                .first()
            )
            if finished is not None and finished > arrived:
                runs.add(finished)  # the moment the run started, recorded when it succeeded
            return len(runs) >= 3 and all(
                beat.log_count(SENDING_REMINDERS) >= before + 3
                for beat, before in zip(beats, sent, strict=True)
            )

        wait_for(
            three_more_sends_from_each_beat_and_three_more_runs,
            timeout=120,
            interval=0.05,
            message=f"three more runs of the reminders job\n{stack.worker.log_tail()}",
        )
    finally:
        second_beat.stop()
    # Whatever those runs queued has gone out.
    wait_for(
        lambda: not Notification.objects.filter(status=Notification.Status.PENDING).exists(),
        timeout=120,
        message="the outbox to drain",
    )

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
