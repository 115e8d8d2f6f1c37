"""In a browser: a reply typed on a page opened before a colleague's change comes back with that
change listed, and a second click on 保存 saves it; axe finds nothing on the page shown again."""

import pytest

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.comments.workflow import CommentChange, comment_change_apply
from tests.browser.conftest import axe_findings
from tests.browser.staff import log_in, staff
from tests.conftest import load_weifang

pytestmark = pytest.mark.django_db(transaction=True)

REPLY = "经研究，您的意见部分采纳。\n集聚区评价指标将在实施细则中明确，并按年度公开评估结果。"


def test_a_reply_typed_before_a_colleagues_change_is_kept_and_saved_on_the_second_click(
    page, live_server
):
    consultation = load_weifang()
    comment = comment_submit(
        consultation=consultation,
        clause=consultation.clauses.get(label="二(四)2"),
        body="建议明确集聚区的评价指标并公开评选结果。",
        channel="web",
        consent=True,
    ).comment
    staff("sthj_a", "市生态环境局")
    colleague = staff("sthj_b", "市生态环境局")
    log_in(page, live_server, "sthj_a")
    page.goto(f"{live_server.url}/admin/comments/comment/{comment.pk}/change/")
    page.select_option("#id_decision", "partly_adopted")
    page.fill("#id_reply", REPLY)
    comment_change_apply(
        comment, colleague, CommentChange(status="in_progress", note="<b>已电话联系</b>。")
    )

    page.locator("input[name=_save]").click()
    page.wait_for_load_state()

    listed = page.locator(".changes-since").inner_text()
    assert "sthj_b" in listed and "<b>已电话联系</b>。" in listed  # shown as text
    assert page.input_value("#id_reply") == REPLY
    assert page.input_value("#id_status") == "in_progress"  # not typed: the colleague's
    found = axe_findings(page, "change-stale")
    page.locator("input[name=_save]").click()
    page.wait_for_load_state()
    comment.refresh_from_db()
    assert (comment.status, comment.decision) == ("in_progress", "partly_adopted")
    assert comment.reply.replace("\r\n", "\n") == REPLY
    assert found == [], "\n".join(found)
    assert Comment.objects.get(pk=comment.pk).events.filter(kind="reply").count() == 1
