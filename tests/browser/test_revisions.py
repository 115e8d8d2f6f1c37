"""A second draft in real Chromium: the page of what changed (marked without colour, printable,
axe-clean) and a citizen following their comment's clause from the status page to it."""

import pytest
from django.urls import reverse

from consult.comments.services import comment_submit
from consult.comments.status_links import status_token
from tests.browser.conftest import SCREENSHOTS, axe_findings
from tests.conftest import load_weifang
from tests.support.revisions import weifang_second_draft

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def second_draft_with_a_comment():
    consultation = load_weifang()
    dropped = consultation.current_clauses().get(label="二(三)3")
    comment = comment_submit(
        consultation=consultation,
        clause=dropped,
        body="建议保留海洋人才集聚高地的内容，并明确引进人才的扶持政策。",
        channel="web",
        consent=True,
        phone="13812345678",
    ).comment
    revision = weifang_second_draft(consultation)
    return consultation, revision, comment


def test_the_changes_page_marks_the_difference_without_colour_and_prints(
    page, live_server, second_draft_with_a_comment
):
    consultation, _revision, _comment = second_draft_with_a_comment
    url = live_server.url + reverse("intake:revision_changes", args=[consultation.slug, 2])
    page.goto(url)
    assert page.locator("h1").inner_text() == "第2稿与征求意见稿逐条对照"
    insertion, deletion = page.locator(".diff ins").first, page.locator(".diff del").first
    assert "underline" in insertion.evaluate("e => getComputedStyle(e).textDecorationLine")
    assert "line-through" in deletion.evaluate("e => getComputedStyle(e).textDecorationLine")
    # A screen reader hears which is which.
    assert insertion.locator(".visually-hidden").first.text_content() == "插入："
    assert deletion.locator(".visually-hidden").first.text_content() == "删除："
    page.screenshot(path=SCREENSHOTS / "revision-changes.png", full_page=True)
    assert axe_findings(page, "revision-changes") == []

    page.emulate_media(media="print")
    marker = insertion.evaluate("e => getComputedStyle(e, '::before').content")
    assert marker == '"[+"'
    assert page.locator("header").first.is_hidden()
    page.screenshot(path=SCREENSHOTS / "revision-changes-print.png", full_page=True)


def test_the_citizen_follows_their_clause_from_the_status_page(
    page, live_server, second_draft_with_a_comment
):
    _consultation, _revision, comment = second_draft_with_a_comment
    status = reverse("intake:comment_status_signed", args=[status_token(comment)])
    page.goto(live_server.url + status)
    outcomes = page.locator(".outcomes")
    assert "二(三)3 已删除" in outcomes.inner_text()
    assert axe_findings(page, "status-with-outcome") == []
    page.screenshot(path=SCREENSHOTS / "status-with-outcome.png", full_page=True)

    outcomes.get_by_role("link", name="查看修改对照").click()
    page.wait_for_url(f"**/revisions/2/changes/#old-{comment.clause_id}")
    target = page.locator(f"#old-{comment.clause_id}")
    assert target.count() == 1
    dropped = page.locator(f"#dropped-{comment.clause_id}")
    assert "删除" in dropped.inner_text()
    # Its comments and decisions are told with the first draft's report, not before.
    assert "1 条" not in dropped.inner_text()
