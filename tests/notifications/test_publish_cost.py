"""After a comment commits, the request hands its notifications to the publisher thread and
asks the database nothing more: planning the delivery tasks (which digest window already has
a task) happens on that thread."""

from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consult.comments.services import comment_submit
from consult.notifications import outbox, tasks
from consult.notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_the_request_plans_nothing_after_commit(
    weifang_open, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFY_PUBLISH_IN_BACKGROUND = True
    monkeypatch.setitem(tasks.deliver_notifications.app.conf, "task_always_eager", False)
    clause = weifang_open.clauses.get(label="二(三)4")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        for n in range(2):  # the second comment's digests join the first one's windows
            comment_submit(
                consultation=weifang_open,
                clause=clause,
                body=f"第{n}条意见：建议明确集聚区的评价指标。",
                channel="web",
                consent=True,
            )
    submitted = []
    with (
        mock.patch.object(outbox.publisher, "submit", submitted.append),
        CaptureQueriesContext(connection) as queries,
    ):
        for callback in callbacks:
            callback()
    assert [q["sql"] for q in queries] == []
    handed = {planned.pk for plan in submitted for planned in plan}
    assert handed == set(Notification.objects.values_list("pk", flat=True))

    # Planned on the thread: one task per window, its first member's; the others covered.
    batches = [batch for plan in submitted for batch in outbox.batches_plan(plan)]
    windows = Notification.objects.exclude(digest_group="").values_list("digest_group", flat=True)
    assert len([batch for batch in batches if batch.ids]) == len(set(windows))
