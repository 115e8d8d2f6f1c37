"""A session cookie no session could have is no session: never a lookup, never a 500."""

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from rest_framework.test import APIClient

from consult.comments.models import Comment
from consult.web.sessions import SessionStore

# `"\000…"` is how a cookie writes a NUL (Django reads the octal escape): plain ASCII that any
# proxy passes on. PostgreSQL refuses NUL in text: every page reading the session answered 500.
FORGED = 'sessionid="\\000abcdefghij"'


@pytest.mark.parametrize(
    "key",
    ["\x00abcdefghij", "ABCDEFGHIJKL", "abc def ghij", "ab\u00e9cdefghij", "a" * 41, "short"],
)
def test_a_key_django_could_not_have_made_is_no_session(key):
    assert SessionStore(session_key=key).session_key is None


def test_the_site_uses_it(settings):
    # The forged cookie below breaks only PostgreSQL: on SQLite this says it is still in place.
    assert settings.SESSION_ENGINE == "consult.web.sessions"


def test_a_key_django_makes_is_kept(db):
    store = SessionStore()
    store["visited"] = True
    store.create()
    assert SessionStore(session_key=store.session_key).load() == {"visited": True}


def test_a_forged_session_cookie_gets_the_pages_and_the_api(weifang_open):
    client = Client(HTTP_COOKIE=FORGED)
    assert client.get("/").status_code == 200
    assert client.get(f"/consultations/{weifang_open.slug}/").status_code == 200
    api = APIClient(HTTP_COOKIE=FORGED)
    created = api.post(
        f"/api/consultations/{weifang_open.slug}/comments/",
        {"clause": None, "body": "建议明确集聚区的评价指标，并公开评选结果。", "consent": True},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert Comment.objects.filter(tracking_number=created.json()["tracking_number"]).exists()
    assert not Session.objects.exists()  # nothing made from the forged key
