"""The consultation's admin page saves what its user changed, not what it showed.

Publishing a later draft for comment moves the consultation's period and text. A change page
opened before that and saved after must not put the earlier draft's period back (onto the
consultation and, through `Consultation.save`, onto the draft now consulted on) nor its
preamble; a colleague's save in between is kept the same way."""

import datetime

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from consult.consultations.models import Consultation, Department, Revision
from tests.support.admin_pages import admin_form
from tests.support.revisions import weifang_second_draft

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", password="pw-123456"))
    return client


def change_url(consultation):
    return f"/admin/consultations/consultation/{consultation.pk}/change/"


def test_a_page_opened_before_the_next_draft_went_out_keeps_the_new_draft_s_period_and_text(
    admin_client, weifang_open
):
    now = timezone.now().replace(microsecond=0)
    first_period = (now - datetime.timedelta(days=5), now + datetime.timedelta(days=20))
    weifang_open.opens_at, weifang_open.closes_at = first_period
    weifang_open.save()
    url = change_url(weifang_open)
    data = admin_form(admin_client.get(url).content.decode())

    draft2 = weifang_second_draft(weifang_open)  # published from another tab meanwhile
    second_period = (draft2.opens_at, draft2.closes_at)
    assert second_period != first_period

    data["contact_phone"] = "0536-8888888"
    response = admin_client.post(url, data, follow=True)
    assert response.status_code == 200
    assert not response.context.get("errors")

    consultation = Consultation.objects.get(pk=weifang_open.pk)
    draft2.refresh_from_db()
    assert consultation.contact_phone == "0536-8888888"
    assert (draft2.opens_at, draft2.closes_at) == second_period
    assert (consultation.opens_at, consultation.closes_at) == second_period
    assert consultation.preamble == draft2.preamble
    assert consultation.draft_title == (draft2.draft_title or weifang_open.draft_title)
    first = Revision.objects.get(consultation=weifang_open, number=1)
    assert (first.opens_at, first.closes_at) == first_period
    page = response.content.decode()
    assert "本页打开后" in page and "开始时间" in page and "截止时间" in page


def test_a_field_changed_by_both_is_refused_naming_its_value_now_then_saved_as_typed(
    admin_client, weifang_open
):
    url = change_url(weifang_open)
    data = admin_form(admin_client.get(url).content.decode())

    # A colleague moves the close by a day and renames the consultation.
    colleague = Consultation.objects.get(pk=weifang_open.pk)
    colleague_close = (weifang_open.closes_at + datetime.timedelta(days=1)).replace(microsecond=0)
    colleague.closes_at = colleague_close
    colleague.title = "同事改过的标题"
    colleague.issuer = Department.objects.get(name="市发改委")
    colleague.save()

    # This page moves the close by two days.
    mine = timezone.localtime(weifang_open.closes_at + datetime.timedelta(days=2))
    data["closes_at_0"], data["closes_at_1"] = f"{mine:%Y-%m-%d}", f"{mine:%H:%M:%S}"
    response = admin_client.post(url, data)
    assert response.status_code == 200  # shown again, nothing saved
    page = response.content.decode()
    assert f"{timezone.localtime(colleague_close):%Y-%m-%d %H:%M:%S}" in page
    saved = Consultation.objects.get(pk=weifang_open.pk)
    assert (saved.closes_at, saved.title) == (colleague_close, "同事改过的标题")

    # Shown again: my close as typed, the colleague's title where I typed nothing.
    again = admin_form(page)
    for part in ("closes_at_0", "closes_at_1"):
        assert again[part] == data[part]
    assert again["title"] == "同事改过的标题"
    assert again["issuer"] == str(colleague.issuer.pk)
    assert admin_client.post(url, again).status_code == 302
    saved.refresh_from_db()
    assert saved.closes_at == mine.replace(microsecond=0)
    assert (saved.title, saved.issuer) == ("同事改过的标题", colleague.issuer)
    consulted = Revision.objects.get(pk=saved.current_revision_id)
    assert consulted.closes_at == saved.closes_at


def test_a_page_saved_unchanged_changes_nothing(admin_client, weifang_open):
    url = change_url(weifang_open)
    before = Consultation.objects.values().get(pk=weifang_open.pk)
    data = admin_form(admin_client.get(url).content.decode())
    assert admin_client.post(url, data).status_code == 302
    after = Consultation.objects.values().get(pk=weifang_open.pk)
    changed = {key for key in before if before[key] != after[key]}
    # Datetimes the page shows to the second; the fixture's are whole seconds.
    assert changed <= {"updated_at"}


def test_a_consultation_added_in_the_admin_has_its_first_draft_and_its_comments_are_purged(
    admin_client, weifang_open, settings
):
    """Without a first draft, the retention purge never reached its comments' personal data."""
    from django.urls import reverse

    from consult.comments.models import Comment
    from consult.comments.retention import personal_data_purge
    from consult.comments.services import comment_submit

    now = timezone.localtime()
    data = {
        "title": "测试征求意见",
        "slug": "admin-made",
        "issuer": Department.objects.get(name="市海渔局").pk,
        "opens_at_0": (now - datetime.timedelta(days=2)).strftime("%Y-%m-%d"),
        "opens_at_1": "00:00:00",
        "closes_at_0": (now + datetime.timedelta(days=2)).strftime("%Y-%m-%d"),
        "closes_at_1": "23:59:59",
        "answer_days": 15,
        "clauses-TOTAL_FORMS": 0,
        "clauses-INITIAL_FORMS": 0,
        "clauses-MIN_NUM_FORMS": 0,
        "clauses-MAX_NUM_FORMS": 1000,
    }
    response = admin_client.post(reverse("admin:consultations_consultation_add"), data)
    assert response.status_code == 302
    consultation = Consultation.objects.get(slug="admin-made")
    first = Revision.objects.get(consultation=consultation)
    assert (first.number, consultation.current_revision_id) == (1, first.pk)
    assert first.published_at is not None
    comment = comment_submit(
        consultation=consultation,
        clause=None,
        body="整体上支持方案，建议增加年度评估机制。",
        channel="web",
        consent=True,
        phone="13812345678",
    ).comment
    later = consultation.closes_at + datetime.timedelta(
        days=settings.PERSONAL_DATA_RETENTION_DAYS + 1
    )
    assert personal_data_purge(now=later) == 1
    assert Comment.objects.get(pk=comment.pk).phone == ""
