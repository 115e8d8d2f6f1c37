"""A report's link never moves: the email and the feed entry of the first draft's report point to
that draft's own report page, which still shows it once a later draft's report is out; the feed
entry keeps the id it was first listed under (review item 9)."""

import datetime
import xml.etree.ElementTree as ET

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from consult.reports.models import AdoptionReport
from consult.reports.services import (
    report_generate,
    report_guid,
    report_path,
    report_publish,
    report_review,
    reports_published,
)
from tests.support.revisions import first_draft_closed, weifang_second_draft

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def coordinator():
    user = User.objects.create_user("hyj", password="pw")
    staff_join(user, Department.objects.get(name="市海渔局"))
    return user


def submit(consultation, clause, n):
    comment_submit(
        consultation=consultation,
        clause=clause,
        body=f"第{n}条意见：建议明确集聚区评价指标。",
        channel="web",
        consent=True,
        phone=f"1381234{n:04d}",
        email=f"c{n}@example.cn",
        notify_on_report=True,
    )
    Comment.objects.update(status="answered", decision="adopted", reply="采纳。")


def publish(consultation, coordinator, revision=None):
    report = report_generate(consultation, revision=revision)
    report_review(report, by=coordinator, counted_at=report.generated_at)
    report_publish(consultation, revision=revision)
    report.refresh_from_db()
    return report


def feed_entries(client) -> dict:
    """Each entry of the reports feed as {title: (link, id)}."""
    root = ET.fromstring(client.get("/feeds/reports.atom").content)
    return {
        entry.findtext(f"{ATOM}title"): (
            entry.find(f"{ATOM}link").get("href"),
            entry.findtext(f"{ATOM}id"),
        )
        for entry in root.findall(f"{ATOM}entry")
    }


def introduction(page: str) -> str:
    return page.split('class="introduction"')[1].split("</div>")[0]


@pytest.fixture
def first_published(weifang_open, coordinator, django_capture_on_commit_callbacks):
    """The only draft, closed ten days ago, two comments on it; its report published (mailed)."""
    first = weifang_open.current_revision
    submit(weifang_open, first.clauses.get(label="二(一)1"), 1)
    submit(weifang_open, first.clauses.get(label="二(三)4"), 2)
    first_draft_closed(weifang_open)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        report = publish(weifang_open, coordinator, first)
    return weifang_open, report


def second_published(consultation, coordinator, now):
    """The second draft, out a minute after `now`, one comment on it, its report published
    after its close; returns the moment after that."""
    with time_machine.travel(now + datetime.timedelta(minutes=1)):
        second = weifang_second_draft(consultation)
        submit(consultation, second.clauses.get(label="二(四)1"), 3)
    after = second.closes_at + datetime.timedelta(days=1)
    with time_machine.travel(after):
        consultation.refresh_from_db()
        publish(consultation, coordinator)
    return after


def test_the_first_draft_s_email_and_feed_link_still_show_its_report_after_the_second_s(
    client, first_published, coordinator
):
    consultation, report = first_published
    own = reverse("intake:revision_report", args=[consultation.slug, 1])
    assert report_path(report) == own
    assert mail.outbox and all(f"http://testserver{own}\n" in m.body for m in mail.outbox)
    title = f"《{consultation.title}》意见采纳情况"
    assert feed_entries(client)[title][0] == f"http://testserver{own}"

    after = second_published(consultation, coordinator, timezone.now())
    with time_machine.travel(after):
        page = client.get(own).content.decode()
        latest = client.get(reverse("intake:report", args=[consultation.slug])).content.decode()
        entries = feed_entries(client)
    assert "共收到意见 2 条" in introduction(page) and "第2稿" not in introduction(page)
    # The consultation's page moved on to the second draft's report; the link did not.
    assert "第2稿" in introduction(latest)
    assert entries[title][0] == f"http://testserver{own}"


def test_a_report_keeps_the_feed_id_it_was_first_listed_under(client, first_published, coordinator):
    """Published while its draft was the only one: the consultation's report page, as
    listed then, for good. A first draft's report published after a second draft was out:
    its own page, as listed then."""
    consultation, report = first_published
    listed = reverse("intake:report", args=[consultation.slug])
    assert report_guid(report) == listed
    after = second_published(consultation, coordinator, timezone.now())
    with time_machine.travel(after):
        by_id = {item.pk: item for item in reports_published()}
        assert report_guid(report) == listed
        assert report_guid(by_id[report.pk], later_draft_when_published=False) == listed
        assert not by_id[report.pk].later_draft_when_published
        second = AdoptionReport.objects.get(revision__number=2)
        own = reverse("intake:revision_report", args=[consultation.slug, 2])
        assert report_guid(second) == report_path(second) == own

    # Had the first draft's report come out after the second draft, it was listed under its own.
    AdoptionReport.objects.filter(pk=report.pk).update(
        published_at=timezone.now() + datetime.timedelta(minutes=2)
    )
    report.refresh_from_db()
    first_own = reverse("intake:revision_report", args=[consultation.slug, 1])
    assert report_guid(report) == first_own
    assert {item.pk: item for item in reports_published()}[report.pk].later_draft_when_published


def test_the_feed_entry_keeps_its_first_id(client, first_published, coordinator):
    consultation, _report = first_published
    title = f"《{consultation.title}》意见采纳情况"
    first_id = feed_entries(client)[title][1]
    after = second_published(consultation, coordinator, timezone.now())
    with time_machine.travel(after):
        assert feed_entries(client)[title][1] == first_id
    assert first_id == settings.SITE_URL + reverse("intake:report", args=[consultation.slug])
