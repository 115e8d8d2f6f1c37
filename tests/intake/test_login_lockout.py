"""Staff logins are locked for a while after repeated failures (django-axes)."""

import datetime

import pytest
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"


def attempt(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})


def test_five_failures_lock_that_username_from_that_address(client, settings):
    User.objects.create_user("hyj", password="the-right-password", is_staff=True)
    User.objects.create_user("fgw", password="another-password", is_staff=True)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "hyj", "guess").status_code == 200  # the form again, with an error
    assert attempt(client, "hyj", "guess").status_code == 429  # the last failure allowed
    locked = attempt(client, "hyj", "the-right-password")
    assert locked.status_code == 429
    assert "请 15 分钟后再试" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # Someone else at the same address still gets in.
    assert attempt(client, "fgw", "another-password").status_code == 302


def test_a_success_before_the_limit_starts_the_count_again(client, settings):
    User.objects.create_user("hyj", password="the-right-password", is_staff=True)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "hyj", "guess")
    assert attempt(client, "hyj", "the-right-password").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "hyj", "guess")
    assert attempt(client, "hyj", "the-right-password").status_code == 302


def test_a_username_longer_than_axes_stores_is_a_failed_login_and_counts(client, settings):
    """The login form does not limit a username's length; axes's record of the failure did
    (255 characters), and PostgreSQL refused it: a 500 before anyone was told anything."""
    from axes.models import AccessAttempt

    long_name = "a" * 256
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, long_name, "guess").status_code == 200
    assert attempt(client, long_name, "guess").status_code == 429
    (recorded,) = AccessAttempt.objects.values_list("username", flat=True)
    assert recorded == long_name[:255]


def test_the_lockout_holds_across_the_addresses_of_one_ipv6_network(client, settings):
    """A host is commonly given a whole /64: a guesser taking a fresh address for each try
    had a fresh five. Another network is another address."""
    User.objects.create_user("hyj", password="the-right-password", is_staff=True)
    answers = [
        client.post(
            LOGIN,
            {"username": "hyj", "password": "guess", "next": "/admin/"},
            REMOTE_ADDR=f"2001:db8:9:9::{n + 1:x}",
        ).status_code
        for n in range(settings.AXES_FAILURE_LIMIT + 1)
    ]
    assert answers == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429, 429]
    elsewhere = client.post(
        LOGIN,
        {"username": "hyj", "password": "the-right-password", "next": "/admin/"},
        REMOTE_ADDR="2001:db8:9:a::1",
    )
    assert elsewhere.status_code == 302


@pytest.mark.parametrize(
    ("minutes", "wait", "english_wait"),
    [
        # The page read the timedelta's .seconds, which leaves out whole days: "请 0 分钟后再试".
        (24 * 60, "请 24 小时后再试", "Try again in 24 hours"),
        (3 * 24 * 60, "请 72 小时后再试", "Try again in 72 hours"),
        (90, "请 90 分钟后再试", "Try again in 90 minutes"),
        (1, "请 1 分钟后再试", "Try again in 1 minute;"),
    ],
)
def test_the_locked_page_names_the_whole_wait(client, settings, minutes, wait, english_wait):
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=minutes)
    User.objects.create_user("hyj", password="the-right-password", is_staff=True)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "hyj", "guess")
    locked = attempt(client, "hyj", "the-right-password")
    assert locked.status_code == 429
    assert wait in locked.content.decode()
    # Said in the header too, as the site's other 429s say it (a review found it missing).
    assert locked["Retry-After"] == str(minutes * 60)
    client.cookies["django_language"] = "en"
    english = attempt(client, "hyj", "the-right-password").content.decode()
    assert english_wait in english
