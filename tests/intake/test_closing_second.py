"""A notice's "17:00前" closes at 16:59:59: the pages that give the closing time give it to the
second, as the closed page and the reminders do, not as "16:59" a minute early."""

import datetime
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from consult.consultations.models import Consultation

pytestmark = pytest.mark.django_db

BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
def closing_at_five(weifang_open):
    day = timezone.now().astimezone(BEIJING).date() + datetime.timedelta(days=5)
    closes = datetime.datetime.combine(day, datetime.time(16, 59, 59), tzinfo=BEIJING)
    Consultation.objects.filter(pk=weifang_open.pk).update(closes_at=closes)
    weifang_open.refresh_from_db()
    return weifang_open


def pages(client, consultation):
    return {
        "consultation": client.get(consultation.get_absolute_url()),
        "list": client.get("/"),
        "form": client.get(reverse("intake:comment_create", args=[consultation.slug])),
    }


def test_open_pages_give_the_closing_second(client, closing_at_five):
    for name, response in pages(client, closing_at_five).items():
        page = response.content.decode()
        assert "16:59:59（北京时间）" in page, name
        assert "16:59（" not in page, name


def test_a_closed_consultation_on_the_list_gives_the_second_it_closed(client, weifang_open):
    closes = timezone.now().astimezone(BEIJING).replace(microsecond=0) - datetime.timedelta(days=1)
    closes = closes.replace(hour=16, minute=59, second=59)
    Consultation.objects.filter(pk=weifang_open.pk).update(
        opens_at=closes - datetime.timedelta(days=30), closes_at=closes
    )
    page = client.get("/").content.decode()
    assert f"已于 {closes.year}年{closes.month}月{closes.day}日 16:59:59 截止" in page


@pytest.mark.parametrize(("language", "shown"), [("zh-hans", "16:59:59"), ("en", "16:59:59")])
def test_the_admin_list_gives_the_closing_second(client, closing_at_five, language, shown):
    """Django's formats show "16:59" (and "4:59 p.m."): staff read a close a minute early."""
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_superuser("root", password="pw-123456"))
    page = client.get(
        "/admin/consultations/consultation/", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    assert shown in page
