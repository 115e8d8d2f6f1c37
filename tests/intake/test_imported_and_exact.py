"""On English pages the revision comparison, the published comments and the adoption report
mark what the notice brought as Chinese and quote draft titles in English quotes; the draft's
print, Word and PDF facts and the 'consultation opened' email give the closing time to the
second, in Beijing time, as the pages do."""

import datetime
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import translation

from consult.comments.services import comment_submit
from consult.consultations.models import Consultation, Department
from consult.intake.drafts import draft_facts, draft_title_line
from consult.reports.models import AdoptionReport, ReportClause
from consult.subscriptions.models import Subscription
from consult.subscriptions.services import _opened_context
from tests.support.revisions import weifang_second_draft

pytestmark = pytest.mark.django_db

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}
BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")
CLOSES = datetime.datetime(2031, 3, 1, 16, 59, 59, tzinfo=BEIJING)


@pytest.fixture
def closing_at_165959(weifang_open):
    Consultation.objects.filter(pk=weifang_open.pk).update(closes_at=CLOSES)
    weifang_open.refresh_from_db()
    return weifang_open


def test_the_drafts_facts_give_the_closing_time_to_the_second(closing_at_165959):
    with translation.override("zh-hans"):
        (period,) = [value for label, value in draft_facts(closing_at_165959) if "时间" in label]
    assert "2031年3月1日 16:59:59（北京时间）" in period
    with translation.override("en"):
        facts = dict(draft_facts(closing_at_165959))
    assert "1 March 2031, 16:59:59 (Beijing time)" in facts["Comment period"]


def test_the_opening_email_gives_the_closing_time_to_the_second(closing_at_165959):
    subscription = Subscription(email="a@example.org", language="en")
    assert _opened_context(closing_at_165959, subscription)["period"].endswith(
        "1 March 2031, 16:59:59"
    )


def test_the_draft_title_is_quoted_in_english_quotes(weifang_open):
    weifang_open.draft_title = "工作方案"
    with translation.override("en"):
        assert draft_title_line(weifang_open) == "“工作方案” (draft for comment)"
    with translation.override("zh-hans"):
        assert draft_title_line(weifang_open) == "《工作方案》（征求意见稿）"


def test_the_comparison_marks_headings_departments_and_text_as_chinese(client, weifang_open):
    Consultation.objects.filter(pk=weifang_open.pk).update(draft_title="工作方案")
    weifang_second_draft(weifang_open)
    url = reverse("intake:revision_changes", args=[weifang_open.slug, 2])
    page = client.get(url, **ENGLISH).content.decode()
    assert f'lang="zh-Hans">← {weifang_open.title}</a>' in page
    assert '</span><span lang="zh-Hans">' in page  # the clause heading, after its kind
    assert '<span lang="zh-Hans">市发改委' in page
    assert '<p class="diff"><span lang="zh-Hans">' in page
    chinese = client.get(url + "?zh").content.decode()
    assert 'lang="zh-Hans"' not in chinese
    revision = client.get(
        reverse("intake:revision", args=[weifang_open.slug, 1]), **ENGLISH
    ).content.decode()
    assert '<h1 lang="zh-Hans">' in revision
    assert "《" not in revision.split("<main", 1)[1].split("<ol", 1)[0]


def test_the_published_comments_and_the_report_mark_imported_chinese(client, weifang_open):
    clause = weifang_open.clauses.get(label="二(二)2")
    comment_submit(
        consultation=weifang_open, clause=clause, body="意见", channel="web", consent=True
    )
    listing = client.get(
        reverse("intake:clause_published_comments", args=[weifang_open.slug, clause.pk]),
        **ENGLISH,
    ).content.decode()
    assert f'lang="zh-Hans">← {weifang_open.title}</a>' in listing
    assert f'<span lang="zh-Hans">{clause.heading}</span>' in listing
    report = AdoptionReport.objects.create(
        consultation=weifang_open,
        revision=weifang_open.current_revision,
        generated_at=weifang_open.opens_at,
        introduction="本次征求意见共收到意见。",
        published_at=weifang_open.closes_at,
    )
    ReportClause.objects.create(report=report, clause=clause, position=1, comments=1, gist="采纳")
    page = client.get(
        reverse("intake:report", args=[weifang_open.slug]), **ENGLISH
    ).content.decode()
    assert f'<span lang="zh-Hans">{weifang_open.title}</span>' in page.split("<h1>", 1)[1]
    assert '<div class="introduction" lang="zh-Hans">' in page
    assert f'<span lang="zh-Hans">{clause.label} {clause.heading}</span>' in page
    issuer = Department.objects.get(pk=weifang_open.issuer_id)
    assert f'<span lang="zh-Hans">{issuer.full_name or issuer.name}</span>' in page
