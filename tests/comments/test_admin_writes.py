"""Every field of a comment is written through the workflow, by whoever's standing allows it.

Issue 15, item 3: a cooperating department POSTed `decision_reason` (and `invalid_reason`) to an
answered comment's change view. Both were saved, the reason shown on the public status page,
and no history event was written: `change_problems` never asked who may give a reason, and
`comment_change_apply` wrote the two reasons without recording them.
"""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from consult.comments.admin.forms import CommentWorkForm
from consult.comments.models import Comment, CommentEvent
from consult.comments.services import comment_submit
from consult.comments.workflow import CommentChange, comment_change_apply
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from tests.comments.test_admin_queue import change_form_data

pytestmark = pytest.mark.django_db

QUEUE = "/admin/comments/comment/"
CLAUSE = "二(一)1"  # 市发改委 answers (the owner), 市科技局 cooperates; 市海渔局 issued it.
WORKED = ["status", "decision", "decision_reason", "reply", "invalid_reason", "replied_at"]


def member(username, department_name):
    user = User.objects.create_user(username, password="pw", email=f"{username}@gov.example")
    staff_join(user, Department.objects.get(name=department_name))
    return user


@pytest.fixture
def users(weifang_open):
    return {
        "owner": member("fgw", "市发改委"),
        "cooperating": member("kjj", "市科技局"),
        "coordinator": member("hyj", "市海渔局"),
    }


@pytest.fixture
def answered(weifang_open, users):
    """A comment on 二(一)1 the lead has answered: not adopted, with a reason."""
    comment = comment_submit(
        consultation=weifang_open,
        clause=weifang_open.clauses.get(label=CLAUSE),
        body="建议明确集聚区的评价指标并公开评选结果。",
        channel="web",
        consent=True,
        email="citizen@example.cn",
        submitter_name="王五",
    ).comment
    routes = {(r.department.name, r.is_owner) for r in comment.routes.select_related("department")}
    assert ("市发改委", True) in routes and ("市科技局", False) in routes
    comment_change_apply(comment, users["cooperating"], CommentChange(opinion="同意。"))
    comment_change_apply(
        comment,
        users["owner"],
        CommentChange(
            status="answered",
            decision="not_adopted",
            decision_reason="评价指标已由省级文件规定。",
            reply="感谢您的建议。评价指标按省级文件执行。",
            waive_reason="其他配合单位已口头同意。",
        ),
    )
    comment.refresh_from_db()
    assert comment.status == "answered"
    return comment


def snapshot(comment):
    row = Comment.objects.values(*WORKED).get(pk=comment.pk)
    events = list(
        CommentEvent.objects.filter(comment=comment).values_list("kind", "before", "after", "text")
    )
    return row, events


COOPERATING_WRITES = [
    pytest.param({"decision_reason": "配合单位改写的理由。"}, id="decision_reason"),
    pytest.param({"invalid_reason": "配合单位认为无关。"}, id="invalid_reason"),
    pytest.param({"reply": "配合单位改写的答复。"}, id="reply"),
    pytest.param({"decision": "adopted"}, id="decision"),
    pytest.param(
        {"decision": "adopted", "decision_reason": "改为采纳。", "reply": "已采纳。"},
        id="the-whole-answer",
    ),
]


@pytest.mark.parametrize("changes", COOPERATING_WRITES)
def test_a_cooperating_department_cannot_rewrite_the_answer_in_the_change_view(
    client, answered, users, changes
):
    client.force_login(users["cooperating"])
    data = change_form_data(client, answered, **changes)
    before = snapshot(answered)

    response = client.post(f"{QUEUE}{answered.pk}/change/", data)

    assert response.status_code in (200, 403)
    if response.status_code == 200:
        assert response.context["adminform"].form.errors
    assert snapshot(answered) == before  # the comment as it was; no event either


@pytest.mark.parametrize("changes", COOPERATING_WRITES)
def test_the_workflow_refuses_what_the_standing_does_not_allow(answered, users, changes):
    before = snapshot(answered)
    with pytest.raises(ValidationError) as refused:
        comment_change_apply(answered, users["cooperating"], CommentChange(**changes))
    assert refused.value.message_dict
    assert snapshot(answered) == before


def test_a_cooperating_department_cannot_give_a_reason_on_an_open_comment_either(answered, users):
    comment_change_apply(answered, users["owner"], CommentChange(status="in_progress"))
    before = snapshot(answered)
    for changes in ({"decision_reason": "配合单位的理由。"}, {"invalid_reason": "无关。"}):
        with pytest.raises(ValidationError):
            comment_change_apply(answered, users["cooperating"], CommentChange(**changes))
    assert snapshot(answered) == before


def test_an_invalid_reason_goes_only_with_marking_the_comment_invalid(answered, users):
    comment_change_apply(answered, users["owner"], CommentChange(status="in_progress"))
    before = snapshot(answered)
    with pytest.raises(ValidationError) as refused:
        comment_change_apply(
            answered, users["coordinator"], CommentChange(invalid_reason="与本草案无关。")
        )
    assert "invalid_reason" in refused.value.message_dict
    assert snapshot(answered) == before

    comment_change_apply(
        answered, users["coordinator"], CommentChange(status="invalid", invalid_reason="广告。")
    )
    answered.refresh_from_db()
    assert (answered.status, answered.invalid_reason) == ("invalid", "广告。")
    event = answered.events.order_by("-pk").first()
    assert (event.kind, event.after, event.text) == ("status", "invalid", "广告。")


def test_the_lead_changes_the_reason_of_an_answer_only_after_reopening_it(client, answered, users):
    client.force_login(users["owner"])
    before = snapshot(answered)
    data = change_form_data(client, answered, decision_reason="新的理由。")
    response = client.post(f"{QUEUE}{answered.pk}/change/", data)
    assert response.status_code == 200 and response.context["adminform"].form.errors
    assert snapshot(answered) == before

    data = change_form_data(client, answered, status="in_progress", decision_reason="新的理由。")
    response = client.post(f"{QUEUE}{answered.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    answered.refresh_from_db()
    assert (answered.status, answered.decision_reason) == ("in_progress", "新的理由。")
    new = snapshot(answered)[1][len(before[1]) :]
    assert sorted(new) == [
        ("decision", "not_adopted", "not_adopted", "新的理由。"),
        ("status", "answered", "in_progress", ""),
    ]


def test_the_lead_changing_the_reason_records_a_history_event(answered, users):
    comment_change_apply(answered, users["owner"], CommentChange(status="in_progress"))
    count = answered.events.count()

    comment_change_apply(answered, users["owner"], CommentChange(decision_reason="更新后的理由。"))

    answered.refresh_from_db()
    assert answered.decision_reason == "更新后的理由。"
    assert answered.events.count() == count + 1
    event = answered.events.order_by("-pk").first()
    assert (event.kind, event.before, event.after, event.text, event.actor) == (
        "decision",
        "not_adopted",
        "not_adopted",
        "更新后的理由。",
        users["owner"],
    )


def test_the_change_form_writes_nothing_onto_the_comment(answered, users):
    """The form is a request to the workflow: validating it leaves the instance as it was."""
    comment = Comment.objects.get(pk=answered.pk)
    form_class = type(
        "Form",
        (CommentWorkForm,),
        {
            "user": users["cooperating"],
            "Meta": type("Meta", (), {"model": Comment, "fields": WORKED[:-1]}),
        },
    )
    form = form_class(
        data={
            "status": "answered",
            "decision": "adopted",
            "decision_reason": "配合单位改写的理由。",
            "reply": "配合单位改写的答复。",
            "invalid_reason": "无关。",
        },
        instance=comment,
    )
    assert not form.is_valid()
    assert (comment.decision, comment.decision_reason, comment.reply, comment.invalid_reason) == (
        "not_adopted",
        "评价指标已由省级文件规定。",
        "感谢您的建议。评价指标按省级文件执行。",
        "",
    )
