"""Staff's text in the admin is refused with a control character in it, as a citizen's is: a
title or a department's name holding an escape pasted from a PDF saved without complaint and
then broke the public feeds and the draft's Word file for every visitor."""

import pytest
from django.contrib.auth.models import User

from consult.consultations.models import Consultation, Department
from tests.support.admin_pages import admin_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", password="pw-123456"))
    return client


@pytest.mark.parametrize("text", ["海洋\x1b产业", "海洋\x7f产业", "海洋\ufdd0产业"])
def test_a_consultation_title_with_a_control_character_is_refused(admin_client, weifang_open, text):
    url = f"/admin/consultations/consultation/{weifang_open.pk}/change/"
    data = admin_form(admin_client.get(url).content.decode())
    title = data["title"]
    data["title"] = text
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "不可见的控制字符" in response.content.decode()
    assert Consultation.objects.get(pk=weifang_open.pk).title == title


def test_a_department_s_full_name_with_a_control_character_is_refused(admin_client, weifang_open):
    issuer = weifang_open.issuer
    url = f"/admin/consultations/department/{issuer.pk}/change/"
    data = admin_form(admin_client.get(url).content.decode())
    data["full_name"] = "潍坊市\x1b海洋发展和渔业局"
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "不可见的控制字符" in response.content.decode()
    assert "\x1b" not in Department.objects.get(pk=issuer.pk).full_name


def test_line_breaks_and_tabs_in_a_longer_text_are_kept(admin_client, weifang_open):
    url = f"/admin/consultations/consultation/{weifang_open.pk}/change/"
    data = admin_form(admin_client.get(url).content.decode())
    data["preamble"] = "第一段。\r\n\t第二段。"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert "第二段" in Consultation.objects.get(pk=weifang_open.pk).preamble


def test_a_stored_page_break_does_not_stop_a_save_of_another_field(admin_client, weifang_open):
    """A notice imported with pdftotext's page break keeps it in its source text: saving the
    contact's name on that page was refused for a field nobody touched."""
    Consultation.objects.filter(pk=weifang_open.pk).update(source_text="第一页\x0c第二页")
    url = f"/admin/consultations/consultation/{weifang_open.pk}/change/"
    data = admin_form(admin_client.get(url).content.decode())
    data["contact_name"] = "丁家楠"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    saved = Consultation.objects.get(pk=weifang_open.pk)
    assert saved.contact_name == "丁家楠"
    assert saved.source_text == "第一页\x0c第二页"
