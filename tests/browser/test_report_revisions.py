"""A consultation with two drafts in real Chromium: the dashboard's choice of revision, the
page that makes a revision's report, and the public report with its links to each draft's —
all axe-clean."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.reports.services import report_generate, report_publish, report_review
from tests.browser.conftest import SCREENSHOTS, axe_findings
from tests.browser.staff import log_in, staff
from tests.conftest import load_weifang
from tests.support.revisions import first_draft_closed, weifang_second_draft

pytestmark = pytest.mark.django_db(transaction=True)


def submit(consultation, clause, n):
    return comment_submit(
        consultation=consultation,
        clause=clause,
        body=f"第{n}条：建议明确集聚区的评价指标。",
        channel="web",
        consent=True,
        phone=f"1381234{n:04d}",
    ).comment


@pytest.fixture
def two_drafts_first_reported():
    """The first draft's period over and its report published; the second draft open."""
    consultation = load_weifang()
    first = consultation.current_revision
    for n, label in enumerate(["二(四)2", "二(三)4", "二(三)4"]):
        submit(consultation, first.clauses.get(label=label), n)
    Comment.objects.update(status="answered", decision="adopted", reply="采纳。")
    first_draft_closed(consultation)
    coordinator = staff("hyj", "市海渔局")
    coordinator.user_permissions.add(Permission.objects.get(codename="publish_report"))
    report = report_generate(consultation)
    report_review(report, by=coordinator, counted_at=report.generated_at)
    report_publish(consultation)
    second = weifang_second_draft(consultation)
    submit(consultation, second.clauses.get(label="二(四)1"), 9)
    return consultation


def test_axe_finds_nothing_on_the_revision_choices(page, live_server, two_drafts_first_reported):
    consultation = two_drafts_first_reported
    found = []
    log_in(page, live_server, "hyj")
    page.goto(live_server.url + f"/staff/consultations/{consultation.slug}/dashboard/?revision=2")
    current = page.locator('.revision-choice a[aria-current="page"]')
    assert current.inner_text() == "第2稿"
    assert page.locator("figure.chart svg").count() >= 1
    page.screenshot(path=SCREENSHOTS / "dashboard-revision.png", full_page=True)
    found += axe_findings(page, "dashboard-revision")

    page.goto(live_server.url + reverse("admin:reports_adoptionreport_generate"))
    assert page.locator("select#id_revision option").count() == 3  # the empty one and two
    found += axe_findings(page, "report-generate")

    page.goto(live_server.url + reverse("intake:report", args=[consultation.slug]))
    assert "征求意见采纳情况的说明" in page.locator("h1").inner_text()
    found += axe_findings(page, "report-first-draft")
    assert found == [], "\n".join(found)
