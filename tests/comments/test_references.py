"""Clauses a whole-draft comment cites, and moving the comment to one of them: its routing,
history, public counts and the departments told after commit."""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from consult.comments.models import Comment, CommentEvent, CommentRouting
from consult.comments.references import (
    clause_suggestions,
    comment_move_to_clause,
    may_move,
)
from consult.comments.services import comment_submit
from consult.comments.tallies import consultation_tallies
from consult.comments.workflow import CommentChange, comment_change_apply
from consult.notifications.models import Notification
from tests.comments.test_workflow import staff
from tests.factories import ClauseFactory, ConsultationFactory

pytestmark = pytest.mark.django_db

BODY = "建议将二（三）4中的“省级”改为“市级”；第三部分的保障措施也应细化。"


@pytest.fixture
def people(weifang_open):
    return {
        "coordinator": staff("hyj-handler", "市海渔局"),  # issued the notice: owns the whole draft
        "gxj": staff("gxj-handler", "市工信局"),  # leads 二(三)4
        "outsider": staff("sthj-handler", "市生态环境局"),
        "root": get_user_model().objects.create_superuser("root", "root@example.cn", "pw"),
    }


def submit(consultation, body=BODY, clause=None, **extra):
    return comment_submit(
        consultation=consultation,
        clause=clause,
        body=body,
        channel="web",
        consent=True,
        email="citizen@example.cn",
        submitter_name="王五",
        **extra,
    ).comment


@pytest.fixture
def comment(weifang_open, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        comment = submit(weifang_open)
    mail.outbox.clear()
    return comment


def routes(comment):
    return [
        (r.department.name, r.role, r.is_owner)
        for r in CommentRouting.objects.filter(comment=comment).order_by("position")
    ]


# --- suggestions ----------------------------------------------------------------------------


def test_a_whole_draft_comment_gets_the_clauses_it_cites(comment):
    suggestions = clause_suggestions(comment)
    assert [s.clause.label for s in suggestions] == ["二(三)4", "三"]
    assert [s.cited for s in suggestions] == [["二（三）4"], ["第三部分"]]


def test_each_clause_is_suggested_once_with_every_way_it_was_cited(weifang_open):
    body = "第（二）项第3点不合理。二(二)3的标准偏高，第（二）项第3点应删。"
    comment = submit(weifang_open, body=body)
    (suggestion,) = clause_suggestions(comment)
    assert suggestion.clause.label == "二(二)3"
    assert suggestion.cited == ["第（二）项第3点", "二(二)3"]


@pytest.mark.parametrize(
    "body",
    [
        "（三）中的措施不够具体。",  # 二(三) or 三(三)
        "第一时间公开评选结果，2024年第3季度前完成。",
        "第一，加强宣传。第二，加大投入。",
        "《中华人民共和国海洋环境保护法》第三条已有规定。",
        "请联系0536-8192345，或参照潍政办字〔2024〕3号。",
    ],
)
def test_ambiguous_or_no_citations_suggest_nothing(weifang_open, body):
    assert clause_suggestions(submit(weifang_open, body=body)) == []


def test_a_comment_on_a_clause_gets_no_suggestions(weifang_open):
    clause = weifang_open.clauses.get(label="二(一)1")
    assert clause_suggestions(submit(weifang_open, clause=clause)) == []


def test_suggestions_come_from_the_comments_own_consultation(weifang_open):
    other = ConsultationFactory(slug="other")
    ClauseFactory(consultation=other, number="三", label="三", level="cn")
    suggestions = clause_suggestions(submit(weifang_open, body="第三部分"))
    assert [(s.clause.consultation_id, s.clause.label) for s in suggestions] == [
        (weifang_open.pk, "三")
    ]


# --- moving -----------------------------------------------------------------------------------


def test_moving_re_routes_the_comment_to_the_clauses_departments(
    comment, people, django_capture_on_commit_callbacks
):
    assert routes(comment) == [("市海渔局", "coordinator", True)]
    clause = comment.consultation.clauses.get(label="二(三)4")
    with django_capture_on_commit_callbacks(execute=True):
        moved = comment_move_to_clause(comment, clause, by=people["coordinator"])
    assert moved.clause == clause
    assert Comment.objects.get(pk=comment.pk).clause == clause
    assert routes(comment) == [
        ("市工信局", "lead", True),
        ("市财政局", "cooperating", False),
        ("市大数据局", "cooperating", False),
    ]
    # The new owner answers now; the bureau still coordinates.
    comment_change_apply(comment, people["gxj"], CommentChange(status="in_progress"))
    assert Comment.objects.get(pk=comment.pk).status == "in_progress"


def test_moving_is_recorded_in_the_history(comment, people):
    clause = comment.consultation.clauses.get(label="二(三)4")
    comment_move_to_clause(comment, clause, by=people["coordinator"])
    note = CommentEvent.objects.get(comment=comment, kind=CommentEvent.Kind.NOTE)
    assert (note.actor, note.before, note.after) == (people["coordinator"], "全文", "二(三)4")
    routed = CommentEvent.objects.filter(comment=comment, kind=CommentEvent.Kind.ROUTED)
    assert sorted(e.department.name for e in routed) == ["市大数据局", "市工信局", "市财政局"]
    assert all("二(三)4" in e.text and e.actor == people["coordinator"] for e in routed)


def test_the_newly_responsible_departments_are_told_after_commit(
    comment, people, django_capture_on_commit_callbacks
):
    clause = comment.consultation.clauses.get(label="二(三)4")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        comment_move_to_clause(comment, clause, by=people["coordinator"])
        written = Notification.objects.filter(
            comment=comment, kind=Notification.Kind.REASSIGNED
        ).order_by("department__name")
        assert sorted(n.department.name for n in written) == ["市大数据局", "市工信局", "市财政局"]
        assert mail.outbox == []
    assert callbacks, "nothing is sent before the transaction commits"
    for callback in callbacks:
        callback()
    told = {address for message in mail.outbox for address in message.to}
    assert {"gxj@weifang.example", "czj@weifang.example", "dsjj@weifang.example"} <= told
    assert "hyj@weifang.example" not in told  # the bureau loses nothing and is not told
    (owner_mail,) = [m for m in mail.outbox if "gxj@weifang.example" in m.to]
    assert "二(三)4" in owner_mail.body


def test_a_department_kept_in_another_role_is_told_and_one_kept_alike_is_not(
    comment, people, django_capture_on_commit_callbacks
):
    """二(一)1 names the bureau itself among its cooperating departments."""
    clause = comment.consultation.clauses.get(label="二(一)1")
    with django_capture_on_commit_callbacks(execute=True):
        comment_move_to_clause(comment, clause, by=people["coordinator"])
    assert ("市海渔局", "cooperating", False) in routes(comment)
    assert routes(comment)[0] == ("市发改委", "lead", True)
    told = Notification.objects.filter(comment=comment, kind=Notification.Kind.REASSIGNED)
    assert "市海渔局" in {n.department.name for n in told}

    # Moved on again to a clause the same lead owns: it is not told twice.
    again = comment.consultation.clauses.get(label="二(一)2")
    with django_capture_on_commit_callbacks(execute=True):
        comment_move_to_clause(comment, again, by=people["coordinator"])
    fgw = Notification.objects.filter(
        comment=comment, kind=Notification.Kind.REASSIGNED, department__name="市发改委"
    )
    assert fgw.count() == 1


def test_the_public_counts_move_with_the_comment(comment, people):
    clause = comment.consultation.clauses.get(label="二(三)4")
    before = consultation_tallies(comment.consultation_id)
    assert before.by_clause.get(None) == 1 and not before.by_clause.get(clause.pk)
    comment_move_to_clause(comment, clause, by=people["coordinator"])
    after = consultation_tallies(comment.consultation_id)
    assert after.by_clause.get(None, 0) == 0
    assert after.by_clause[clause.pk] == 1
    assert after.total == before.total


def test_the_lead_of_a_clause_may_not_take_a_whole_draft_comment(comment, people):
    """Only who triages the comment moves it: the bureau (owner of a whole-draft comment) and
    superusers; a department that cannot even see it is refused."""
    clause = comment.consultation.clauses.get(label="二(三)4")
    assert may_move(people["coordinator"], comment) and may_move(people["root"], comment)
    for user in (people["gxj"], people["outsider"]):
        assert not may_move(user, comment)
        with pytest.raises(PermissionDenied):
            comment_move_to_clause(comment, clause, by=user)
    assert routes(comment) == [("市海渔局", "coordinator", True)]
    assert Comment.objects.get(pk=comment.pk).clause is None


def test_a_superuser_may_move(comment, people):
    clause = comment.consultation.clauses.get(label="三")
    comment_move_to_clause(comment, clause, by=people["root"])
    assert Comment.objects.get(pk=comment.pk).clause == clause


def test_a_clause_of_another_consultation_is_refused(comment, people):
    foreign = ClauseFactory(consultation=ConsultationFactory(slug="other"))
    with pytest.raises(ValidationError) as caught:
        comment_move_to_clause(comment, foreign, by=people["coordinator"])
    assert caught.value.message_dict == {"clause": ["该条款不属于本次征求意见。"]}
    assert Comment.objects.get(pk=comment.pk).clause is None


def test_a_closed_comment_is_not_moved(comment, people):
    comment_change_apply(
        comment, people["coordinator"], CommentChange(status="invalid", invalid_reason="广告")
    )
    clause = comment.consultation.clauses.get(label="三")
    with pytest.raises(ValidationError) as caught:
        comment_move_to_clause(comment, clause, by=people["coordinator"])
    assert "已办结" in caught.value.message_dict["clause"][0]
    assert routes(comment) == [("市海渔局", "coordinator", True)]


def test_moving_to_the_clause_it_is_on_is_refused(comment, people):
    clause = comment.consultation.clauses.get(label="三")
    comment_move_to_clause(comment, clause, by=people["coordinator"])
    with pytest.raises(ValidationError) as caught:
        comment_move_to_clause(comment, clause, by=people["coordinator"])
    assert caught.value.message_dict == {"clause": ["这条意见已经是对该条款的意见。"]}
