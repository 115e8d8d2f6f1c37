"""A reminder's link opens the queue on exactly the comments the email counts.

On the Weifang draft 二(三)4 is answered by 市工信局, with 市财政局 and 市大数据局 cooperating;
二(三)1 is one 市工信局 only cooperates on; 市海渔局 issued the consultation (the coordinator).
"""

import datetime
from urllib.parse import urlsplit

import pytest
import time_machine
from django.contrib.auth.models import User

from consult.comments.models import CommentRouting
from consult.comments.reminders import reminders_send
from consult.comments.services import comment_submit
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from consult.notifications.models import Notification

pytestmark = pytest.mark.django_db


def member(username, department_name):
    user = User.objects.create_user(username, password="pw", email=f"{username}@gov.example")
    staff_join(user, Department.objects.get(name=department_name))
    return user


def submit(consultation, label, n):
    return comment_submit(
        consultation=consultation,
        clause=consultation.clauses.get(label=label),
        body=f"第{n}条意见：建议明确集聚区的评价指标并公开评选结果。",
        channel="web",
        consent=True,
        phone=f"1381234{n:04d}",
    ).comment


def listed(client, user, notification, moment):
    """The tracking numbers the reminder's link lists to `user`, at `moment`."""
    url = urlsplit(notification.context["queue_url"])
    with time_machine.travel(moment, tick=False):
        client.force_login(user)
        response = client.get(f"{url.path}?{url.query}")
    assert response.status_code == 200
    return set(response.context["cl"].result_list.values_list("tracking_number", flat=True))


def test_the_overdue_reminder_links_the_coordinator_to_the_late_departments_comments(
    client, weifang_open
):
    late = [submit(weifang_open, "二(三)4", 1), submit(weifang_open, "二(四)2", 2)]
    after = weifang_open.answer_deadline + datetime.timedelta(days=1, hours=12)
    with time_machine.travel(after, tick=False):
        reminders_send()
    overdue = Notification.objects.get(kind="reminder", context__reminder="overdue")
    assert overdue.department.name == "市海渔局"
    assert overdue.context["total"] == 2

    shown = listed(client, member("hyj", "市海渔局"), overdue, after)

    assert shown == {comment.tracking_number for comment in late}


def test_the_answer_due_reminder_links_only_the_comments_the_department_answers(
    client, weifang_open
):
    owned = submit(weifang_open, "二(三)4", 1)
    cooperating = submit(weifang_open, "二(三)1", 2)
    route = CommentRouting.objects.get(comment=cooperating, department__name="市工信局")
    assert not route.is_owner
    before = weifang_open.answer_deadline - datetime.timedelta(days=4, hours=12)
    with time_machine.travel(before, tick=False):
        reminders_send()
    due = Notification.objects.get(
        kind="reminder", context__reminder="answer_due", department__name="市工信局"
    )
    # "贵单位负责答复的 1 条意见尚未答复", on 二(三)4.
    assert [row["count"] for row in due.context["clauses"]] == [1]

    shown = listed(client, member("gxj", "市工信局"), due, before)

    assert shown == {owned.tracking_number}


def test_the_opinion_link_lists_only_the_comments_whose_opinion_is_still_owed(client, weifang_open):
    """市财政局 cooperates on 二(三)4; of its three comments it gave its opinion on one and the
    owner chose not to wait for it on another: the reminder counts one, and its link lists it."""
    from consult.comments.workflow import CommentChange, comment_change_apply

    owed, given, waived = (submit(weifang_open, "二(三)4", n) for n in (1, 2, 3))
    finance = member("czj", "市财政局")
    comment_change_apply(given, finance, CommentChange(opinion="同意。"))
    comment_change_apply(
        waived,
        member("gxj", "市工信局"),
        CommentChange(status="in_progress", waive_reason="情况紧急，先行答复。"),
    )
    before = weifang_open.answer_deadline - datetime.timedelta(days=4, hours=12)
    with time_machine.travel(before, tick=False):
        reminders_send()
    due = Notification.objects.get(
        kind="reminder", context__reminder="answer_due", department__name="市财政局"
    )
    assert due.context["awaited"] == 1
    opinions = urlsplit(due.context["opinions_url"])
    with time_machine.travel(before, tick=False):
        client.force_login(finance)
        response = client.get(f"{opinions.path}?{opinions.query}")
    assert response.status_code == 200
    shown = set(response.context["cl"].result_list.values_list("tracking_number", flat=True))

    assert shown == {owed.tracking_number}
