"""`check --deploy` refuses a SITE_URL that emailed links cannot be built on, and warns of a
proxy that hides the clients' addresses."""

import pytest

from consult.intake.checks import (
    client_addresses_come_through_the_proxy,
    site_url_is_the_public_site,
)


def errors(settings, site_url, *, allowed=("consult.example.gov.cn",), debug=False):
    settings.DEBUG = debug
    settings.SITE_URL = site_url
    settings.ALLOWED_HOSTS = list(allowed)
    return [error.id for error in site_url_is_the_public_site(None)]


@pytest.mark.parametrize(
    "site_url",
    [
        "http://127.0.0.1:8000",  # the default, left in production
        "http://consult.example.gov.cn",  # links in emails would go out unencrypted
        "https://localhost",
        "https://[::1]:8443",
        "https://consult.localhost",
        "https://other.example.gov.cn",  # a host the site refuses (400) when the link is opened
        "consult.example.gov.cn",
    ],
)
def test_refused(settings, site_url):
    assert errors(settings, site_url) == ["intake.E002"]


@pytest.mark.parametrize(
    ("site_url", "allowed"),
    [
        ("https://consult.example.gov.cn", ["consult.example.gov.cn"]),
        ("https://consult.example.gov.cn/", [".example.gov.cn"]),
        ("https://CONSULT.example.gov.cn:8443", ["consult.example.gov.cn"]),
    ],
)
def test_accepted(settings, site_url, allowed):
    assert errors(settings, site_url, allowed=allowed) == []


def test_development_is_not_checked(settings):
    assert errors(settings, "http://127.0.0.1:8000", debug=True) == []


@pytest.mark.parametrize(
    ("behind_proxy", "proxies", "expected"),
    [
        # The README's example once left the count out: the whole site shared one address.
        (True, 0, ["intake.W001"]),
        (True, 1, []),
        (False, 0, []),  # clients connect to gunicorn themselves
    ],
)
def test_a_proxy_without_forwarded_client_addresses_is_warned_of(
    settings, behind_proxy, proxies, expected
):
    settings.DEBUG = False
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if behind_proxy else None
    settings.TRUSTED_PROXY_COUNT = proxies
    assert [w.id for w in client_addresses_come_through_the_proxy(None)] == expected
