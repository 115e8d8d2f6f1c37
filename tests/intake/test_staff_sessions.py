"""A staff sign-in: how long it lasts, and where it lands."""

import pytest
from django.conf import settings
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"


@pytest.fixture
def staff_member():
    return User.objects.create_user("hyj", password="the-right-password", is_staff=True)


def test_a_sign_in_lasts_the_configured_hours_not_two_weeks(client, staff_member):
    """On a shared office computer a department's sign-in kept citizens' names and phones open
    for Django's default fourteen days."""
    response = client.post(
        LOGIN, {"username": "hyj", "password": "the-right-password", "next": "/admin/"}
    )
    assert response.status_code == 302
    eight_hours = 8 * 60 * 60  # SESSION_HOURS's default
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == eight_hours
    assert client.session.get_expiry_age() == eight_hours


@pytest.mark.parametrize("elsewhere", ["https://evil.example/", "//evil.example/"])
def test_a_sign_in_sent_to_another_site_lands_on_the_admin_index(client, staff_member, elsewhere):
    """Django refuses the redirect and fell back to /accounts/profile/, a 404."""
    response = client.post(
        f"{LOGIN}?next={elsewhere}",
        {"username": "hyj", "password": "the-right-password", "next": elsewhere},
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get(response["Location"]).status_code == 200
