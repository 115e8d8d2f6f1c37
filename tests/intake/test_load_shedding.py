"""A surge is shed at once with 503 and Retry-After; the requests in hand go on."""

import json
import threading
import time

import pytest
from django.test import Client, RequestFactory

from consult.web.load_shedding import LoadShedding
from consult.wsgi import application as site

pytestmark = pytest.mark.django_db


class SlowSite:
    """A WSGI application whose requests wait until released."""

    def __init__(self):
        self.inside, self.release = threading.Event(), threading.Event()

    def __call__(self, environ, start_response):
        self.inside.set()
        self.release.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"done"]


def call(application, method, path):
    """(status, headers, body) of one request through a WSGI application."""
    environ = getattr(RequestFactory(), method)(path).environ
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(headers)

    result = application(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()  # as a WSGI server does, which gives the slot back
    return answer["status"], answer["headers"], body


def test_a_request_without_a_turn_is_told_to_come_back_at_once(settings, caplog):
    settings.WEB_MAX_CONCURRENT_REQUESTS = 1
    settings.WEB_QUEUE_WAIT_SECONDS = 0.05
    settings.WEB_RETRY_AFTER_SECONDS = 7
    slow = SlowSite()
    shedding = LoadShedding(slow)
    results = {}
    first = threading.Thread(
        target=lambda: results.setdefault("first", call(shedding, "get", "/consultations/x/"))
    )
    first.start()
    assert slow.inside.wait(10)
    started = time.monotonic()
    api = call(shedding, "post", "/api/consultations/x/comments/")
    page = call(shedding, "get", "/consultations/x/")
    waited = time.monotonic() - started
    slow.release.set()
    first.join(10)
    assert (api[0], api[1]["Retry-After"]) == (503, "7")
    assert api[1]["Content-Type"] == "application/json"
    assert json.loads(api[2])["retry_after"] == 7
    assert int(api[1]["Content-Length"]) == len(api[2])
    assert page[0] == 503 and "7" in page[2].decode() and page[1]["Cache-Control"] == "no-store"
    assert waited < 0.5  # two refusals, each after its 50 ms wait, not after the slow request
    assert results["first"][0] == 200
    # Two refusals, one log line: a surge does not flood the log.
    shed_lines = [r for r in caplog.records if r.name == "consult.web.load_shedding"]
    assert [r.levelname for r in shed_lines] == ["WARNING"]
    # With the slot free again, the next request is served.
    slow.release.set()
    assert call(shedding, "get", "/consultations/x/")[0] == 200


def test_beyond_the_waiting_requests_the_excess_is_refused_without_waiting(settings):
    """A slot that frees goes to a waiting request; the rest of a surge is not kept waiting."""
    settings.WEB_MAX_CONCURRENT_REQUESTS = 1
    settings.WEB_MAX_WAITING_REQUESTS = 1
    settings.WEB_QUEUE_WAIT_SECONDS = 5  # long: a refusal that waited for it would show
    slow = SlowSite()
    shedding = LoadShedding(slow)
    results = {}

    def request(name):
        results[name] = call(shedding, "get", "/consultations/x/")

    first = threading.Thread(target=request, args=["first"])
    first.start()
    assert slow.inside.wait(10)
    waiter = threading.Thread(target=request, args=["waiter"])
    waiter.start()
    deadline = time.monotonic() + 10
    while shedding.waiting < 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    started = time.monotonic()
    refused = call(shedding, "get", "/consultations/x/")
    assert time.monotonic() - started < 0.5
    assert refused[0] == 503 and refused[1]["Retry-After"]
    slow.release.set()
    first.join(10)
    waiter.join(10)
    # The waiting request got the slot when it freed.
    assert results["first"][0] == 200 and results["waiter"][0] == 200


def test_health_checks_are_never_shed(settings):
    settings.WEB_MAX_CONCURRENT_REQUESTS = 1
    settings.WEB_QUEUE_WAIT_SECONDS = 0.01
    slow = SlowSite()
    slow.release.set()
    shedding = LoadShedding(slow)
    shedding.slots.acquire()  # the only slot is taken
    assert call(shedding, "get", "/healthz")[0] == 200


def test_the_site_s_wsgi_application_sheds(weifang_open):
    """What gunicorn and runserver serve is wrapped; it serves normally under the limit."""
    assert isinstance(site, LoadShedding)
    assert Client().get(weifang_open.get_absolute_url()).status_code == 200
    status, _headers, _body = call(site, "get", weifang_open.get_absolute_url())
    assert status == 200


def test_a_request_keeps_its_slot_until_its_answer_is_closed(settings):
    """A streamed body (a download) is sent within the limit, not after it."""
    settings.WEB_MAX_CONCURRENT_REQUESTS = 1
    settings.WEB_QUEUE_WAIT_SECONDS = 0.01
    closed = []

    class Streamed:
        def __iter__(self):
            yield b"part"

        def close(self):
            closed.append(True)

    def streaming_site(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return Streamed()

    shedding = LoadShedding(streaming_site)
    environ = RequestFactory().get("/consultations/x/draft.pdf").environ
    answer = shedding(environ, lambda status, headers, exc_info=None: None)
    assert list(answer) == [b"part"]
    # Sent but not closed: the slot is still taken.
    assert call(shedding, "get", "/consultations/x/")[0] == 503
    answer.close()
    assert closed == [True]
    assert call(shedding, "get", "/consultations/x/")[0] == 200


def test_the_busy_answer_speaks_the_asked_language_and_says_what_became_of_a_comment(settings):
    """It was Chinese whatever the page's language, said nothing of the comment just sent, and
    had no way back; the API's 503 was in no operation of the schema."""
    from consult.web.load_shedding import busy_answer

    settings.WEB_RETRY_AFTER_SECONDS = 5

    def answer(path, **environ):
        said = {}
        body = b"".join(
            busy_answer(path, lambda status, headers: said.update(headers), environ)
        ).decode()
        return said, body

    headers, page = answer("/consultations/x/clauses/3/comment/", HTTP_COOKIE="django_language=en")
    assert '<html lang="en">' in page and 'name="viewport"' in page
    assert "not been received" in page and '<a href="/consultations/x/clauses/3/comment/">' in page
    assert headers["Retry-After"] == "5"
    _headers, page = answer("/consultations/x/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8")
    assert '<html lang="en">' in page
    _headers, page = answer("/consultations/x/")
    assert '<html lang="zh-hans">' in page and "尚未收到" in page
    _headers, api = answer("/api/consultations/x/comments/", HTTP_ACCEPT_LANGUAGE="en")
    assert json.loads(api) == {"detail": "Too many visitors: try again in 5 seconds.",
                               "retry_after": 5}  # fmt: skip
    # A path that would break out of the link is quoted, and one that would leave the site
    # ("//evil.example/") stays on it.
    _headers, page = answer('/consultations/"><script>/')
    assert "<script>" not in page
    _headers, page = answer("//evil.example/")
    assert 'href="//' not in page and 'href="/%2Fevil.example/"' in page


def test_every_api_operation_documents_the_busy_answer(client):
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    operations = [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if not path.startswith("/api/schema")
    ]
    assert operations
    for path, method, operation in operations:
        assert "503" in operation["responses"], (path, method)
