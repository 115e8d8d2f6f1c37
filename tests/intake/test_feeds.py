"""Atom and RSS feeds of consultations as they open and of published adoption reports."""

import datetime
import xml.etree.ElementTree as ET

import pytest
from django.utils import timezone

from consult.consultations.revisions import revision_first
from consult.reports.models import AdoptionReport
from tests.factories import ConsultationFactory, DepartmentFactory

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


def atom_entries(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    return root.findall(f"{ATOM}entry")


@pytest.fixture
def consultations():
    now = timezone.now()
    issuer = DepartmentFactory(name="市发改委", full_name="潍坊市发展和改革委员会")
    older = ConsultationFactory(
        title="旧的征求意见稿",
        issuer=issuer,
        opens_at=now - datetime.timedelta(days=40),
        closes_at=now - datetime.timedelta(days=10),
        report_published_at=now - datetime.timedelta(days=2),
    )
    newer = ConsultationFactory(
        title="新的征求意见稿 <测试> & 符号",
        issuer=issuer,
        opens_at=now - datetime.timedelta(hours=1),
        closes_at=now + datetime.timedelta(days=30),
    )
    # Published as report_publish leaves it: the report on its draft, and the date on both.
    AdoptionReport.objects.create(
        consultation=older,
        revision=revision_first(older),
        generated_at=older.report_published_at,
        published_at=older.report_published_at,
    )
    upcoming = ConsultationFactory(
        title="尚未开始的征求意见稿",
        opens_at=now + datetime.timedelta(days=3),
        closes_at=now + datetime.timedelta(days=33),
    )
    return older, newer, upcoming


def test_the_consultations_feed_lists_opened_ones_newest_first(client, consultations):
    older, newer, _upcoming = consultations
    entries = atom_entries(client.get("/feeds/consultations.atom"))
    titles = [entry.findtext(f"{ATOM}title") for entry in entries]
    # Not yet open: not news yet.
    assert titles == [newer.title, older.title]
    first = entries[0]
    assert first.find(f"{ATOM}link").get("href") == f"http://testserver/consultations/{newer.slug}/"
    assert first.findtext(f"{ATOM}author/{ATOM}name") == "潍坊市发展和改革委员会"
    summary = first.findtext(f"{ATOM}summary")
    assert "发布单位：潍坊市发展和改革委员会" in summary
    assert "征求意见时间：" in summary
    published = datetime.datetime.fromisoformat(first.findtext(f"{ATOM}published"))
    assert published == newer.opens_at


def test_the_reports_feed_lists_published_reports_only(client, consultations, settings):
    older, _newer, _upcoming = consultations
    entries = atom_entries(client.get("/feeds/reports.atom"))
    assert len(entries) == 1
    assert entries[0].findtext(f"{ATOM}title") == f"《{older.title}》意见采纳情况"
    link = entries[0].find(f"{ATOM}link").get("href")
    assert link == f"http://testserver/consultations/{older.slug}/revisions/1/report/"
    # The id it was first listed under, when the link was the consultation's report page.
    assert entries[0].findtext(f"{ATOM}id") == (
        f"{settings.SITE_URL}/consultations/{older.slug}/report/"
    )


@pytest.mark.parametrize(
    ("url", "count"), [("/feeds/consultations.rss", 2), ("/feeds/reports.rss", 1)]
)
def test_the_rss_feeds_are_valid_rss(client, consultations, url, count):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    root = ET.fromstring(response.content)
    assert root.tag == "rss"
    items = root.findall("channel/item")
    assert len(items) == count
    assert all(item.findtext("link").startswith("http://testserver/") for item in items)
    # The ids are paths kept as first listed, not links.
    assert all(item.find("guid").get("isPermaLink") == "false" for item in items)


def test_every_atom_entry_id_is_absolute(client, consultations):
    """RFC 4287 requires an absolute IRI: "/consultations/x/" was refused or mixed up with
    another site's entries by feed readers."""
    for url in ("/feeds/consultations.atom", "/feeds/reports.atom"):
        root = ET.fromstring(client.get(url).content)
        ids = [entry.findtext(f"{ATOM}id") for entry in root.findall(f"{ATOM}entry")]
        assert ids and all(i.startswith(("http://", "https://")) for i in ids), ids


def test_the_feeds_are_shared_by_anonymous_readers(client, consultations, settings):
    settings.PUBLIC_PAGES_MAX_AGE = 30
    response = client.get("/feeds/consultations.atom")
    assert "public" in response["Cache-Control"]
    again = client.get("/feeds/consultations.atom", headers={"If-None-Match": response["ETag"]})
    assert again.status_code == 304


def test_the_consultation_page_links_its_feed_and_downloads(client, consultations):
    _older, newer, _upcoming = consultations
    page = client.get(newer.get_absolute_url()).content.decode()
    assert 'rel="alternate" type="application/atom+xml" href="/feeds/consultations.atom"' in page
    assert f"/consultations/{newer.slug}/draft.docx" in page
    assert f"/consultations/{newer.slug}/print/" in page


@pytest.mark.parametrize("url", ["/feeds/consultations.atom", "/feeds/consultations.rss"])
def test_a_control_character_already_stored_does_not_take_a_feed_down(client, consultations, url):
    """Stored before the admin refused them (or written by a command): one title or issuer name
    holding an escape pasted from a PDF made the whole feed a 500 for every reader."""
    _older, newer, _upcoming = consultations
    newer.title = "海洋\x1b产业"
    newer.save(update_fields=["title"])
    newer.issuer.full_name = "潍坊市\x1b发展和改革委员会"
    newer.issuer.save(update_fields=["full_name"])
    response = client.get(url)
    assert response.status_code == 200
    assert "海洋产业" in response.content.decode()
    assert "\x1b" not in response.content.decode()
