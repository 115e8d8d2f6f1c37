"""An answer's parts the staff member empties are emptied: on the change page and by the bulk
decision, with history, and refused where the rules need them."""

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError

from consult.comments.models import Comment, CommentEvent
from consult.comments.workflow import CommentChange, comment_change_apply, event_in_words
from tests.comments.test_admin_queue import QUEUE, change_form_data, member, submit

pytestmark = pytest.mark.django_db

NOT_ADOPTED_REASON = "与上位法规定不一致。"


@pytest.fixture
def ecology(weifang_open):
    """A comment on 二(四)2, which 市生态环境局 alone answers, and one of its staff."""
    return submit(weifang_open, "二(四)2", 1), member("sthj", "市生态环境局")


def decided(comment, user, decision, reason):
    return comment_change_apply(
        comment,
        user,
        CommentChange(status="in_progress", decision=decision, decision_reason=reason),
    )


def post_change(client, comment, **changes):
    data = change_form_data(client, comment, **changes)
    return client.post(f"{QUEUE}{comment.pk}/change/", data)


def test_a_reason_emptied_on_the_change_page_is_gone_with_the_answer(client, ecology):
    comment, sthj = ecology
    decided(comment, sthj, "not_adopted", NOT_ADOPTED_REASON)
    client.force_login(sthj)

    response = post_change(
        client,
        comment,
        status="answered",
        decision="adopted",
        decision_reason="",
        reply="您的建议已采纳，将在方案中补充评价指标。",
    )

    assert response.status_code == 302
    comment.refresh_from_db()
    assert (comment.status, comment.decision, comment.decision_reason) == (
        "answered",
        "adopted",
        "",
    )
    latest = comment.events.filter(kind=CommentEvent.Kind.DECISION).latest("pk")
    assert (latest.before, latest.after, latest.text) == ("adopted", "adopted", "")
    assert event_in_words(latest) == "采纳（理由已删除）"


def test_a_reason_the_decision_needs_cannot_be_emptied(client, ecology):
    comment, sthj = ecology
    decided(comment, sthj, "not_adopted", NOT_ADOPTED_REASON)
    client.force_login(sthj)

    response = post_change(client, comment, decision_reason="")

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["decision_reason"] == [
        "不予采纳时请说明理由。"
    ]
    comment.refresh_from_db()
    assert comment.decision_reason == NOT_ADOPTED_REASON


def test_a_new_decision_keeps_the_reason_left_in_its_box(client, ecology):
    comment, sthj = ecology
    decided(comment, sthj, "partly_adopted", "部分内容已有规定。")
    client.force_login(sthj)

    assert post_change(client, comment, decision="adopted").status_code == 302

    comment.refresh_from_db()
    assert (comment.decision, comment.decision_reason) == ("adopted", "部分内容已有规定。")


def test_an_emptied_reply_and_decision_are_emptied_and_recorded(client, ecology):
    comment, sthj = ecology
    comment_change_apply(
        comment,
        sthj,
        CommentChange(status="in_progress", decision="explained", reply="草拟的答复。"),
    )
    client.force_login(sthj)

    assert post_change(client, comment, decision="", reply="").status_code == 302

    comment.refresh_from_db()
    assert (comment.decision, comment.reply) == ("", "")
    words = [event_in_words(e) for e in comment.events.order_by("pk")][-2:]
    assert words == ["已说明 → —", "已删除"]


def test_fields_the_page_does_not_show_are_not_emptied(client, weifang_open):
    """A cooperating department is not shown the answer: its save leaves it as it is."""
    comment = submit(weifang_open, "二(三)4", 2)
    owner = member("gxj", "市工信局")
    decided(comment, owner, "not_adopted", NOT_ADOPTED_REASON)
    client.force_login(member("czj", "市财政局"))

    assert post_change(client, comment, opinion="同意。").status_code == 302

    comment.refresh_from_db()
    assert (comment.decision, comment.decision_reason) == ("not_adopted", NOT_ADOPTED_REASON)


def test_an_answered_comment_is_reopened_before_its_reason_is_emptied(ecology):
    comment, sthj = ecology
    decided(comment, sthj, "partly_adopted", "部分内容已有规定。")
    comment_change_apply(comment, sthj, CommentChange(status="answered", reply="已答复。"))

    with pytest.raises(ValidationError) as refused:
        comment_change_apply(comment, sthj, CommentChange(cleared=frozenset({"decision_reason"})))

    assert "status" in refused.value.message_dict
    assert Comment.objects.get(pk=comment.pk).decision_reason == "部分内容已有规定。"


def test_the_bulk_decision_drops_the_reason_of_the_decision_it_replaces(client, weifang_open):
    sthj = member("sthj", "市生态环境局")
    replaced, kept, needs_one = (submit(weifang_open, "二(四)2", n) for n in range(3))
    decided(replaced, sthj, "not_adopted", NOT_ADOPTED_REASON)
    decided(kept, sthj, "adopted", "符合实际。")
    client.force_login(sthj)

    response = client.post(
        QUEUE + "?scope=all",
        {
            "action": "bulk_decide",
            "_selected_action": [replaced.pk, kept.pk],
            "decision": "adopted",
            "text": "",
        },
    )

    replaced.refresh_from_db(), kept.refresh_from_db()
    assert (replaced.decision, replaced.decision_reason) == ("adopted", "")
    assert (kept.decision, kept.decision_reason) == ("adopted", "符合实际。")  # its own
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert "已为 1 条意见设置处理意见。" in messages

    # 不予采纳 without a reason: the reason of the decision it replaces does not stand for one.
    decided(needs_one, sthj, "partly_adopted", "部分内容已有规定。")
    client.post(
        QUEUE + "?scope=all",
        {
            "action": "bulk_decide",
            "_selected_action": [needs_one.pk],
            "decision": "not_adopted",
            "text": "",
        },
    )
    needs_one.refresh_from_db()
    assert (needs_one.decision, needs_one.decision_reason) == (
        "partly_adopted",
        "部分内容已有规定。",
    )
