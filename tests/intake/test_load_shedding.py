"""A surge is shed at once with 503 and Retry-After; the requests in hand go on."""

import json
import threading
import time

import pytest
from django.http import HttpResponse
from django.test import Client

from consult.web.load_shedding import LoadSheddingMiddleware

pytestmark = pytest.mark.django_db


def test_a_request_without_a_turn_is_told_to_come_back_at_once(settings, rf, caplog):
    settings.WEB_MAX_CONCURRENT_REQUESTS = 1
    settings.WEB_QUEUE_WAIT_SECONDS = 0.05
    settings.WEB_RETRY_AFTER_SECONDS = 7
    inside, release = threading.Event(), threading.Event()

    def slow_view(request):
        inside.set()
        release.wait(10)
        return HttpResponse("done")

    middleware = LoadSheddingMiddleware(slow_view)
    results = {}
    first = threading.Thread(
        target=lambda: results.setdefault("first", middleware(rf.get("/consultations/x/")))
    )
    first.start()
    assert inside.wait(10)
    started = time.monotonic()
    api = middleware(rf.post("/api/consultations/x/comments/"))
    page = middleware(rf.get("/consultations/x/"))
    waited = time.monotonic() - started
    release.set()
    first.join(10)
    assert (api.status_code, api["Retry-After"]) == (503, "7")
    assert json.loads(api.content)["retry_after"] == 7
    assert page.status_code == 503 and "7" in page.content.decode()
    assert waited < 0.5  # two refusals, each after its 50 ms wait, not after the slow request
    assert results["first"].status_code == 200
    # Two refusals, one log line: a surge does not flood the log.
    shed_lines = [r for r in caplog.records if r.name == "consult.web.load_shedding"]
    assert [r.levelname for r in shed_lines] == ["WARNING"]
    # With the slot free again, the next request is served.
    assert middleware(rf.get("/consultations/x/")).status_code == 200


def test_health_checks_are_never_shed(settings, rf):
    settings.WEB_MAX_CONCURRENT_REQUESTS = 1
    settings.WEB_QUEUE_WAIT_SECONDS = 0.01
    middleware = LoadSheddingMiddleware(lambda request: None)
    middleware.slots.acquire()  # the only slot is taken
    assert middleware(rf.get("/healthz")) is None


def test_the_site_serves_normally_under_the_limit(weifang_open):
    assert Client().get(weifang_open.get_absolute_url()).status_code == 200
