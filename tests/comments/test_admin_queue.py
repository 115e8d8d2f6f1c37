"""The triage queue in the admin, as department staff use it."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.comments.workflow import CommentChange, comment_change_apply
from consult.consultations.models import Department
from consult.consultations.services import staff_join

pytestmark = pytest.mark.django_db

QUEUE = "/admin/comments/comment/"


def member(username, department_name):
    user = User.objects.create_user(username, password="pw", email=f"{username}@gov.example")
    staff_join(user, Department.objects.get(name=department_name))
    return user


def submit(consultation, label, n, **extra):
    return comment_submit(
        consultation=consultation,
        clause=consultation.clauses.get(label=label),
        body=f"第{n}条意见：建议明确集聚区的评价指标并公开评选结果。",
        channel="web",
        consent=True,
        phone=f"1381234{n:04d}",
        email=f"citizen{n}@example.cn",
        submitter_name="赵六",
        **extra,
    ).comment


@pytest.fixture
def queue(weifang_open):
    """Comments on 二(四)2 (市生态环境局 alone) and on 二(三)4 (市工信局 leads, 市财政局 and
    市大数据局 cooperate)."""
    ecology = [submit(weifang_open, "二(四)2", n) for n in range(3)]
    industry = [submit(weifang_open, "二(三)4", n) for n in range(10, 13)]
    return ecology, industry


def change_form_data(client, comment, **changes):
    """What the browser would post: the form as shown, with these fields changed."""
    response = client.get(f"{QUEUE}{comment.pk}/change/")
    assert response.status_code == 200
    form = response.context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management[name].value()
    data.update(changes)
    return {key: value for key, value in data.items() if value is not False}


def test_the_queue_opens_on_my_open_comments_only(client, queue):
    ecology, industry = queue
    Comment.objects.filter(pk=ecology[2].pk).update(status="answered")
    client.force_login(member("sthj", "市生态环境局"))
    page = client.get(QUEUE).content.decode()
    assert ecology[0].tracking_number in page and ecology[1].tracking_number in page
    assert ecology[2].tracking_number not in page  # answered: not in "my open comments"
    assert all(c.tracking_number not in page for c in industry)
    page = client.get(QUEUE, {"scope": "all"}).content.decode()
    assert ecology[2].tracking_number in page


def test_another_departments_comment_is_unreachable(client, queue):
    _ecology, industry = queue
    client.force_login(member("sthj", "市生态环境局"))
    theirs = industry[0]
    page = client.get(QUEUE, {"scope": "all", "q": theirs.tracking_number}).content.decode()
    assert f"{QUEUE}{theirs.pk}/change/" not in page
    assert "0 条结果" in page
    response = client.get(f"{QUEUE}{theirs.pk}/change/")
    assert response.status_code == 302  # the admin's "does not exist" redirect
    response = client.post(f"{QUEUE}{theirs.pk}/change/", {"status": "invalid"})
    assert response.status_code == 302
    assert Comment.objects.get(pk=theirs.pk).status == "pending"
    history = client.get(f"{QUEUE}{theirs.pk}/history/")
    assert history.status_code == 302


def test_the_issuing_bureau_sees_everything_of_its_consultation(client, queue):
    client.force_login(member("hyj", "市海渔局"))
    page = client.get(QUEUE, {"scope": "all"}).content.decode()
    assert all(c.tracking_number in page for group in queue for c in group)


def test_a_page_costs_the_same_queries_at_any_size(client, weifang_open, queue):
    user = member("gxj", "市工信局")
    client.force_login(user)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(QUEUE, {"scope": "all"}).status_code == 200
        return len(captured)

    few = queries()
    for n in range(20, 45):
        submit(weifang_open, "二(三)4", n)
    assert queries() == few
    # 13: the consultations the user's bureau issued, read once for whose submitters (and
    # the personal data in whose texts) the page shows in full.
    assert few <= 13
    page = client.get(QUEUE, {"scope": "all"}).content.decode()
    assert "<strong>牵头</strong>" in page  # my role, in bold where my department answers


def test_overdue_comments_are_highlighted(client, weifang_open, queue):
    client.force_login(member("sthj", "市生态环境局"))
    assert "逾期" not in client.get(QUEUE).content.decode()
    with time_machine.travel(weifang_open.answer_deadline + datetime.timedelta(days=1)):
        client.force_login(User.objects.get(username="sthj"))
        assert 'class="overdue"' in client.get(QUEUE).content.decode()


def test_filters_by_clause_department_role_and_contact(client, weifang_open, queue):
    ecology, industry = queue
    client.force_login(User.objects.create_superuser("root", password="pw"))
    clause = weifang_open.clauses.get(label="二(四)2")
    page = client.get(
        QUEUE, {"scope": "all", "consultation__id__exact": weifang_open.pk, "clause": clause.pk}
    ).content.decode()
    assert ecology[0].tracking_number in page and industry[0].tracking_number not in page
    finance = Department.objects.get(name="市财政局")
    page = client.get(QUEUE, {"scope": "all", "department": finance.pk}).content.decode()
    assert industry[0].tracking_number in page and ecology[0].tracking_number not in page
    Comment.objects.filter(pk=ecology[0].pk).update(phone="", email="")
    page = client.get(QUEUE, {"scope": "all", "contact": "no"}).content.decode()
    assert ecology[0].tracking_number in page and ecology[1].tracking_number not in page


def test_working_a_comment_in_the_change_form(client, queue, django_capture_on_commit_callbacks):
    ecology, _industry = queue
    comment = ecology[0]
    client.force_login(member("sthj", "市生态环境局"))
    # 不予采纳 without a reason: refused on the field, nothing stored.
    data = change_form_data(
        client, comment, status="answered", decision="not_adopted", reply="答复"
    )
    response = client.post(f"{QUEUE}{comment.pk}/change/", data)
    assert response.status_code == 200
    assert "不予采纳时请说明理由。" in response.content.decode()
    assert Comment.objects.get(pk=comment.pk).status == "pending"

    data["decision_reason"] = "与上位法规定不一致。"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{QUEUE}{comment.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    comment.refresh_from_db()
    assert (comment.status, comment.decision) == ("answered", "not_adopted")
    assert [m.to for m in mail.outbox] == [["citizen0@example.cn"]]
    page = client.get(f"{QUEUE}{comment.pk}/change/").content.decode()
    assert "已答复" in page and "与上位法规定不一致。" in page  # the history


def test_a_cooperating_department_sees_contact_details_masked(client, queue):
    _ecology, industry = queue
    client.force_login(member("czj", "市财政局"))
    page = client.get(f"{QUEUE}{industry[0].pk}/change/").content.decode()
    assert "138****0010" in page and "c***@example.cn" in page and "赵*" in page
    assert "13812340010" not in page and "citizen10@example.cn" not in page
    client.force_login(member("gxj", "市工信局"))
    page = client.get(f"{QUEUE}{industry[0].pk}/change/").content.decode()
    assert "13812340010" in page and "citizen10@example.cn" in page


def test_bulk_answer(client, queue, django_capture_on_commit_callbacks):
    ecology, _industry = queue
    client.force_login(member("sthj", "市生态环境局"))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            QUEUE,
            {
                "action": "bulk_answer",
                "_selected_action": [c.pk for c in ecology],
                "decision": "explained",
                "text": "感谢关注，相关事项已有规定。",
            },
        )
    assert response.status_code == 302
    assert set(
        Comment.objects.filter(pk__in=[c.pk for c in ecology]).values_list("status", flat=True)
    ) == {"answered"}
    assert len(mail.outbox) == 3


def test_the_page_selects_no_exists_a_planner_may_hash_over_every_route(client, queue):
    # PostgreSQL may run an EXISTS in a SELECT list as a hash of every route its departments
    # answer, built before the first row: 150 ms of a 50-row page at a million comments
    # (bench/admin_queue.py). At a test's size it plans otherwise, so the SQL is what is held:
    # the page's own annotations are subqueries of one row; EXISTS stays in the WHERE clause.
    client.force_login(member("gxj", "市工信局"))
    with CaptureQueriesContext(connection) as captured:
        assert client.get(QUEUE, {"scope": "all"}).status_code == 200
    (page,) = [
        q["sql"] for q in captured.captured_queries if "LIMIT" in q["sql"] and "my_role" in q["sql"]
    ]
    select_list = page.split(' FROM "comments_comment" ')[0]
    assert "contact_visible" in select_list and "EXISTS" not in select_list.upper()


def test_the_count_is_capped_and_the_date_drill_down_does_not_scan(client, queue, monkeypatch):
    from consult.comments.admin import CappedCountPaginator

    monkeypatch.setattr(CappedCountPaginator, "cap", 2)
    client.force_login(User.objects.create_superuser("root", password="pw"))
    with CaptureQueriesContext(connection) as captured:
        page = client.get(QUEUE, {"scope": "all"}).content.decode()
    assert "超过 2 条意见，请用筛选缩小范围" in page
    sql = " ".join(q["sql"] for q in captured.captured_queries)
    assert "DISTINCT DATE_TRUNC" not in sql.upper() and "COUNT(*) FROM (SELECT" in sql.upper()
    year = timezone.localdate().year
    assert f"submitted_at__year={year}" in page
    month_page = client.get(
        QUEUE, {"scope": "all", "submitted_at__year": year, "submitted_at__month": 1}
    ).content.decode()
    assert "submitted_at__day=31" in month_page


def test_a_refused_bulk_answer_keeps_what_was_typed_and_names_the_refused(client, queue):
    """Bulk 'answer with one reply' where cooperating departments exist: the comments whose
    departments have all given their opinion are answered; the others are named with the
    reason, stay selected, and the reply is shown again; a reason to go ahead answers them."""
    _ecology, industry = queue
    for department, username in (("市财政局", "czj"), ("市大数据局", "dsjj")):
        comment_change_apply(
            industry[0], member(username, department), CommentChange(opinion="同意。")
        )
    client.force_login(member("gxj", "市工信局"))
    reply = "感谢关注，数字赋能的申报条件将在实施细则中明确。"
    answer = {
        "action": "bulk_answer",
        "_selected_action": [c.pk for c in industry],
        "decision": "explained",
        "text": reply,
    }
    response = client.post(QUEUE, answer, follow=True)
    statuses = dict(
        Comment.objects.filter(pk__in=[c.pk for c in industry]).values_list("pk", "status")
    )
    assert statuses == {
        industry[0].pk: "answered",
        industry[1].pk: "pending",
        industry[2].pk: "pending",
    }
    page = response.content.decode()
    assert "已答复 1 条意见。" in page
    assert "2 条意见未能处理" in page
    for refused in industry[1:]:
        assert f"{refused.tracking_number}：以下配合单位尚未回复意见：市财政局、市大数据局" in page
    form = response.context["action_form"]
    assert form["text"].value() == reply and form["decision"].value() == "explained"
    assert form["action"].value() == "bulk_answer"
    assert sorted(response.context["kept_selection"]) == sorted(c.pk for c in industry[1:])
    # Shown once: the next visit to the queue starts empty.
    assert client.get(QUEUE).context["action_form"]["text"].value() in (None, "")

    answer["waive_reason"] = "配合单位逾期未回复，先行答复。"
    answer["_selected_action"] = [c.pk for c in industry[1:]]
    client.post(QUEUE, answer)
    assert set(
        Comment.objects.filter(pk__in=[c.pk for c in industry]).values_list("status", flat=True)
    ) == {"answered"}
    assert Comment.objects.get(pk=industry[1].pk).opinions_waived_reason == answer["waive_reason"]


def test_a_tracking_number_finds_its_comment_from_any_view(client, queue):
    """The default view is "my open comments"; a tracking number typed in any case, with or
    without dashes, still finds an answered comment, from any filter, if the user may see it."""
    ecology, industry = queue
    answered = ecology[2]
    Comment.objects.filter(pk=answered.pk).update(status="answered")
    client.force_login(member("sthj", "市生态环境局"))
    number = answered.tracking_number
    link = f"{QUEUE}{answered.pk}/change/"
    for typed in (
        number,
        number.lower(),
        f"{number[:5]}-{number[5:]}",
        f" {number[:3]} {number[3:]} ",
    ):
        for view in ({}, {"status__exact": "pending"}, {"scope": "all"}):
            page = client.get(QUEUE, {**view, "q": typed}).content.decode()
            assert link in page, (typed, view)
            assert f"{QUEUE}{ecology[0].pk}/change/" not in page
    # Only comments the user may see: another department's number finds nothing.
    theirs = industry[0]
    page = client.get(QUEUE, {"q": theirs.tracking_number.lower()}).content.decode()
    assert f"{QUEUE}{theirs.pk}/change/" not in page


def test_the_days_passed_are_beijing_calendar_days_as_on_the_change_page(weifang_open):
    """A comment of 23:30 showed 0 days the next morning (whole 24 hours), while its change
    page counted calendar days."""
    from django.contrib import admin

    comment = submit(weifang_open, "二(四)2", 1)
    late = timezone.localtime(timezone.now()).replace(hour=23, minute=30, second=0, microsecond=0)
    Comment.objects.filter(pk=comment.pk).update(submitted_at=late)
    comment.refresh_from_db()
    age = admin.site._registry[Comment].age
    with time_machine.travel(late + datetime.timedelta(minutes=29), tick=False):
        assert age(comment) == 0
    with time_machine.travel(late + datetime.timedelta(hours=10, minutes=30), tick=False):
        assert age(comment) == 1


@pytest.mark.parametrize(
    ("action", "missing", "said"),
    [
        ("bulk_decide", "decision", "请先选择处理意见。"),
        ("bulk_add_department", "department", "请先选择单位。"),
    ],
)
def test_an_action_missing_its_choice_keeps_what_was_typed_and_ticked(
    client, queue, action, missing, said
):
    """Only "choose one first" came back: the reason typed was gone and nothing was ticked."""
    _ecology, industry = queue
    client.force_login(member("gxj", "市工信局"))
    reason = "已有省级文件统一规定评价指标，本市不再另行规定。"
    ticked = [c.pk for c in industry[:2]]
    response = client.post(
        QUEUE,
        {"action": action, "_selected_action": ticked, "text": reason, missing: ""},
        follow=True,
    )
    assert said in response.content.decode()
    form = response.context["action_form"]
    assert form["text"].value() == reason and form["action"].value() == action
    assert sorted(response.context["kept_selection"]) == sorted(ticked)


def test_a_refusal_s_reasons_read_as_sentences_in_either_language():
    # Joined with "；" they read "…答复。；请填写…" and "…answering.; Write…".
    from consult.comments.admin.queue import sentences

    assert sentences(["请选择处理意见。", "请填写给提交人的答复。"]) == (
        "请选择处理意见。请填写给提交人的答复。"
    )
    assert sentences(["Choose a decision.", "Write the reply."]) == (
        "Choose a decision. Write the reply."
    )
