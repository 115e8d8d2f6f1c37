"""Behind a TLS proxy Django was not told about: one warning in the log, a 503, no redirect loop.

The proxy on another host terminates TLS and forwards plain HTTP with X-Forwarded-Proto: https.
Without BEHIND_TLS_PROXY (SECURE_PROXY_SSL_HEADER), SECURE_SSL_REDIRECT used to answer every such
request with a redirect to the same https:// URL, which came back the same way, forever.
"""

import logging

import pytest
from django.test import Client

from consult.web import proxy

pytestmark = pytest.mark.django_db

FROM_TLS_PROXY = {"HTTP_X_FORWARDED_PROTO": "https"}


@pytest.fixture
def redirecting(settings, monkeypatch):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = None
    monkeypatch.setattr(proxy, "_warned", False)  # a fresh process
    return settings


def proxy_warnings(caplog):
    return [r for r in caplog.records if r.name == "consult.web.proxy"]


def test_an_unconfigured_proxy_gets_a_503_and_one_warning_not_a_redirect(redirecting, caplog):
    client = Client()
    with caplog.at_level(logging.WARNING, logger="consult.web.proxy"):
        answers = [client.get(path, **FROM_TLS_PROXY) for path in ("/", "/api/consultations/")]
    assert [answer.status_code for answer in answers] == [503, 503]
    assert "Location" not in answers[0]
    [warning] = proxy_warnings(caplog)  # once per process, however many requests
    assert warning.levelno == logging.WARNING
    assert "BEHIND_TLS_PROXY" in warning.getMessage()
    assert "X-Forwarded-Proto" in warning.getMessage()


def test_plain_http_without_a_proxy_is_still_redirected_to_https(redirecting, caplog):
    response = Client().get("/api/consultations/?x=1")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/api/consultations/?x=1"
    assert not proxy_warnings(caplog)


def test_a_configured_proxy_is_served(redirecting, caplog, weifang_open):
    redirecting.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert Client().get("/", **FROM_TLS_PROXY).status_code == 200
    assert not proxy_warnings(caplog)


def test_https_to_django_itself_is_served(redirecting, caplog, weifang_open):
    assert Client().get("/", secure=True, **FROM_TLS_PROXY).status_code == 200
    assert not proxy_warnings(caplog)


def test_paths_exempt_from_the_redirect_are_served(redirecting):
    # The load balancer's health check must not fail because of this.
    assert Client().get("/healthz", **FROM_TLS_PROXY).status_code == 200


def test_without_ssl_redirect_nothing_changes(settings, caplog, weifang_open):
    settings.SECURE_SSL_REDIRECT = False
    assert Client().get("/", **FROM_TLS_PROXY).status_code == 200
    assert not proxy_warnings(caplog)
