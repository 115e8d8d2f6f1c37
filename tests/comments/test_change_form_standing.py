"""The change form shows each member of staff only what their standing allows, says who answers
and by when, and tells the history in words (issue 18, item 4)."""

import pytest
from django.contrib.auth.models import User

from consult.comments.services import comment_submit
from consult.comments.workflow import CommentChange, comment_change_apply
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from tests.comments.test_admin_queue import change_form_data

pytestmark = pytest.mark.django_db

QUEUE = "/admin/comments/comment/"


def member(username, department_name):
    user = User.objects.create_user(username, password="pw")
    staff_join(user, Department.objects.get(name=department_name))
    return user


@pytest.fixture
def comment(weifang_open):
    """On 二(三)4: 市工信局 answers, 市财政局 and 市大数据局 cooperate, 市海渔局 issued it."""
    return comment_submit(
        consultation=weifang_open,
        clause=weifang_open.clauses.get(label="二(三)4"),
        body="建议明确集聚区的评价指标并公开评选结果。",
        channel="web",
        consent=True,
        email="citizen@example.cn",
    ).comment


def form_of(client, user, comment):
    client.force_login(user)
    response = client.get(f"{QUEUE}{comment.pk}/change/")
    assert response.status_code == 200
    shown = {
        field.field.name if hasattr(field.field, "name") else field.field["name"]
        for fieldset in response.context["adminform"]
        for line in fieldset
        for field in line
    }
    return response, shown


def test_the_issuing_bureau_is_not_offered_the_answer(client, comment):
    response, shown = form_of(client, member("hyj", "市海渔局"), comment)
    assert {"decision", "decision_reason", "reply", "opinion", "waive_reason"}.isdisjoint(shown)
    assert {"status", "invalid_reason", "route_to", "note"} <= shown
    statuses = [
        value for value, _label in response.context["adminform"].form["status"].field.choices
    ]
    assert "answered" not in statuses and statuses == ["pending", "in_progress", "invalid"]
    page = response.content.decode()
    assert 'name="reply"' not in page and 'name="decision"' not in page
    assert "由市工信局负责答复，答复期限" in page
    assert "答复由负责单位填写" in page


def test_a_cooperating_department_is_offered_its_opinion_and_a_note(client, comment):
    _response, shown = form_of(client, member("czj", "市财政局"), comment)
    assert shown & {"status", "decision", "reply", "route_to", "invalid_reason"} == set()
    assert {"opinion", "note"} <= shown


def test_the_answering_department_is_offered_the_answer(client, comment):
    response, shown = form_of(client, member("gxj", "市工信局"), comment)
    assert {"status", "decision", "decision_reason", "reply", "waive_reason"} <= shown
    assert "opinion" not in shown
    assert "您的单位负责答复" in response.content.decode()


def test_a_field_not_offered_but_posted_is_refused_in_words_on_the_page(client, comment):
    user = member("hyj", "市海渔局")
    client.force_login(user)
    data = change_form_data(client, comment, reply="由发布单位代为答复。")
    response = client.post(f"{QUEUE}{comment.pk}/change/", data)
    assert response.status_code == 200
    assert "只有负责答复的单位可以填写处理意见和答复。" in response.content.decode()
    comment.refresh_from_db()
    assert comment.reply == ""


def test_the_history_is_told_in_words(client, comment):
    owner = member("gxj", "市工信局")
    comment_change_apply(comment, owner, CommentChange(status="in_progress"))
    comment_change_apply(comment, owner, CommentChange(decision="partly_adopted"))
    client.force_login(owner)
    page = client.get(f"{QUEUE}{comment.pk}/change/").content.decode()
    history = page.split('class="comment-history"')[1].split("</table>")[0]
    assert "待处理 → 处理中" in history and "— → 部分采纳" in history
    assert "in_progress" not in history and "partly_adopted" not in history


def test_what_staff_in_english_do_is_stored_and_shown_in_each_reader_s_language(
    client, weifang_open
):
    """A mover whose admin is in English stored "The comment cites 二(四)2…" in the history and
    in the Chinese email to the department, the role as "Lead" ("职责：Lead" to Chinese
    readers); the English duty line ended in "。"."""
    from django.core import mail
    from django.utils import translation

    from consult.comments.models import CommentEvent
    from consult.comments.references import comment_move_to_clause
    from consult.comments.workflow import answer_duty, event_in_words, standing

    whole = comment_submit(
        consultation=weifang_open,
        clause=None,
        body="建议将二（三）4中的“省级”改为“市级”。",
        channel="web",
        consent=True,
    ).comment
    coordinator = member("hyj", "市海渔局")
    clause = weifang_open.clauses.get(label="二(三)4")
    mail.outbox.clear()
    with translation.override("en"):
        comment_move_to_clause(whole, clause, by=coordinator)
    routed = CommentEvent.objects.filter(comment=whole, kind="routed").order_by("pk").first()
    assert routed.text == "意见引用了二(三)4，改为对该条款的意见。"
    assert event_in_words(routed) == "职责：牵头"
    with translation.override("en"):
        assert event_in_words(routed) == "Role: Lead"
    note = CommentEvent.objects.get(comment=whole, kind="note")
    assert note.text.startswith("条款由“全文”改为")

    owner = member("gxj", "市工信局")
    whole.refresh_from_db()
    with translation.override("en"):
        duty = answer_duty(whole, standing(owner, whole))
    assert "。" not in duty and ". Your department answers." in duty
