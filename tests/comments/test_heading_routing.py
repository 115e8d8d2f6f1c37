"""A comment on a section heading: one department answers, the others cooperate, and the
citizen's receipt and the staff queue both say so (issue 18, item 3)."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils.html import strip_tags

from consult.comments.models import Comment
from consult.comments.workflow import CommentChange, comment_change_apply
from consult.consultations.models import Department
from consult.consultations.services import staff_join

pytestmark = pytest.mark.django_db

QUEUE = "/admin/comments/comment/"


def member(username, department_name):
    user = User.objects.create_user(username, password="pw")
    staff_join(user, Department.objects.get(name=department_name))
    return user


@pytest.fixture
def heading_comment(client, weifang_open):
    """A citizen's comment on 二 主要任务, which names nobody: five departments lead below it."""
    heading = weifang_open.clauses.get(label="二")
    response = client.post(
        reverse("intake:clause_comment_create", args=[weifang_open.slug, heading.pk]),
        {
            "body": "建议把主要任务的完成时限写进方案。",
            "kind": "individual",
            "phone": "13812345678",
            "consent": "on",
        },
    )
    assert response.status_code == 302
    return Comment.objects.get(), response["Location"]


def test_a_heading_comment_is_answered_by_the_issuer_alone(heading_comment):
    comment, _receipt = heading_comment
    routes = [(r.department.name, r.role, r.is_owner) for r in comment.routes.order_by("position")]
    assert routes[0] == ("市海渔局", "coordinator", True)
    assert {role for _name, role, _owner in routes[1:]} == {"cooperating"}
    assert {name for name, _role, _owner in routes[1:]} == {
        "市发改委",
        "市科技局",
        "市委组织部",
        "市工信局",
        "市生态环境局",
    }


def test_the_receipt_says_who_answers(client, heading_comment):
    _comment, receipt = heading_comment
    # As read: a department's name is an element of its own (marked as Chinese on pages that
    # are not).
    page = strip_tags(client.get(receipt).content.decode())
    assert "您的意见由市海渔局负责研究答复。" in page
    assert "市发改委（牵头" not in page
    assert "市发改委（配合）" in page


def test_the_queue_shows_the_other_departments_as_cooperating(client, heading_comment):
    comment, _receipt = heading_comment
    client.force_login(member("fgw", "市发改委"))
    page = client.get(QUEUE, {"scope": "all"}).content.decode()
    assert comment.tracking_number in page
    assert "牵头" not in page.split('id="result_list"')[1].split("</table>")[0]
    client.force_login(member("hyj", "市海渔局"))
    page = client.get(QUEUE).content.decode()
    assert comment.tracking_number in page and "<strong>统筹</strong>" in page


def test_the_issuer_answers_a_heading_comment_a_lead_below_cannot(heading_comment):
    comment, _receipt = heading_comment
    answer = CommentChange(
        status="answered",
        decision="explained",
        reply="各项任务的时限将在分工方案中明确。",
        waive_reason="属于总体安排，由发布单位统一答复。",
    )
    with pytest.raises(Exception, match="只有负责答复的单位"):
        comment_change_apply(comment, member("fgw", "市发改委"), answer)
    comment_change_apply(comment, member("hyj", "市海渔局"), answer)
    comment.refresh_from_db()
    assert comment.status == "answered"
