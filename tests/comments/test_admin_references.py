"""The clauses a whole-draft comment cites, on its admin change form, accepted with one click."""

import pytest
from django.test import Client

from consult.comments.models import CommentRouting
from consult.comments.services import comment_submit
from consult.consultations.models import Department
from tests.support.people import member

pytestmark = pytest.mark.django_db

QUEUE = "/admin/comments/comment/"
BODY = "建议将二（三）4中的“省级”改为“市级”；第三部分的保障措施也应细化。"


@pytest.fixture
def comment(weifang_open):
    return comment_submit(
        consultation=weifang_open,
        clause=None,
        body=BODY,
        channel="web",
        consent=True,
        email="citizen@example.cn",
        submitter_name="王五",
    ).comment


@pytest.fixture
def coordinator(weifang_open):
    return member("hyj", "市海渔局")


def owners(comment):
    return list(
        CommentRouting.objects.filter(comment=comment, is_owner=True).values_list(
            "department__name", flat=True
        )
    )


def test_the_change_form_shows_the_cited_clauses_with_a_button_each(client, comment, coordinator):
    client.force_login(coordinator)
    page = client.get(f"{QUEUE}{comment.pk}/change/").content.decode()
    assert "意见中提到的条款" in page
    assert "二（三）4" in page and "第三部分" in page
    clause = comment.consultation.clauses.get(label="二(三)4")
    assert f'formaction="{QUEUE}{comment.pk}/move-to-clause/"' in page
    assert f'name="move_to_clause" value="{clause.pk}"' in page


def test_one_click_moves_the_comment_and_routes_it(client, comment, coordinator):
    client.force_login(coordinator)
    clause = comment.consultation.clauses.get(label="二(三)4")
    response = client.post(f"{QUEUE}{comment.pk}/move-to-clause/", {"move_to_clause": clause.pk})
    assert response.status_code == 302
    assert response["Location"] == f"{QUEUE}{comment.pk}/change/"
    comment.refresh_from_db()
    assert comment.clause == clause
    assert owners(comment) == ["市工信局"]
    page = client.get(response["Location"]).content.decode()
    assert "已改为对" in page
    assert "意见中提到的条款" not in page  # on a clause now: nothing more to suggest


def test_a_department_that_moves_the_comment_away_is_taken_to_its_queue(
    client, comment, coordinator
):
    """Moved to a clause another department answers, the comment is no longer theirs: they
    were sent to its page and told it "不存在，可能已被删除"."""
    from consult.comments.workflow import CommentChange, comment_change_apply

    comment_change_apply(
        comment,
        coordinator,
        CommentChange(
            route_to=Department.objects.get(name="市生态环境局"),
            make_owner=True,
            route_reason="请生态环境局牵头办理。",
        ),
    )
    client.force_login(member("sthj", "市生态环境局"))
    clause = comment.consultation.clauses.get(label="二(三)4")  # 市工信局 answers it
    response = client.post(
        f"{QUEUE}{comment.pk}/move-to-clause/", {"move_to_clause": clause.pk}, follow=True
    )
    assert response.redirect_chain[-1][0] == QUEUE
    shown = [str(message) for message in response.context["messages"]]
    assert any("已改为对" in message for message in shown)
    assert any("已转由市工信局负责答复" in message for message in shown)
    assert owners(comment) == ["市工信局"]


def test_the_accept_view_needs_the_csrf_token(comment, coordinator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(coordinator)
    clause = comment.consultation.clauses.get(label="三")
    response = client.post(f"{QUEUE}{comment.pk}/move-to-clause/", {"move_to_clause": clause.pk})
    assert response.status_code == 403
    comment.refresh_from_db()
    assert comment.clause is None


def test_get_is_refused(client, comment, coordinator):
    client.force_login(coordinator)
    assert client.get(f"{QUEUE}{comment.pk}/move-to-clause/").status_code == 405


def test_a_clause_that_was_not_suggested_is_refused(client, comment, coordinator):
    client.force_login(coordinator)
    other = comment.consultation.clauses.get(label="二(一)1")
    for value in (other.pk, "", "not-a-number"):
        response = client.post(f"{QUEUE}{comment.pk}/move-to-clause/", {"move_to_clause": value})
        assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.clause is None
    page = client.get(f"{QUEUE}{comment.pk}/change/").content.decode()
    assert "所选条款不是这条意见中提到的条款。" in page


def test_staff_who_do_not_triage_the_comment_cannot_move_it(client, comment, weifang_open):
    """The clause's lead cannot even see a whole-draft comment (404); a department that
    sees it but may not route it gets the suggestions without buttons, and a 403."""
    clause = comment.consultation.clauses.get(label="二(三)4")
    client.force_login(member("gxj", "市工信局"))
    response = client.post(f"{QUEUE}{comment.pk}/move-to-clause/", {"move_to_clause": clause.pk})
    assert response.status_code == 404
    comment.refresh_from_db()
    assert comment.clause is None

    # A cooperating department added to the comment sees it but does not triage it.
    ecology = Department.objects.get(name="市生态环境局")
    CommentRouting.objects.create(
        comment=comment, department=ecology, role="cooperating", is_owner=False, position=1
    )
    client.force_login(member("sthj", "市生态环境局"))
    page = client.get(f"{QUEUE}{comment.pk}/change/").content.decode()
    assert "意见中提到的条款" in page and "move-to-clause" not in page
    response = client.post(f"{QUEUE}{comment.pk}/move-to-clause/", {"move_to_clause": clause.pk})
    assert response.status_code == 403
    comment.refresh_from_db()
    assert comment.clause is None


def test_a_move_is_refused_while_the_page_holds_unsaved_text_and_gives_it_back(
    client, comment, coordinator
):
    """The button posts the whole change form; the move used the clause alone and the reply
    and note typed on the page were gone without a word."""
    from tests.comments.test_admin_queue import change_form_data

    client.force_login(coordinator)
    clause = comment.consultation.clauses.get(label="二(三)4")
    data = change_form_data(
        client, comment, note="已电话联系提交人，确认针对二(三)4。", reply="感谢您的意见。"
    )
    response = client.post(
        f"{QUEUE}{comment.pk}/move-to-clause/", {**data, "move_to_clause": clause.pk}, follow=True
    )
    comment.refresh_from_db()
    assert comment.clause is None  # not moved
    page = response.content.decode()
    assert "尚未保存，未改为对条款的意见" in page
    assert (
        "内部备注：已电话联系提交人，确认针对二(三)4。" in page and "答复：感谢您的意见。" in page
    )

    # The form as shown, nothing typed: the move goes through.
    response = client.post(
        f"{QUEUE}{comment.pk}/move-to-clause/",
        {**change_form_data(client, comment), "move_to_clause": clause.pk},
    )
    comment.refresh_from_db()
    assert comment.clause == clause
