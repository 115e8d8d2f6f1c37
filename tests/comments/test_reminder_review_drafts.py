"""A comment on the first draft keeps its draft's answer deadline once the second draft opens:
in the email of a transfer (转办) and in the dashboard's overdue count.

The first draft's close is moved to an hour from now before the second draft (open for 30
days) is published, so the two drafts' answer deadlines are weeks apart.
"""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consult.comments.dashboard import dashboard
from consult.comments.models import CommentRouting
from consult.comments.notifying import (
    comment_routed_again_write,
    notification_items_with_comments,
)
from consult.comments.services import comment_submit
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from consult.notifications.models import Notification
from tests.support.revisions import weifang_second_draft

pytestmark = pytest.mark.django_db


def submit(consultation, label, n):
    return comment_submit(
        consultation=consultation,
        clause=consultation.current_clauses().get(label=label),
        body=f"第{n}条意见：建议明确集聚区的评价指标并公开评选结果。",
        channel="web",
        consent=True,
        phone=f"1381234{n:04d}",
    ).comment


@pytest.fixture
def first_and_second(weifang_open):
    """Two comments on the first draft's 二(三)4 (市工信局 answers), then the second draft."""
    consultation = weifang_open
    first = consultation.current_revision
    comments = [submit(consultation, "二(三)4", n) for n in range(2)]
    consultation.closes_at = timezone.now().replace(microsecond=0) + datetime.timedelta(hours=1)
    consultation.save(update_fields=["closes_at"])  # the first draft's row follows
    first.refresh_from_db()
    weifang_second_draft(consultation)
    assert consultation.answer_deadline > first.answer_deadline + datetime.timedelta(days=20)
    return consultation, first, comments


def transfer_items(comments):
    """The items of a transfer email per comment, enriched as the worker does."""
    items = []
    for comment in comments:
        route = CommentRouting.objects.get(comment=comment, is_owner=True)
        comment_routed_again_write(comment, route, reason="转办")
        notification = Notification.objects.get(kind="reassigned", comment=comment)
        items.append({**notification.context, "notification": notification})
    return items


def test_a_transfer_after_the_second_draft_opens_gives_the_first_draft_s_answer_deadline(
    first_and_second,
):
    consultation, first, comments = first_and_second
    items = transfer_items(comments[:1])

    notification_items_with_comments(items)

    assert items[0]["answer_by"] == first.answer_deadline != consultation.answer_deadline


def test_the_transfer_emails_cost_the_same_queries_for_one_comment_or_several(first_and_second):
    _consultation, _first, comments = first_and_second
    items = transfer_items(comments)

    with CaptureQueriesContext(connection) as one:
        notification_items_with_comments(items[:1])
    with CaptureQueriesContext(connection) as both:
        notification_items_with_comments(items)

    assert len(both) == len(one)


def test_the_dashboard_counts_a_first_draft_comment_overdue_while_the_second_draft_is_open(
    first_and_second,
):
    consultation, first, _comments = first_and_second
    coordinator = User.objects.create_user("hyj", password="pw")
    staff_join(coordinator, Department.objects.get(name="市海渔局"))

    with time_machine.travel(first.answer_deadline + datetime.timedelta(hours=1), tick=False):
        assert consultation.accepts_comments_at(timezone.now())  # the second draft is open
        data = dashboard(consultation, coordinator)

    assert data["overdue"] is True
    (industry,) = [bar for bar in data["charts"][2].bars if bar.label == "市工信局"]
    assert (industry.value, industry.extra) == (2, 2)


@pytest.mark.parametrize("second_opens_in_days", [-1, 10])
def test_the_first_drafts_answers_are_reminded_of_while_the_second_is_announced(
    weifang_open, second_opens_in_days, settings
):
    """The second draft published ahead of its period moved the consultation's opening into
    the future, and the job left the whole consultation out: the first draft's answer-due
    reminders were missed (found by a review)."""
    from consult.comments.reminders import local_day_at, reminders_send
    from consult.comments.revision_outcomes import revision_publish
    from consult.consultations.models import Revision
    from consult.notifications.models import Reminder
    from tests.support.revisions import first_draft_closed

    submit(weifang_open, "二(三)4", 1)  # 市工信局 answers
    now = first_draft_closed(weifang_open)
    first = Revision.objects.get(pk=weifang_open.current_revision_id)
    second = weifang_second_draft(weifang_open, publish=False, open_now=False)
    second.opens_at = now + datetime.timedelta(days=second_opens_in_days)
    second.closes_at = now + datetime.timedelta(days=40)
    second.save(update_fields=["opens_at", "closes_at"])
    revision_publish(second)
    first.refresh_from_db()
    day_before = timezone.localdate(first.answer_deadline) - datetime.timedelta(days=1)

    due = local_day_at(day_before, settings.REMIND_AT_HOUR)
    with time_machine.travel(due + datetime.timedelta(minutes=1), tick=False):
        reminders_send()

    assert Reminder.objects.filter(
        kind="answer_due", department__name="市工信局", outcome="queued", days_before=1
    ).exists()
