"""What the queue's pages tell staff: a bulk answer counts only what it changed, a letter
recorded for another department's clause lands where its recorder may go, and the department
that answers sees whether the citizen asked for a reply."""

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.comments.workflow import CommentChange, comment_change_apply
from tests.comments.test_admin_queue import QUEUE, member, submit

pytestmark = pytest.mark.django_db


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_a_bulk_answer_counts_only_the_comments_it_answered(client, weifang_open):
    answered, drafted = (submit(weifang_open, "二(四)2", n) for n in range(2))
    sthj = member("sthj", "市生态环境局")
    comment_change_apply(
        answered, sthj, CommentChange(status="answered", decision="explained", reply="已有规定。")
    )
    comment_change_apply(
        drafted, sthj, CommentChange(status="in_progress", decision="explained", reply="草拟。")
    )
    client.force_login(sthj)

    response = client.post(
        QUEUE + "?scope=all",
        {"action": "bulk_answer", "_selected_action": [answered.pk, drafted.pk], "text": ""},
    )

    assert messages_of(response) == [
        "已答复 1 条意见。",
        "1 条意见无需改动，未作修改：",
        f"{answered.tracking_number}：已是“已答复”。",
    ]
    assert Comment.objects.get(pk=drafted.pk).status == "answered"


def test_a_bulk_action_that_changes_nothing_does_not_report_success(client, weifang_open):
    comments = [submit(weifang_open, "二(四)2", n) for n in range(2)]
    sthj = member("sthj", "市生态环境局")
    for comment in comments:
        comment_change_apply(
            comment, sthj, CommentChange(status="answered", decision="explained", reply="已有。")
        )
    client.force_login(sthj)

    response = client.post(
        QUEUE + "?scope=all",
        {"action": "bulk_answer", "_selected_action": [c.pk for c in comments], "text": ""},
    )

    found = messages_of(response)
    assert found[0] == "2 条意见无需改动，未作修改：" and not any("已答复 " in m for m in found)


def test_start_in_bulk_starts_what_waits_and_reopens_nothing(client, weifang_open):
    """It moved every selected comment to 处理中, answered ones too: a reopening with no reason,
    and after the report one the report contradicts."""
    waiting, answered = (submit(weifang_open, "二(四)2", n) for n in range(2))
    sthj = member("sthj", "市生态环境局")
    comment_change_apply(
        answered, sthj, CommentChange(status="answered", decision="explained", reply="已有规定。")
    )
    client.force_login(sthj)

    response = client.post(
        QUEUE + "?scope=all",
        {"action": "bulk_start", "_selected_action": [waiting.pk, answered.pk], "index": 0},
    )

    assert messages_of(response) == [
        "1 条意见改为处理中。",
        "1 条意见无需改动，未作修改：",
        f"{answered.tracking_number}：已是“已答复”；如需重新办理，请在意见页面改回“处理中”。",
    ]
    assert Comment.objects.get(pk=answered.pk).status == "answered"
    assert Comment.objects.get(pk=waiting.pk).status == "in_progress"


def test_bulk_actions_on_an_invalid_comment_say_it_goes_back_to_pending(client, weifang_open):
    """They said "请先改回“处理中”", a status an invalid comment cannot take."""
    invalid, waiting = (submit(weifang_open, "二(四)2", n) for n in range(2))
    sthj = member("sthj", "市生态环境局")
    comment_change_apply(invalid, sthj, CommentChange(status="invalid", invalid_reason="广告"))
    client.force_login(sthj)

    marked = client.post(
        QUEUE + "?scope=all",
        {
            "action": "bulk_mark_invalid",
            "_selected_action": [invalid.pk, waiting.pk],
            "index": 0,
            "text": "与草案无关",
        },
    )
    assert messages_of(marked) == [
        "已将 1 条意见标记为无效。",
        "1 条意见无需改动，未作修改：",
        f"{invalid.tracking_number}：已是“无效”；如需重新办理，请在意见页面改回“待处理”。",
    ]
    decided = client.post(
        QUEUE + "?scope=all",
        {
            "action": "bulk_decide",
            "_selected_action": [invalid.pk],
            "index": 0,
            "decision": "adopted",
        },
    )
    assert messages_of(decided)[-1] == (
        f"{invalid.tracking_number}：这条意见已标记为无效；如需办理，请先改回“待处理”。"
    )


def test_a_department_is_not_added_to_a_finished_comment(weifang_open):
    """It was told "以下意见已转给贵单位办理" of a comment with nothing left to do, and then
    refused its opinion."""
    from django.core.exceptions import ValidationError

    from consult.consultations.models import Department

    comment = submit(weifang_open, "二(四)2", 1)
    sthj = member("sthj", "市生态环境局")
    comment_change_apply(
        comment, sthj, CommentChange(status="answered", decision="explained", reply="已有规定。")
    )
    with pytest.raises(ValidationError) as refused:
        comment_change_apply(
            comment,
            sthj,
            CommentChange(
                route_to=Department.objects.get(name="市发改委"), route_reason="请补充意见。"
            ),
        )
    assert "已办结，不能再转办或增加单位" in refused.value.message_dict["route_to"][0]
    assert comment.routes.count() == 1


def letter(consultation, label, form, **extra):
    return {
        "consultation": consultation.pk,
        "clause": consultation.clauses.get(label=label).pk,
        "channel": "letter",
        "received_on": timezone.localdate().isoformat(),
        "body": "来信：建议加强海洋生态环境保护，严格控制围填海。",
        "submitter_name": "李四",
        "submitter_kind": "individual",
        "phone": "13812349999",
        "page_key": form["page_key"].value(),
        **extra,
    }


def test_a_letter_for_another_departments_clause_lands_on_the_queue_told_where_it_went(
    client, weifang_open
):
    # 市财政局 cooperates on 二(三)4, so it records letters on this consultation; 二(四)2 is
    # 市生态环境局's alone.
    client.force_login(member("czj", "市财政局"))
    form = client.get(QUEUE + "add/").context["adminform"].form

    response = client.post(
        QUEUE + "add/", letter(weifang_open, "二(四)2", form, _continue="1"), follow=True
    )

    comment = Comment.objects.get()
    assert response.redirect_chain == [(QUEUE, 302)]
    assert messages_of(response) == [
        f"已登记，查询码 {comment.tracking_number}，已分办给市生态环境局。"
        "这条意见不由您的单位办理，您无法再打开它。"
    ]
    # Told where it went, not let in.
    assert client.get(f"{QUEUE}{comment.pk}/change/").status_code == 302


def test_a_letter_recorded_with_add_another_opens_a_new_letter(client, weifang_open):
    client.force_login(member("czj", "市财政局"))
    form = client.get(QUEUE + "add/").context["adminform"].form

    response = client.post(QUEUE + "add/", letter(weifang_open, "二(四)2", form, _addanother="1"))

    assert response.status_code == 302 and response["Location"] == QUEUE + "add/"


def test_a_letter_the_recorder_handles_opens_as_before(client, weifang_open):
    client.force_login(member("czj", "市财政局"))
    form = client.get(QUEUE + "add/").context["adminform"].form

    response = client.post(QUEUE + "add/", letter(weifang_open, "二(三)4", form, _continue="1"))

    assert response["Location"] == f"{QUEUE}{Comment.objects.get().pk}/change/"


def wishing(consultation, **contact):
    return comment_submit(
        consultation=consultation,
        clause=consultation.clauses.get(label="二(三)4"),  # 市工信局 answers, 市财政局 cooperates
        body="建议明确集聚区的评价指标，请电话答复。",
        channel="web",
        consent=True,
        wants_reply=True,
        submitter_name="赵六",
        **contact,
    ).comment


TELEPHONE = "提交人希望收到答复，但没有留电子邮箱：请电话答复。"


def shown_value(response, name):
    """A read-only field's value as the change page shows it."""
    for fieldset in response.context["adminform"]:
        for line in fieldset:
            for field in line:
                if field.field["name"] == name:
                    return str(field.contents())
    raise LookupError(name)


def test_the_answering_department_sees_the_wish_for_a_reply_by_telephone(client, weifang_open):
    comment = wishing(weifang_open, phone="13812340001")
    client.force_login(member("gxj", "市工信局"))

    page = client.get(f"{QUEUE}{comment.pk}/change/").content.decode()

    assert "希望得到答复" in page and f"<strong>{TELEPHONE}</strong>" in page


def test_with_an_address_the_wish_is_shown_without_the_telephone_note(client, weifang_open):
    comment = wishing(weifang_open, email="zhao@example.cn")
    client.force_login(member("gxj", "市工信局"))

    response = client.get(f"{QUEUE}{comment.pk}/change/")

    assert "希望得到答复" in response.content.decode()
    assert TELEPHONE not in response.content.decode()
    assert shown_value(response, "reply_wish") == "是"


def test_a_cooperating_department_is_not_shown_the_wish(client, weifang_open):
    comment = wishing(weifang_open, phone="13812340001")
    client.force_login(member("czj", "市财政局"))

    page = client.get(f"{QUEUE}{comment.pk}/change/").content.decode()

    assert "希望得到答复" not in page and TELEPHONE not in page
