"""A final text (正式文本) takes no comments. Found by a review: published while the draft's
period still ran, it became the text commented on, and comments and letters on its clauses
were stored, routed and counted in no report (a final text's report is refused).

It is published once the period is over; after it, a letter posted in time goes on a clause of
the last draft consulted on, the one its report counts.
"""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from consult.comments.models import Comment
from consult.comments.revision_outcomes import revision_publish
from consult.comments.services import comment_record_received
from consult.consultations.revisions import links_confirm
from consult.notices.importer import revision_import
from consult.notices.parser import parse_notice
from consult.reports.services import report_generate
from tests.support.people import member
from tests.support.revisions import DRAFT2, first_draft_closed

pytestmark = pytest.mark.django_db


def final_text(consultation, by):
    source = DRAFT2.read_text("utf-8")
    final = revision_import(
        parsed=parse_notice(source), consultation=consultation, source_text=source, final=True
    )
    links_confirm(final.links.all(), by=by)
    return final


def test_a_final_text_is_not_published_while_the_draft_takes_comments(weifang_open):
    bureau = member("hyj", "市海渔局")
    final = final_text(weifang_open, bureau)
    with pytest.raises(ValidationError) as refused:
        revision_publish(final)
    assert refused.value.code == "period_running"
    weifang_open.refresh_from_db()
    assert weifang_open.current_revision_id != final.pk
    # Its last second still counts as the period; the next one does not.
    with time_machine.travel(weifang_open.closes_at, tick=False), pytest.raises(ValidationError):
        revision_publish(final)
    with time_machine.travel(weifang_open.closes_at + datetime.timedelta(seconds=1)):
        revision_publish(final)
    weifang_open.refresh_from_db()
    assert weifang_open.current_revision_id == final.pk


@pytest.fixture
def after_the_final_text(weifang_open):
    first_draft_closed(weifang_open)
    draft = weifang_open.current_revision
    bureau = member("hyj", "市海渔局")
    final = final_text(weifang_open, bureau)
    revision_publish(final)
    weifang_open.refresh_from_db()
    return weifang_open, draft, final, bureau


def letter(consultation, clause, staff, received_on):
    return comment_record_received(
        consultation=consultation,
        clause=clause,
        body="来信：建议增加渔港改造资金，并公开使用情况。",
        channel="letter",
        received_on=received_on,
        recorded_by=staff,
        submitter_name="王五",
    ).comment


def test_a_letter_posted_in_time_goes_on_the_last_draft_and_its_report_counts_it(
    after_the_final_text, client
):
    consultation, draft, final, bureau = after_the_final_text
    received_on = timezone.localdate(draft.closes_at) - datetime.timedelta(days=1)
    draft_clause = draft.clauses.get(label="二(四)1")
    final_clause = final.clauses.get(label="二(四)1")

    client.force_login(bureau)
    form = client.get("/admin/comments/comment/add/").content.decode()
    assert f'value="{draft_clause.pk}"' in form
    assert f'value="{final_clause.pk}"' not in form

    with pytest.raises(ValidationError) as refused:
        letter(consultation, final_clause, bureau, received_on)
    assert "clause" in refused.value.message_dict
    stored = letter(consultation, draft_clause, bureau, received_on)
    assert stored.routes.filter(is_owner=True).exists()
    report = report_generate(consultation)
    assert report.revision == draft
    assert report.total == Comment.objects.count() == 1


def test_a_letter_from_an_earlier_draft_s_period_is_refused_saying_so(weifang_open):
    """ "收到日期早于征求意见开始日期" sent staff looking for a wrong date: the letter was in time
    for the first draft, whose comments can no longer be recorded once the second is out."""
    from tests.support.revisions import weifang_second_draft

    first = weifang_open.current_revision
    first_draft_closed(weifang_open)
    first.refresh_from_db()
    weifang_second_draft(weifang_open)
    bureau = member("hyj", "市海渔局")
    with pytest.raises(ValidationError) as refused:
        letter(weifang_open, None, bureau, timezone.localdate(first.closes_at))
    [said] = refused.value.message_dict["received_on"]
    assert said.startswith("收到日期在征求意见稿的征求意见期内")
    assert not Comment.objects.exists()


def test_one_text_takes_comments_on_the_web_the_api_and_the_letter_form(weifang_open, client):
    """Found by a review of the change above: with a draft published without a period of its
    own as the current text and the close moved on, the API took the earlier draft's clauses and
    refused the current ones, while the web form took the current ones."""
    from rest_framework.test import APIClient

    from consult.consultations.revisions import revision_period_set
    from tests.intake.test_form import form_url, valid
    from tests.support.revisions import weifang_second_draft

    first = weifang_open.current_revision
    first_draft_closed(weifang_open)
    bureau = member("hyj", "市海渔局")
    second = weifang_second_draft(weifang_open, publish=False)
    revision_period_set(second, opens_at=None, closes_at=None)
    revision_publish(second)
    weifang_open.refresh_from_db()
    weifang_open.closes_at = timezone.now() + datetime.timedelta(days=10)
    weifang_open.save()

    current = second.clauses.get(label="二(四)2")
    earlier = first.clauses.get(label="二(四)1")
    api = APIClient()
    url = f"/api/consultations/{weifang_open.slug}/comments/"
    body = {"body": "建议公开海洋生态修复项目的资金使用情况。", "consent": True}
    assert api.post(url, {**body, "clause": current.pk}, format="json").status_code == 201
    assert api.post(url, {**body, "clause": earlier.pk}, format="json").status_code == 400
    assert client.post(form_url(weifang_open, current), valid()).status_code == 302
    client.force_login(bureau)
    form = client.get("/admin/comments/comment/add/").content.decode()
    assert f'value="{current.pk}"' in form and f'value="{earlier.pk}"' not in form
    assert set(Comment.objects.values_list("clause__revision", flat=True)) == {second.pk}


def test_a_final_text_s_clause_takes_no_comment_on_the_web_even_if_the_close_moves_on(
    after_the_final_text, client
):
    from tests.intake.test_form import form_url, valid

    consultation, _draft, final, _bureau = after_the_final_text
    consultation.closes_at = timezone.now() + datetime.timedelta(days=10)
    consultation.save()
    response = client.post(form_url(consultation, final.clauses.get(label="二(四)1")), valid())
    assert response.status_code == 403
    assert not Comment.objects.exists()
