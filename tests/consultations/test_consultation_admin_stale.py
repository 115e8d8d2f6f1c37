"""The consultation's admin page saves what its user changed, not what it showed."""

import pytest
from django.contrib.auth.models import User

from consult.consultations.models import Consultation
from tests.support.admin_pages import admin_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", password="pw-123456"))
    return client


def change_url(consultation):
    return f"/admin/consultations/consultation/{consultation.pk}/change/"


def test_a_page_saved_unchanged_changes_nothing(admin_client, weifang_open):
    url = change_url(weifang_open)
    before = Consultation.objects.values().get(pk=weifang_open.pk)
    data = admin_form(admin_client.get(url).content.decode())
    assert admin_client.post(url, data).status_code == 302
    after = Consultation.objects.values().get(pk=weifang_open.pk)
    changed = {key for key in before if before[key] != after[key]}
    # Datetimes the page shows to the second; the fixture's are whole seconds.
    assert changed <= {"updated_at"}
