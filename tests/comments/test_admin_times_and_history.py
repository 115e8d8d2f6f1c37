"""What staff read in the admin is in Beijing time to the second, sorts the way its header
says, and the history page says in words what a save changed."""

import datetime
import re
import zoneinfo

import pytest
from django.utils import timezone

from consult.comments.models import Comment, CommentEvent, Export
from consult.comments.workflow import CommentChange, comment_change_apply
from consult.consultations.models import Department
from consult.notifications.models import Reminder
from tests.comments.test_admin_queue import QUEUE, change_form_data, member, submit

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def test_an_export_and_a_reminder_are_named_by_their_beijing_time_to_the_second(weifang_open):
    # 01:30:05 in Beijing is the previous day's 17:30:05 in UTC: the name must not say that.
    moment = datetime.datetime(2027, 3, 1, 1, 30, 5, tzinfo=SHANGHAI)
    user = member("fgw", "市发改委")
    export = Export.objects.create(format=Export.Format.CSV, user=user, query=b"")
    Export.objects.filter(pk=export.pk).update(created_at=moment)
    export.refresh_from_db()
    assert str(export).endswith(" · 2027-03-01 01:30:05")

    reminder = Reminder(
        kind=Reminder.Kind.ANSWER_DUE,
        consultation=weifang_open,
        department=Department.objects.get(name="市发改委"),
        due_at=moment,
    )
    assert str(reminder).endswith(" · 市发改委 · 2027-03-01 01:30:05")


def test_the_history_on_the_change_page_has_seconds(client, weifang_open):
    comment = submit(weifang_open, "二(四)2", 1)
    owner = member("sthj", "市生态环境局")
    comment_change_apply(comment, owner, CommentChange(status="in_progress"))
    CommentEvent.objects.filter(comment=comment).update(
        at=datetime.datetime(2027, 3, 1, 1, 30, 5, tzinfo=SHANGHAI)
    )
    client.force_login(owner)
    page = client.get(f"{QUEUE}{comment.pk}/change/").content.decode()
    history = re.search(r'<table class="comment-history">.*?</table>', page, re.S).group(0)
    assert "<td>2027-03-01 01:30:05</td>" in history


def test_the_history_page_names_the_fields_a_save_changed(client, weifang_open):
    comment = submit(weifang_open, "二(四)2", 1)
    owner = member("sthj", "市生态环境局")
    client.force_login(owner)
    data = change_form_data(client, comment, status="in_progress", note="先核实数据")
    assert client.post(f"{QUEUE}{comment.pk}/change/", data).status_code == 302
    page = client.get(f"{QUEUE}{comment.pk}/history/").content.decode()
    assert "已修改状态 和 内部备注。" in page
    assert "workflow" not in page


def test_sorting_by_age_ascending_puts_the_newest_first(client, weifang_open):
    comments = [submit(weifang_open, "二(四)2", n) for n in range(3)]
    now = timezone.now()
    for days, comment in zip([5, 0, 10], comments, strict=True):
        Comment.objects.filter(pk=comment.pk).update(
            submitted_at=now - datetime.timedelta(days=days)
        )
    client.force_login(member("sthj", "市生态环境局"))
    changelist = client.get(QUEUE).context["cl"]
    column = list(changelist.list_display).index("age")
    page = client.get(QUEUE, {"o": str(column)}).content.decode()
    order = [c.tracking_number for c in comments]
    shown = list(dict.fromkeys(re.findall("|".join(map(re.escape, order)), page)))
    assert shown == [order[1], order[0], order[2]]
