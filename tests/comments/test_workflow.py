"""Working a comment: who may change what, the transitions, opinions, history and mail."""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from consult.comments.models import Comment, CommentEvent, CommentRouting
from consult.comments.services import comment_submit
from consult.comments.status_links import tracking_number_from_token
from consult.comments.workflow import CommentChange, comment_change_apply
from consult.consultations.models import Department, Membership
from consult.consultations.services import staff_join
from consult.notifications.models import Notification

pytestmark = pytest.mark.django_db


def staff(username, department_name=None, **extra):
    user = get_user_model().objects.create_user(username, is_staff=True, **extra)
    if department_name:
        Membership.objects.create(
            user=user, department=Department.objects.get(name=department_name)
        )
    return user


@pytest.fixture
def people(weifang_open):
    return {
        "owner": staff("gxj-handler", "市工信局"),  # 二(三)4: 市工信局 leads
        "finance": staff("czj-handler", "市财政局"),  # cooperates
        "data": staff("dsjj-handler", "市大数据局"),  # cooperates
        "coordinator": staff("hyj-handler", "市海渔局"),  # issued the notice
        "outsider": staff("sthj-handler", "市生态环境局"),
        "root": get_user_model().objects.create_superuser("root", "root@example.cn", "pw"),
    }


@pytest.fixture
def comment(weifang_open, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submission = comment_submit(
            consultation=weifang_open,
            clause=weifang_open.clauses.get(label="二(三)4"),
            body="建议在数字化转型专项中明确中小企业的申报条件。",
            channel="web",
            consent=True,
            email="citizen@example.cn",
            submitter_name="王五",
        )
    mail.outbox.clear()
    return submission.comment


# Answered without waiting for the cooperating departments, as a superuser may.
FIRST_ANSWER = {
    "status": "answered",
    "decision": "adopted",
    "reply": "第一次答复。",
    "waive_reason": "急",
}


def work(comment, user, capture=None, **changes):
    return comment_change_apply(comment, user, CommentChange(**changes))


def problems(comment, user, **changes):
    with pytest.raises(ValidationError) as caught:
        comment_change_apply(comment, user, CommentChange(**changes))
    return caught.value.message_dict


def test_the_owner_answers_once_every_cooperating_department_has_spoken(
    comment, people, django_capture_on_commit_callbacks
):
    answer = {"status": "answered", "decision": "adopted", "reply": "感谢建议，已在第三条中补充。"}
    refused = problems(comment, people["owner"], **answer)
    assert "市财政局、市大数据局" in refused["waive_reason"][0]
    assert Comment.objects.get(pk=comment.pk).status == "pending"

    work(comment, people["finance"], opinion="同意补充申报条件。")
    work(comment, people["data"], opinion="建议同时明确数据安全要求。")
    with django_capture_on_commit_callbacks(execute=True):
        work(comment, people["owner"], **answer)

    comment.refresh_from_db()
    assert (comment.status, comment.decision) == ("answered", "adopted")
    assert comment.replied_at is not None
    history = list(comment.events.values_list("kind", "before", "after"))
    assert ("status", "pending", "answered") in history
    assert ("decision", "", "adopted") in history
    assert [kind for kind, *_ in history].count("opinion") == 2
    assert comment.events.filter(kind="reply", actor=people["owner"]).exists()
    # The citizen is mailed the answer through the outbox.
    (reply,) = [m for m in mail.outbox if m.to == ["citizen@example.cn"]]
    assert "感谢建议，已在第三条中补充。" in reply.body
    assert "采纳" in reply.body
    assert Notification.objects.get(kind="reply").status == "sent"
    # With the signed link to the comment's status page, made when the email was built.
    link = next(line for line in reply.body.splitlines() if "/comments/" in line).strip()
    assert tracking_number_from_token(link.rstrip("/").rsplit("/", 1)[1]) == (
        comment.tracking_number
    )


def test_the_reply_email_gives_the_reason_for_the_decision(
    comment, people, django_capture_on_commit_callbacks
):
    """The status page shows a decision's reason beside it; the email the citizen is sent
    gives it too, or a "not adopted" comes without the why."""
    work(comment, people["finance"], opinion="同意。")
    work(comment, people["data"], opinion="同意。")
    reason = "该事项已由《山东省海洋生态环境保护条例》规定，本方案不再重复。"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        work(
            comment,
            people["owner"],
            status="answered",
            decision="not_adopted",
            decision_reason=reason,
            reply="感谢您的关注。",
        )

    (reply,) = [m for m in mail.outbox if m.to == ["citizen@example.cn"]]
    assert f"理由：{reason}" in reply.body
    assert reason in reply.alternatives[0][0]


def test_the_owner_may_proceed_without_an_opinion_with_a_reason(comment, people):
    work(comment, people["finance"], opinion="同意。")
    work(
        comment,
        people["owner"],
        status="answered",
        decision="explained",
        reply="该事项已有规定，详见相关文件。",
        waive_reason="市大数据局逾期未回复，答复期限将至。",
    )
    comment.refresh_from_db()
    assert comment.status == "answered"
    assert comment.events.filter(kind="waived").exists()


def test_a_department_asked_after_the_reason_not_to_wait_is_waited_for(comment, people):
    """The reason was given for 市财政局 and 市大数据局; 市科技局, asked afterwards, was not
    waited for (nor listed as owing its opinion, nor reminded)."""
    from consult.comments.reminders import opinion_awaited

    work(comment, people["owner"], status="in_progress", waive_reason="两个配合单位逾期未回复。")
    technology = Department.objects.get(name="市科技局")
    work(
        comment,
        people["coordinator"],
        route_to=technology,
        route_reason="涉及科技创新，请市科技局提出意见。",
    )
    comment.refresh_from_db()
    assert comment.opinions_waived_reason == ""
    awaited = comment.routes.filter(opinion_awaited())
    assert set(awaited.values_list("department__name", flat=True)) == {
        "市财政局",
        "市大数据局",
        "市科技局",
    }
    refused = problems(
        comment, people["owner"], status="answered", decision="adopted", reply="已采纳。"
    )
    assert "市科技局" in refused["waive_reason"][0]
    lapsed = comment.events.filter(kind="waived").order_by("pk").last()
    assert lapsed.text == ""
    # Waived again, knowingly, it answers.
    work(
        comment,
        people["owner"],
        status="answered",
        decision="adopted",
        reply="已采纳。",
        waive_reason="答复期限将至，三个单位均未回复。",
    )
    comment.refresh_from_db()
    assert comment.status == "answered"


def test_a_member_of_two_cooperating_departments_says_whose_opinion_it_is(comment, people):
    """Each opinion was saved as the first department's: the second overwrote the first, and
    the other department stayed "not replied" for good."""
    both = staff("czj-dsjj", "市财政局")
    Membership.objects.create(user=both, department=Department.objects.get(name="市大数据局"))
    finance = Department.objects.get(name="市财政局")
    data = Department.objects.get(name="市大数据局")
    refused = problems(comment, both, opinion="同意。")
    assert "请选择以哪个单位的名义" in refused["opinion_department"][0]
    refused = problems(
        comment,
        both,
        opinion="同意。",
        opinion_department=Department.objects.get(name="市生态环境局"),
    )
    assert "opinion_department" in refused
    work(comment, both, opinion="财政局意见：同意补贴。", opinion_department=finance)
    work(comment, both, opinion="大数据局意见：同意。", opinion_department=data)
    assert dict(comment.opinions.values_list("department__name", "text")) == {
        "市财政局": "财政局意见：同意补贴。",
        "市大数据局": "大数据局意见：同意。",
    }
    # Nothing is missing: the owner answers without a reason not to wait.
    work(comment, people["owner"], status="answered", decision="adopted", reply="已采纳。")


def test_the_change_page_asks_a_member_of_two_cooperating_departments_which(
    client, comment, people
):
    both = get_user_model().objects.create_user("czj-dsjj", password="pw")
    for name in ("市财政局", "市大数据局"):
        staff_join(both, Department.objects.get(name=name))
    client.force_login(both)
    page = client.get(f"/admin/comments/comment/{comment.pk}/change/")
    field = page.context["adminform"].form.fields["opinion_department"]
    assert {d.name for d in field.queryset} == {"市财政局", "市大数据局"}
    from tests.comments.test_admin_queue import change_form_data

    data = Department.objects.get(name="市大数据局")
    posted = change_form_data(client, comment, opinion="同意。", opinion_department=data.pk)
    saved = client.post(f"/admin/comments/comment/{comment.pk}/change/", posted)
    assert saved.status_code == 302
    assert list(comment.opinions.values_list("department__name", flat=True)) == ["市大数据局"]
    one = get_user_model().objects.create_user("czj-only", password="pw")
    staff_join(one, Department.objects.get(name="市财政局"))
    client.force_login(one)
    page = client.get(f"/admin/comments/comment/{comment.pk}/change/")
    assert page.status_code == 200
    assert 'name="opinion_department"' not in page.content.decode()
    assert 'name="opinion"' in page.content.decode()


def test_only_the_owner_answers(comment, people):
    for who in ("finance", "coordinator"):
        refused = problems(comment, people[who], decision="adopted", reply="答复。")
        assert "只有负责答复的单位" in " ".join(
            m for messages in refused.values() for m in messages
        )
    refused = problems(comment, people["coordinator"], status="answered")
    assert refused["status"] == ["只有负责答复的单位可以答复这条意见。"]
    with pytest.raises(PermissionDenied):
        work(comment, people["outsider"], note="看看")
    refused = problems(comment, people["owner"], opinion="我的意见")
    assert refused["opinion"] == ["只有配合单位可以填写配合意见。"]


def test_not_adopted_needs_a_reason_and_invalid_needs_a_reason(comment, people):
    refused = problems(comment, people["owner"], decision="not_adopted")
    assert refused["decision_reason"] == ["不予采纳时请说明理由。"]
    work(comment, people["owner"], decision="not_adopted", decision_reason="与上位法规定不符。")
    refused = problems(comment, people["coordinator"], status="invalid")
    assert "invalid_reason" in refused
    work(comment, people["coordinator"], status="invalid", invalid_reason="与本草案无关。")
    comment.refresh_from_db()
    assert (comment.status, comment.invalid_reason) == ("invalid", "与本草案无关。")
    work(comment, people["coordinator"], status="pending")
    comment.refresh_from_db()
    assert (comment.status, comment.invalid_reason) == ("pending", "")


def test_staff_texts_follow_the_citizens_rules_on_every_path(comment, people, client):
    """Control characters are refused as in a citizen's comment, and an invalid reason over
    its column's 300 characters is a message: the bulk action, whose text box has no limit of
    its own, used to fail with a database error (a 500) on PostgreSQL."""
    refused = problems(comment, people["owner"], reply="第一页\x0c第二页")
    assert refused["reply"] == ["内容含有不可见的控制字符，请删除后重新提交。"]
    refused = problems(comment, people["coordinator"], note="备注\x07")
    assert list(refused) == ["note"]
    too_long = "与本草案无关" * 51
    refused = problems(comment, people["coordinator"], status="invalid", invalid_reason=too_long)
    assert refused["invalid_reason"] == ["最多 300 个字符（现有 306 个）。"]

    owner = get_user_model().objects.create_user("gxj-queue", password="pw")
    staff_join(owner, Department.objects.get(name="市工信局"))  # as the queue's users join
    client.force_login(owner)
    response = client.post(
        "/admin/comments/comment/",
        {"action": "bulk_mark_invalid", "_selected_action": [comment.pk], "text": too_long},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert f"{comment.tracking_number}：最多 300 个字符（现有 306 个）。" in page
    comment.refresh_from_db()
    assert (comment.status, comment.invalid_reason) == ("pending", "")


def test_transitions_are_checked_in_one_place(comment, people, django_capture_on_commit_callbacks):
    root = people["root"]
    with django_capture_on_commit_callbacks(execute=True):
        work(comment, root, **FIRST_ANSWER)
    refused = problems(comment, root, status="pending")
    assert refused["status"] == ["不能从“已答复”改为“待处理”。"]
    refused = problems(comment, root, reply="改一下")
    assert "请先改回“处理中”" in refused["status"][0]
    # Reopen, correct and answer again: the citizen gets the corrected reply too. Reopened,
    # it has no answer time (the export's 答复时间 is the answer's in force), then the new one.
    work(comment, root, status="in_progress", note="答复有误，重新办理。")
    comment.refresh_from_db()
    assert comment.replied_at is None
    with django_capture_on_commit_callbacks(execute=True):
        work(comment, root, status="answered", reply="更正后的答复。")
    comment.refresh_from_db()
    assert comment.replied_at is not None
    replies = [m for m in mail.outbox if m.to == ["citizen@example.cn"]]
    assert [("第一次答复。" in m.body, "更正后的答复。" in m.body) for m in replies] == [
        (True, False),
        (False, True),
    ]
    assert comment.events.filter(kind="note", text="答复有误，重新办理。").exists()


def test_an_answer_taken_back_before_its_email_is_built_is_not_mailed(
    comment, people, django_capture_on_commit_callbacks
):
    """The reply email reads the answer when it is built: reopened first (the broker down, a
    backlog), it went out as "已有答复" with the answer being reworked, or none."""
    root = people["root"]
    with django_capture_on_commit_callbacks(execute=False):  # not delivered yet
        work(comment, root, **FIRST_ANSWER)
    work(comment, root, status="in_progress", decision="", reply="", note="答复有误，重新办理。")
    assert not Notification.objects.filter(comment=comment, kind="reply").exists()
    with django_capture_on_commit_callbacks(execute=True):
        work(comment, root, status="answered", decision="adopted", reply="更正后的答复。")
    replies = [m for m in mail.outbox if m.to == ["citizen@example.cn"]]
    assert len(replies) == 1 and "更正后的答复。" in replies[0].body


def test_a_draft_answer_is_not_shown_to_the_citizen_until_answered(comment, people, client):
    work(comment, people["owner"], status="in_progress", decision="adopted", reply="草稿答复")
    response = client.get(
        f"/api/comments/{comment.tracking_number}/status", {"email": "citizen@example.cn"}
    )
    assert response.json()["reply"] is None and response.json()["decision"] is None


def test_routing_on_to_another_department(comment, people, django_capture_on_commit_callbacks):
    ecology = Department.objects.get(name="市生态环境局")
    refused = problems(comment, people["coordinator"], route_to=ecology, make_owner=True)
    assert "route_reason" in refused
    with django_capture_on_commit_callbacks(execute=True):
        work(
            comment,
            people["coordinator"],
            route_to=ecology,
            make_owner=True,
            route_reason="涉及海洋生态保护，由市生态环境局牵头答复。",
        )
    routes = {r.department.name: (r.role, r.is_owner) for r in comment.routes.all()}
    assert routes["市生态环境局"] == ("lead", True)
    assert routes["市工信局"] == ("cooperating", False)
    assert CommentRouting.objects.filter(comment=comment, is_owner=True).count() == 1
    # The new owner is told, with the submitter's contact details (it answers now).
    (message,) = [m for m in mail.outbox if "sthjj@weifang.example" in m.to]
    assert "涉及海洋生态保护" in message.body
    assert "citizen@example.cn" in message.body
    # It can now work the comment; the old owner no longer answers.
    work(comment, people["outsider"], status="in_progress")
    assert "status" in problems(comment, people["owner"], status="answered")
    event = CommentEvent.objects.get(comment=comment, kind="routed")
    assert (event.actor, event.department) == (people["coordinator"], ecology)

    refused = problems(comment, people["coordinator"], route_to=ecology, route_reason="再转")
    assert refused["route_to"] == ["这条意见已经分办给该部门。"]


def test_a_cooperating_department_added_does_not_see_contact_details(
    comment, people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        work(
            comment,
            people["owner"],
            route_to=Department.objects.get(name="市生态环境局"),
            route_reason="请提供生态方面意见。",
        )
    (message,) = [m for m in mail.outbox if "sthjj@weifang.example" in m.to]
    assert "citizen@example.cn" not in message.body and "王五" not in message.body
    assert "请提供生态方面意见。" in message.body


@pytest.mark.django_db(transaction=True)
def test_a_change_to_a_comment_does_not_hold_up_new_comments_on_its_consultation(comment, people):
    """FOR UPDATE without OF locked the consultation's row too: every citizen's comment on the
    consultation (its foreign key check takes FOR KEY SHARE) waited for the member of staff's
    transaction, and against the campaign job's lock order it could deadlock."""
    from django.db import OperationalError, connection, connections, transaction

    if connection.vendor != "postgresql":
        pytest.skip("SQLite locks the whole database instead")
    citizen = connections.create_connection("default")
    try:
        with transaction.atomic():
            work(comment, people["owner"], reply="感谢您的建议，我们将研究。")
            with citizen.cursor() as cursor:
                try:
                    cursor.execute(
                        "SELECT 1 FROM consultations_consultation WHERE id = %s"
                        " FOR KEY SHARE NOWAIT",
                        [comment.consultation_id],
                    )
                except OperationalError as error:
                    pytest.fail(f"a new comment would wait for the change: {error}")
                # The comment's own row is locked, as it must be.
                with pytest.raises(OperationalError):
                    cursor.execute(
                        "SELECT 1 FROM comments_comment WHERE id = %s FOR UPDATE NOWAIT",
                        [comment.pk],
                    )
    finally:
        citizen.close()


@pytest.mark.parametrize("make_owner", [False, True])
def test_a_comment_is_not_finished_and_sent_on_in_one_change(comment, people, make_owner):
    """Answered (or marked invalid) and given to another department in the same save: the
    department was told to answer, or to give an opinion, on a comment nothing could be done
    about any more, and a comment passed on answered was owned by one that never answered it
    (found by a review). Only a finished comment was refused that before."""
    ecology = Department.objects.get(name="市生态环境局")
    sent_on = {"route_to": ecology, "make_owner": make_owner, "route_reason": "涉及生态保护。"}
    refused = problems(comment, people["owner"], **FIRST_ANSWER, **sent_on)
    assert refused["route_to"] == [
        "答复或标记无效时不能同时转办或增加单位：请先转办或增加单位，再办结。"
    ]
    refused = problems(
        comment, people["coordinator"], status="invalid", invalid_reason="广告。", **sent_on
    )
    assert "route_to" in refused
    comment.refresh_from_db()
    assert comment.status == "pending" and not comment.routes.filter(department=ecology)
    assert not Notification.objects.filter(comment=comment, kind="reassigned").exists()
    # One change after the other: sent on, then answered by whoever answers it now.
    work(comment, people["coordinator"], **sent_on)
    answerer = people["outsider"] if make_owner else people["owner"]
    work(comment, answerer, **FIRST_ANSWER)
    assert Comment.objects.get(pk=comment.pk).status == "answered"


def test_a_comment_moved_to_another_clause_waits_for_that_clause_s_departments(comment, people):
    """The reason not to wait, given for the departments of 二(三)4, stayed with the comment
    moved to 二(一)1: that clause's cooperating departments were never waited for, reminded,
    or listed as owing an opinion (found by a review)."""
    from consult.comments.references import comment_move_to_clause

    work(comment, people["owner"], waive_reason="财政局已电话答复，不再等待。")
    comment_move_to_clause(
        comment, comment.consultation.clauses.get(label="二(一)1"), by=people["coordinator"]
    )
    comment.refresh_from_db()
    assert comment.opinions_waived_reason == ""
    waived = CommentEvent.objects.get(comment=comment, kind="waived", text="")
    from consult.comments.workflow import event_in_words

    assert "改为对其他条款的意见" in event_in_words(waived)
    owner = staff("fgw-handler", "市发改委")  # answers 二(一)1
    refused = problems(comment, owner, status="answered", decision="adopted", reply="采纳。")
    assert "waive_reason" in refused
