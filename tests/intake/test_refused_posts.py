"""A post the form cannot take any more keeps what the citizen wrote on the page that refuses
it: the period closed while they were writing, or a later draft replaced the clause they had
open. Without JavaScript that page is all they have left of their text.

Found before: both answered with the closed page (403) or "page not found" (404), the text gone.
"""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from consult.comments.models import Comment
from tests.intake.test_form import form_url, valid
from tests.support.revisions import first_draft_closed, weifang_second_draft

pytestmark = pytest.mark.django_db

TYPED = "建议明确集聚区的评价指标，这是我写了很久的意见，<b>加粗</b>也要原样保留。"


def at(moment):
    return time_machine.travel(moment, tick=False)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_form_sent_a_second_after_the_close_shows_the_text_back(
    client, weifang_open, item, language
):
    with at(weifang_open.closes_at - datetime.timedelta(minutes=5)):
        assert client.get(form_url(weifang_open, item)).status_code == 200
    with at(weifang_open.closes_at + datetime.timedelta(seconds=1)):
        response = client.post(
            form_url(weifang_open, item), valid(body=TYPED), HTTP_ACCEPT_LANGUAGE=language
        )
    assert response.status_code == 403
    page = response.content.decode()
    assert "&lt;b&gt;加粗&lt;/b&gt;" in page  # shown as typed, escaped
    assert "<b>加粗</b>" not in page
    assert ("没有提交" if language == "zh-hans" else "was not submitted") in page
    assert not Comment.objects.exists()


def test_a_post_with_errors_after_the_close_shows_the_text_back(client, weifang_open, item):
    with at(weifang_open.closes_at + datetime.timedelta(seconds=1)):
        response = client.post(form_url(weifang_open, item), valid(body=TYPED, phone="12"))
    assert response.status_code == 403
    assert "这是我写了很久的意见" in response.content.decode()


def test_the_closed_page_opened_by_a_link_shows_no_text_box(client, weifang_open, item):
    with at(weifang_open.closes_at + datetime.timedelta(seconds=1)):
        response = client.get(form_url(weifang_open, item))
    assert response.status_code == 403
    assert "typed-text" not in response.content.decode()


def test_a_form_left_open_while_a_later_draft_came_out_points_to_the_clause_now(
    client, weifang_open
):
    old = weifang_open.current_revision.clauses.get(label="二(一)1")
    assert client.get(form_url(weifang_open, old)).status_code == 200
    first_draft_closed(weifang_open)
    second = weifang_second_draft(weifang_open)
    split_into = [link.new for link in second.links.filter(old=old)]
    assert len(split_into) == 2  # the second draft splits it in two

    response = client.post(form_url(weifang_open, old), valid(body=TYPED))

    assert response.status_code == 410
    page = response.content.decode()
    assert "这是我写了很久的意见" in page
    assert "&lt;b&gt;加粗&lt;/b&gt;" in page
    for clause in split_into:
        assert form_url(weifang_open, clause) in page
    assert not Comment.objects.exists()
    # Followed from an old link, the same page, without a text box.
    followed = client.get(form_url(weifang_open, old))
    assert followed.status_code == 410
    assert form_url(weifang_open, split_into[0]) in followed.content.decode()
    assert "typed-text" not in followed.content.decode()


def test_a_clause_the_later_draft_dropped_says_so(client, weifang_open):
    dropped = weifang_open.current_revision.clauses.get(label="二(三)3")
    first_draft_closed(weifang_open)
    weifang_second_draft(weifang_open)
    response = client.post(form_url(weifang_open, dropped), valid(body=TYPED))
    assert response.status_code == 410
    page = response.content.decode()
    assert "现行文本中已删除本条款" in page
    assert reverse("intake:comment_create", args=[weifang_open.slug]) in page
    assert "这是我写了很久的意见" in page


def test_after_the_later_draft_closes_the_clause_now_is_linked_for_reading(client, weifang_open):
    old = weifang_open.current_revision.clauses.get(label="二(四)1")
    first_draft_closed(weifang_open)
    second = weifang_second_draft(weifang_open)
    now_clause = second.links.get(old=old).new
    with at(timezone.now() + datetime.timedelta(days=31)):
        response = client.get(form_url(weifang_open, old))
    page = response.content.decode()
    assert response.status_code == 410
    assert form_url(weifang_open, now_clause) not in page
    assert f"#clause-{now_clause.pk}" in page


def test_an_unpublished_drafts_clause_stays_unknown(client, weifang_open):
    unpublished = weifang_second_draft(weifang_open, publish=False)
    clause = unpublished.clauses.get(label="二(四)1")
    response = client.post(form_url(weifang_open, clause), valid(body=TYPED))
    assert response.status_code == 404
    assert clause.heading not in response.content.decode()


def test_the_english_closed_page_marks_the_consultation_s_title_as_chinese(
    client, weifang_open, item
):
    """A screen reader read the Chinese title in "“…” is not open for comment" with an English
    voice: the form's page marks it, the closed page did not (found by a review)."""
    with at(weifang_open.closes_at + datetime.timedelta(seconds=1)):
        page = client.get(form_url(weifang_open, item), HTTP_ACCEPT_LANGUAGE="en").content
    assert f'<span lang="zh-Hans">{weifang_open.title}</span>' in page.decode()
