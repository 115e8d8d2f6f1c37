"""English pages punctuate as English does: lists of departments and clauses with ", ", the
decisions with commas, brackets half-width, and counts in the plural when they are."""

import datetime
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import time_machine
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from consult.consultations.models import Consultation
from consult.intake.presenters import time_left_in_words
from consult.reports.models import AdoptionReport, ReportClause
from tests.support.revisions import weifang_second_draft

pytestmark = pytest.mark.django_db

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


def test_a_clauses_departments_are_listed_with_english_commas(client, weifang_open):
    item = weifang_open.clauses.get(label="二(一)1")
    page = client.get(weifang_open.get_absolute_url(), **ENGLISH).content.decode()
    section = page[page.index(f'id="clause-{item.pk}"') :]
    section = section[section.index('class="responsibilities"') :]
    section = section[: section.index("</p>")]
    assert "市科技局, 市工信局" in section
    assert "、" not in section


def test_the_changes_page_in_english_lists_and_counts_with_english_punctuation(
    client, weifang_open
):
    first = weifang_open.current_revision
    merged = first.clauses.get(label="二(五)2")
    second = weifang_second_draft(weifang_open)
    report = AdoptionReport.objects.create(
        consultation=weifang_open,
        revision=first,
        generated_at=weifang_open.opens_at,
        published_at=weifang_open.closes_at + datetime.timedelta(days=1),
    )
    ReportClause.objects.create(
        report=report, clause=merged, position=1, comments=3, adopted=2, explained=1
    )
    url = reverse("intake:revision_changes", args=[weifang_open.slug, second.number])
    page = client.get(url, **ENGLISH).content.decode()
    new_item = second.clauses.get(label="二(五)1")
    section = page[page.index(f'id="clause-{new_item.pk}"') :]
    section = section[: section.index("</li>")]
    # Two predecessors, each department list and the decisions: all with English commas.
    predecessors = re.search(r'class="predecessors">(.*?)</p>', section).group(1)
    predecessors = re.sub(r"<[^>]+>", "", predecessors)  # the clauses are marked lang="zh-Hans"
    assert ", " in predecessors and "、" not in predecessors
    assert re.search(r"Adopted 2, [^,]+ 0, [^,]+ 0, [^,]+ 1", section), section
    for departments in re.findall(r"<dd>(.*?)</dd>", section, re.S)[:2]:
        assert "、" not in departments and "；" not in departments, departments


def test_a_clause_split_in_two_is_named_with_an_english_comma():
    outcome = SimpleNamespace(
        kind="split", old=SimpleNamespace(label="二(一)1"), clauses=["二(一)1", "二(一)2"]
    )
    with translation.override("en"):
        words = render_to_string("intake/_outcome.html", {"outcome": outcome})
    chinese = '<span lang="zh-Hans">{}</span>'.format
    assert words.strip() == (
        f"{chinese('二(一)1')} was split into {chinese('二(一)1')}, {chinese('二(一)2')}"
    )


def test_the_printable_draft_puts_its_draft_title_in_english_brackets(client, weifang_open):
    Consultation.objects.filter(pk=weifang_open.pk).update(draft_title="工作方案")
    page = client.get(f"/consultations/{weifang_open.slug}/print/", **ENGLISH).content.decode()
    assert '“<span lang="zh-Hans">工作方案</span>” (draft for comment)' in page
    assert "（Draft for comment）" not in page and "（" + "draft" not in page.lower()


def test_the_countdown_takes_its_words_and_brackets_from_the_page(client, weifang_open):
    page = client.get(weifang_open.get_absolute_url(), **ENGLISH).content.decode()
    assert 'data-template="({days}d {hours}h {minutes}min left)"' in page
    chinese = client.get(weifang_open.get_absolute_url()).content.decode()
    assert 'data-template="（还剩 {days} 天 {hours} 小时 {minutes} 分钟）"' in chinese
    script = (Path(__file__).resolve().parents[2] / "static" / "consult" / "site.js").read_text()
    assert "（" not in script and "）" not in script


@pytest.mark.parametrize(
    ("days", "hours", "english", "chinese"),
    [
        (1, 1, "1 day and 1 hour left", "还剩 1 天 1 小时"),
        (3, 4, "3 days and 4 hours left", "还剩 3 天 4 小时"),
        (2, 0, "2 days left", "还剩 2 天"),
        (0, 1, "1 hour left", "还剩 1 小时"),
        (0, 0, "Less than an hour left", "还剩不到 1 小时"),
    ],
)
def test_the_time_left_is_said_in_the_plural_when_it_is(days, hours, english, chinese):
    with translation.override("en"):
        assert time_left_in_words(days, hours) == english
    with translation.override("zh-hans"):
        assert time_left_in_words(days, hours) == chinese


def test_the_list_says_one_day_not_one_days(client, weifang_open):
    Consultation.objects.filter(pk=weifang_open.pk).update(
        closes_at=timezone.now() + datetime.timedelta(days=1, hours=1, minutes=30)
    )
    page = client.get("/", **ENGLISH).content.decode()
    assert "1 day and 1 hour left" in page
    assert "1 days" not in page and "1 hours" not in page


def test_one_form_letter_group_is_one_group_in_english(client, weifang_open):
    first = weifang_open.current_revision
    report = AdoptionReport.objects.create(
        consultation=weifang_open,
        revision=first,
        generated_at=weifang_open.opens_at,
        published_at=weifang_open.closes_at + datetime.timedelta(days=1),
        total=3,
        adopted=3,
        campaigns=1,
        campaign_letters=2,
    )
    ReportClause.objects.create(
        report=report,
        clause=first.clauses.get(label="二(一)1"),
        position=1,
        comments=3,
        adopted=3,
        campaigns=1,
        campaign_letters=2,
    )
    url = reverse("intake:revision_report", args=[weifang_open.slug, first.number])
    page = client.get(url, **ENGLISH).content.decode()
    assert "1 group, 2 comments" in page
    # A line counts its letters, and the groups they belong to (a group may span clauses: one
    # letter on a line is no group of one).
    assert "including 2 form letters (groups: 1)<" in page
    assert "1 groups" not in page


@pytest.mark.parametrize(
    ("days", "words"), [(1, "(1 day left)"), (-1, "(1 day overdue)"), (3, "(3 days left)")]
)
def test_one_day_is_one_day_in_the_staff_line(weifang_open, days, words):
    from consult.comments.revision_outcomes import comment_answer_deadline
    from consult.comments.services import comment_submit
    from consult.comments.workflow import answer_duty

    comment = comment_submit(
        consultation=weifang_open,
        clause=weifang_open.clauses.get(label="二(四)2"),
        body="建议公开海洋生态修复项目的资金使用情况。",
        channel="web",
        consent=True,
    ).comment
    now = comment_answer_deadline(comment) - datetime.timedelta(days=days)
    with translation.override("en"):
        assert words in answer_duty(comment, None, now=now)


def test_a_clauses_departments_in_the_english_admin_are_punctuated_in_english(weifang_open):
    from consult.consultations.admin import responsibility_summary
    from consult.consultations.models import Clause

    item = Clause.objects.prefetch_related("responsibilities").get(
        pk=weifang_open.clauses.get(label="二(一)1").pk
    )
    with translation.override("en"):
        summary = responsibility_summary(item)
    assert "：" not in summary and "、" not in summary and "；" not in summary
    assert ", " in summary and ": " in summary
    with translation.override("zh-hans"):
        assert "、" in responsibility_summary(item)


def test_the_apis_wait_is_counted_in_english_and_names_what_was_refused(weifang_open):
    from rest_framework.test import APIClient

    from consult.intake.api import _too_many

    with translation.override("en"):
        assert _too_many(1).data["detail"].endswith("in 1 second.")
        assert _too_many(2).data["detail"].endswith("in 2 seconds.")
    api = APIClient()
    body = {"tracking_number": "CRKX9UBHRW", "proof": "5678"}
    with time_machine.travel(timezone.now(), tick=False):
        for _ in range(50):
            response = api.post("/api/comments/status/", body, format="json", **ENGLISH)
            if response.status_code == 429:
                break
    assert response.status_code == 429
    assert response.json()["detail"].startswith("Too many lookups")
