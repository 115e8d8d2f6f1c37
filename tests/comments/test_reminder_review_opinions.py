"""A cooperating department is reminded of the opinions it still owes, whatever the comment's
status, and not of those it has given (nor once the owner chose not to wait for them).

On the Weifang draft 二(三)4 is answered by 市工信局, with 市财政局 and 市大数据局 cooperating.
"""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import User

from consult.comments.reminders import reminders_send
from consult.comments.services import comment_submit
from consult.comments.workflow import CommentChange, comment_change_apply
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from consult.notifications.models import Notification
from consult.notifications.rendering import emails_render

pytestmark = pytest.mark.django_db


def member(username, department_name):
    user = User.objects.create_user(username, password="pw", email=f"{username}@gov.example")
    staff_join(user, Department.objects.get(name=department_name))
    return user


def submit(consultation, n):
    return comment_submit(
        consultation=consultation,
        clause=consultation.clauses.get(label="二(三)4"),
        body=f"第{n}条意见：建议明确集聚区的评价指标并公开评选结果。",
        channel="web",
        consent=True,
        phone=f"1381234{n:04d}",
    ).comment


def reminded(consultation, kind):
    """Department name → the reminder of this kind it got."""
    if kind == "closing":
        moment = consultation.closes_at - datetime.timedelta(days=2, hours=12)
    else:
        moment = consultation.answer_deadline - datetime.timedelta(days=4, hours=12)
    with time_machine.travel(moment, tick=False):
        reminders_send()
    return {
        notification.department.name: notification
        for notification in Notification.objects.filter(kind="reminder", context__reminder=kind)
    }


def test_a_cooperating_department_that_gave_its_opinion_is_not_reminded_of_it(weifang_open):
    comment = submit(weifang_open, 1)
    comment_change_apply(comment, member("czj", "市财政局"), CommentChange(opinion="同意。"))

    sent = reminded(weifang_open, "closing")

    assert "市财政局" not in sent
    assert sent["市大数据局"].context["total"] == 1  # still owes its opinion
    assert sent["市工信局"].context["owned"] == 1


def test_a_cooperating_department_is_reminded_of_an_opinion_awaited_on_a_comment_in_progress(
    weifang_open,
):
    comment = submit(weifang_open, 1)
    comment_change_apply(comment, member("gxj", "市工信局"), CommentChange(status="in_progress"))

    closing = reminded(weifang_open, "closing")
    due = reminded(weifang_open, "answer_due")

    assert closing["市财政局"].context["awaited"] == 1
    assert "市工信局" not in closing  # it has started on it: nothing untouched
    assert due["市财政局"].context["awaited"] == 1 and due["市财政局"].context["owned"] == 0
    assert due["市工信局"].context["owned"] == 1
    ((_subject, text, html),) = emails_render([[due["市财政局"]]])
    assert "1 条意见尚待贵单位提出配合意见" in text and "二(三)4" in text
    assert "贵单位负责答复" not in text  # it answers none of them
    assert "role=awaited" in text and "提出配合意见" in html


def test_no_reminder_of_an_opinion_the_owner_chose_not_to_wait_for(weifang_open):
    comment = submit(weifang_open, 1)
    comment_change_apply(comment, member("gxj", "市工信局"), CommentChange(status="in_progress"))
    comment.refresh_from_db()
    comment_change_apply(
        comment, member("gxj2", "市工信局"), CommentChange(waive_reason="时间紧，先行答复。")
    )

    due = reminded(weifang_open, "answer_due")

    assert set(due) == {"市工信局"}
