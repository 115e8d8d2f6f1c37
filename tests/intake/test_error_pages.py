"""The site's own error pages, in the visitor's language, with a way back: 404 and 400 in the
site's layout, 500 standalone (no request, no database). Under /api/ errors stay JSON."""

import json

import pytest
from django.core.exceptions import SuspiciousOperation
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import translation

from consult.web import errors

pytestmark = pytest.mark.django_db


def assert_links_home_and_to_the_lookup(page: str):
    assert '<a href="/">' in page
    assert '<a href="/comments/status/">' in page


def test_an_unknown_page_is_a_chinese_404_in_the_sites_layout(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert '<html lang="zh-hans">' in page
    assert "<h1>页面不存在</h1>" in page
    assert 'class="language-switch"' in page  # base.html
    assert_links_home_and_to_the_lookup(page)
    assert "Not Found" not in page


def test_an_unknown_page_speaks_english_to_an_english_visitor(client):
    response = client.get("/consultations/no-such-slug/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    page = response.content.decode()
    assert '<html lang="en">' in page
    assert "<h1>Page not found</h1>" in page
    assert "Look up a comment's status" in page
    assert "页面不存在" not in page
    assert_links_home_and_to_the_lookup(page)


def test_the_api_still_answers_its_404_in_json(client):
    response = client.get("/api/no-such-endpoint/")
    assert response.status_code == 404
    assert response.json() == {"detail": "未找到。"}


def test_a_bad_request_is_a_translated_400(rf_en):
    response = errors.bad_request(rf_en, SuspiciousOperation("bad"))
    assert response.status_code == 400
    page = response.content.decode()
    assert '<html lang="en">' in page and "<h1>Bad request</h1>" in page
    assert_links_home_and_to_the_lookup(page)


@pytest.mark.parametrize("redirected_to_https", [False, True])
def test_a_request_for_another_host_gets_the_400_page(client, settings, redirected_to_https):
    # Production redirects plain HTTP first, and asks for the host there.
    settings.SECURE_SSL_REDIRECT = redirected_to_https
    response = client.get("/", HTTP_HOST="elsewhere.example")
    assert response.status_code == 400
    assert "<h1>请求无效</h1>" in response.content.decode()
    # Refused before the site's pages are reached, it still may not be framed or run scripts
    # from elsewhere (it had neither header).
    assert response["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_a_server_error_is_a_translated_standalone_500(client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("broken")

    monkeypatch.setattr("consult.intake.views.render", broken)
    client.raise_request_exception = False
    response = client.get("/privacy/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 500
    page = response.content.decode()
    assert '<html lang="en">' in page and "<h1>Something went wrong</h1>" in page
    assert_links_home_and_to_the_lookup(page)


def test_the_500_page_asks_nothing_of_the_database(rf_en, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = errors.server_error(rf_en)
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_the_500_page_renders_without_a_request():
    with translation.override("zh-hans"):
        page = render_to_string("500.html")
    assert '<html lang="zh-hans">' in page and "<h1>网站出错</h1>" in page
    assert '<link rel="stylesheet" href="/static/consult/site.css">' in page


@pytest.fixture
def rf_en():
    request = RequestFactory().get("/somewhere/")
    with translation.override("en"):
        yield request


def test_a_forbidden_page_is_a_translated_403_in_the_sites_layout(rf_en):
    from django.core.exceptions import PermissionDenied

    response = errors.permission_denied(rf_en, PermissionDenied("secret detail"))
    assert response.status_code == 403
    page = response.content.decode()
    assert '<html lang="en">' in page and "<h1>Access denied</h1>" in page
    assert "secret detail" not in page
    assert_links_home_and_to_the_lookup(page)


def test_a_form_posted_with_an_expired_token_says_how_to_send_it_again(weifang_open):
    """A citizen whose session ran out mid-form gets the site's page, in their language, not
    Django's bare English 'CSRF verification failed'."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    url = f"/consultations/{weifang_open.slug}/comment/"
    for language, heading, words in (
        ("en", "<h1>The form has expired</h1>", "Reload the page."),
        ("zh-hans", "<h1>表单已过期</h1>", "重新载入页面。"),
    ):
        response = client.post(url, {"body": "x"}, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 403
        page = response.content.decode()
        assert f'<html lang="{language}">' in page and heading in page and words in page
        assert 'class="language-switch"' in page  # base.html
        # Switching language leads back to the form.
        assert f'name="next" type="hidden" value="{url}"' in page
        assert "CSRF verification failed" not in page


def test_only_the_comment_form_s_expired_page_says_its_text_comes_back(weifang_open):
    """The comment form keeps its text in the browser; the status lookup, the subscription and
    the other forms do not, and their expired page must not promise it."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    draft_kept = "意见内容已暂存在本浏览器中"
    comment = client.post(f"/consultations/{weifang_open.slug}/comment/", {"body": "x"})
    for url in ("/comments/status/", "/subscriptions/"):
        page = client.post(url, {"number": "x"}).content.decode()
        assert draft_kept not in page, url
        assert "请重新填写表单再发送" in page, url
    assert draft_kept in comment.content.decode()


def test_the_comment_form_s_expired_page_gives_the_text_back(weifang_open):
    """The draft the page promised lives in the browser's storage, which a browser refusing
    the site's cookies (one cause the page names) refuses too, and which needs JavaScript:
    the text typed was lost with the refused post. Shown back, escaped, in both languages."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    typed = "建议在集聚区评价中加入生态保护指标。<script>alert(1)</script>\n第二段。"
    item = weifang_open.clauses.get(label="二(一)1")
    for url in (
        f"/consultations/{weifang_open.slug}/comment/",
        f"/consultations/{weifang_open.slug}/clauses/{item.pk}/comment/",
    ):
        for language in ("zh-hans", "en"):
            response = client.post(
                url,
                {"body": typed},
                HTTP_ACCEPT_LANGUAGE=language,
                HTTP_ORIGIN="http://testserver",  # what a browser sends from the site's page
            )
            assert response.status_code == 403
            page = response.content.decode()
            assert "建议在集聚区评价中加入生态保护指标。&lt;script&gt;" in page, (url, language)
            assert "<script>alert(1)</script>" not in page
    # Other forms' expired pages show nothing back.
    other = client.post(
        "/comments/status/", {"body": typed}, HTTP_ORIGIN="http://testserver"
    ).content.decode()
    assert "建议在集聚区评价中加入生态保护指标" not in other
    # Nor does a post from another site's page (or one that does not say where it came from):
    # the site would show that page's words as the citizen's own.
    for elsewhere in (
        {"HTTP_ORIGIN": "https://elsewhere.example"},
        {},
        {"secure": True, "HTTP_REFERER": "https://elsewhere.example/page"},
    ):
        page = client.post(url, {"body": typed}, **elsewhere)
        assert page.status_code == 403
        assert "建议在集聚区评价中加入生态保护指标" not in page.content.decode()
    # On HTTPS a browser that sends no Origin passed the middleware's Referer check.
    same_site = client.post(
        url, {"body": typed}, secure=True, HTTP_REFERER=f"https://testserver{url}"
    )
    assert "建议在集聚区评价中加入生态保护指标。&lt;script&gt;" in same_site.content.decode()


def test_the_api_answers_a_csrf_failure_in_json():
    request = RequestFactory().post("/api/comments/")
    response = errors.csrf_failure(request, reason="CSRF cookie not set.")
    assert response.status_code == 403
    assert json.loads(response.content) == {"detail": "请求已过期，请重新载入后再试。"}
