"""Shedding a surge: a request this process cannot start soon is told at once to come back.

Under gunicorn's threaded workers each process takes many connections but only
WEB_MAX_CONCURRENT_REQUESTS requests do their work at a time (enough to keep the CPU and the
database busy, few enough that each finishes quickly). A request that finds every slot taken
for WEB_QUEUE_WAIT_SECONDS gets 503 with Retry-After, in well under the time a citizen would
wait for a timeout, and the requests already in hand keep their pace. It touches nothing (no
session, no database) before it knows the request will be served.
"""

import logging
import threading
import time

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from .errors import is_api_path

logger = logging.getLogger(__name__)

# Health checks must answer while the site is busy: that is when they are read.
NEVER_SHED = ("/healthz", "/static/")
LOG_EVERY_SECONDS = 60.0


class ShedCount:
    """Shed requests, said in one log line a minute rather than one line each."""

    def __init__(self):
        self.lock = threading.Lock()
        self.count = 0
        self.logged_at = None

    def add(self):
        now = time.monotonic()
        with self.lock:
            self.count += 1
            if self.logged_at is not None and now - self.logged_at < LOG_EVERY_SECONDS:
                return
            count, self.count, self.logged_at = self.count, 0, now
        logger.warning(
            "Busy: %d request(s) answered 503 since the last report (WEB_MAX_CONCURRENT_REQUESTS"
            " per process are in hand).",
            count,
        )


def busy_response(request):
    retry_after = str(settings.WEB_RETRY_AFTER_SECONDS)
    message = _("访问人数较多，请在 %(seconds)s 秒后重试。") % {"seconds": retry_after}
    if is_api_path(request):
        response = JsonResponse({"detail": message, "retry_after": int(retry_after)}, status=503)
    else:
        response = HttpResponse(
            f'<!DOCTYPE html><html lang="zh-hans"><meta charset="utf-8"><title>503</title>'
            f"<p>{message}</p></html>",
            status=503,
        )
    response["Retry-After"] = retry_after
    # Answered before CommonMiddleware would count it: without a length, a keep-alive client
    # would have to read a chunked body.
    response["Content-Length"] = str(len(response.content))
    response["Cache-Control"] = "no-store"
    # Counted by ShedCount; Django would log each 503 as an error, thousands in a surge.
    response._has_been_logged = True
    return response


class LoadSheddingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        limit = settings.WEB_MAX_CONCURRENT_REQUESTS
        self.slots = threading.BoundedSemaphore(limit) if limit > 0 else None
        self.shed = ShedCount()

    def __call__(self, request):
        if self.slots is None or request.path.startswith(NEVER_SHED):
            return self.get_response(request)
        if not self.slots.acquire(timeout=settings.WEB_QUEUE_WAIT_SECONDS):
            self.shed.add()
            return busy_response(request)
        try:
            return self.get_response(request)
        finally:
            self.slots.release()
