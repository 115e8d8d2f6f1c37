"""Public pages a reverse proxy may share for a moment; everything personal stays private."""

import datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.test.signals import template_rendered

from consult.comments.services import comment_submit

pytestmark = pytest.mark.django_db


def public_urls(consultation):
    return [
        "/",
        consultation.get_absolute_url(),
        f"/api/consultations/{consultation.slug}/",
        "/api/consultations/",
    ]


def test_anonymous_visitors_get_a_shared_copy_with_an_etag(weifang_open, settings):
    settings.PUBLIC_PAGES_MAX_AGE = 30
    visitor = Client(enforce_csrf_checks=True)
    for url in public_urls(weifang_open):
        response = visitor.get(url)
        assert response.status_code == 200, url
        cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
        assert {"public", "max-age=30"} <= cache_control, url
        assert {"Cookie", "Accept-Language"} <= {
            part.strip() for part in response["Vary"].split(",")
        }, url
        # Nothing of this visitor's own: no CSRF token in the page, no cookie set.
        assert b"csrfmiddlewaretoken" not in response.content, url
        assert not response.cookies, url
        again = visitor.get(url, headers={"If-None-Match": response["ETag"]})
        assert again.status_code == 304, url
        assert again.content == b""


def test_a_new_comment_shows_once_the_copy_expires(weifang_open, client, settings):
    settings.PUBLIC_PAGES_MAX_AGE = 30
    url = weifang_open.get_absolute_url()
    first = client.get(url)
    assert first.context["comment_total"] == 0
    comment_submit(
        consultation=weifang_open,
        clause=None,
        body="建议公开各项目的评选结果。",
        channel="web",
        consent=True,
    )
    # Within the 30 seconds everyone gets the same copy, rendered once.
    within = client.get(url)
    assert within.context is None  # served from the cache, not rendered
    assert within["ETag"] == first["ETag"]
    with time_machine.travel(datetime.timedelta(seconds=31)):
        later = client.get(url, headers={"If-None-Match": first["ETag"]})
    assert later.status_code == 200
    assert later.context["comment_total"] == 1
    assert later["ETag"] != first["ETag"]


def test_staff_and_forms_stay_private(weifang_open):
    staff = Client()
    staff.force_login(get_user_model().objects.create_superuser("root", "r@example.cn", "pw"))
    response = staff.get(weifang_open.get_absolute_url())
    assert "public" not in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    form = Client().get(f"{weifang_open.get_absolute_url()}comment/")
    assert form.status_code == 200
    assert "no-store" in form["Cache-Control"] and "private" in form["Cache-Control"]


def test_the_language_switch_needs_no_token(weifang_open):
    visitor = Client(enforce_csrf_checks=True)
    response = visitor.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert visitor.get("/").headers["Content-Language"] == "en"


@pytest.mark.parametrize("edge", ["closes", "opens"])
def test_no_copy_outlives_an_opening_or_a_close(weifang_open, settings, edge):
    """A copy made five seconds before the close said "征求意见中", with its comment buttons,
    for 25 seconds after it (and a copy before the opening, "即将开始", after the opening)."""
    settings.PUBLIC_PAGES_MAX_AGE = 30
    if edge == "opens":
        now = weifang_open.closes_at - datetime.timedelta(days=1)
        weifang_open.opens_at = now + datetime.timedelta(seconds=5)
        weifang_open.save(update_fields=["opens_at"])
        change = weifang_open.opens_at
    else:
        change = weifang_open.closes_at.replace(microsecond=0) + datetime.timedelta(seconds=1)
    url = weifang_open.get_absolute_url()
    with time_machine.travel(change - datetime.timedelta(seconds=5), tick=False):
        before = Client().get(url)
        assert "max-age=5" in before["Cache-Control"]
        listed = Client().get("/", {"status": "open"})
    with time_machine.travel(change + datetime.timedelta(seconds=10), tick=False):
        after = Client().get(url)
        listed_after = Client().get("/", {"status": "open"})
    assert after.context is not None  # rendered again, not the copy
    badge = '<span class="badge">征求意见中</span>'
    assert (badge in before.content.decode()) == (edge == "closes")
    assert (badge in after.content.decode()) == (edge == "opens")
    assert (weifang_open.title in listed.content.decode()) == (edge == "closes")
    assert (weifang_open.title in listed_after.content.decode()) == (edge == "opens")


def test_a_page_whose_making_a_close_overtook_is_not_kept(weifang_open, settings):
    """The copy's life was counted after the page was rendered: a page begun in the last moment
    before the close and rendered after it said "征求意见中" and was kept 30 seconds."""
    settings.PUBLIC_PAGES_MAX_AGE = 30
    change = weifang_open.closes_at.replace(microsecond=0) + datetime.timedelta(seconds=1)
    url = weifang_open.get_absolute_url()
    with time_machine.travel(change - datetime.timedelta(milliseconds=50), tick=False) as clock:

        def rendering_takes_a_moment(sender, **kwargs):
            clock.move_to(change + datetime.timedelta(milliseconds=150))

        template_rendered.connect(rendering_takes_a_moment)
        try:
            straddling = Client().get(url)
        finally:
            template_rendered.disconnect(rendering_takes_a_moment)
    assert "max-age=0" in straddling["Cache-Control"]
    with time_machine.travel(change + datetime.timedelta(seconds=10), tick=False):
        later = Client().get(url)
    assert later.context is not None  # rendered again, not the copy
    assert '<span class="badge">征求意见中</span>' not in later.content.decode()


def test_the_api_s_shared_copy_is_laid_out_one_way_for_everyone(weifang_open, settings):
    """A client asking for `indent=8` laid out the copy every later visitor was given."""
    settings.PUBLIC_PAGES_MAX_AGE = 30
    url = f"/api/consultations/{weifang_open.slug}/"
    indented = Client().get(url, HTTP_ACCEPT="application/json; indent=8")
    plain = Client().get(url)
    assert indented.status_code == plain.status_code == 200
    assert b"\n" not in indented.content
    assert plain.content == indented.content
