"""English pages punctuate as English does: lists of departments and clauses with ", ", the
decisions with commas, brackets half-width, and counts in the plural when they are."""

import datetime
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
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
    assert words.strip() == "二(一)1 was split into 二(一)1, 二(一)2"


def test_the_printable_draft_puts_its_draft_title_in_english_brackets(client, weifang_open):
    Consultation.objects.filter(pk=weifang_open.pk).update(draft_title="工作方案")
    page = client.get(f"/consultations/{weifang_open.slug}/print/", **ENGLISH).content.decode()
    assert "“工作方案” (draft for comment)" in page
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
