"""Shedding a surge: a request this process cannot start soon is told at once to come back.

Under gunicorn's threaded workers each process takes many connections but only
WEB_MAX_CONCURRENT_REQUESTS requests do their work at a time (enough to keep the CPU and the
database busy, few enough that each finishes quickly). A request that finds every slot taken
waits up to WEB_QUEUE_WAIT_SECONDS for one, unless WEB_MAX_WAITING_REQUESTS are waiting
already: then it gets 503 with Retry-After at once. So a slot that frees is taken without
delay, the excess of a surge is told to come back within milliseconds, and the requests
already in hand keep their pace. It touches nothing (no session, no database) before it knows
the request will be served.
"""

import json
import logging
import threading
import time
from urllib.parse import quote

from django.conf import settings
from django.http.cookie import parse_cookie
from django.utils import translation
from django.utils.html import escape
from django.utils.http import escape_leading_slashes
from django.utils.translation import gettext as _

from .errors import API_PREFIX

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


def _href(path_info: str) -> str:
    # PATH_INFO holds the path's bytes as latin-1 (PEP 3333): quoted back into a link.
    # escape_leading_slashes: "//evil.example/" would link off the site.
    return escape_leading_slashes(quote(path_info.encode("iso-8859-1", "replace"), safe="/"))


class _Asked:
    """What get_language_from_request reads of a request, from the WSGI environ alone."""

    def __init__(self, environ):
        self.META = environ
        self.COOKIES = parse_cookie(environ.get("HTTP_COOKIE", ""))


def busy_answer(path: str, start_response, environ=None) -> list[bytes]:
    """503 with Retry-After, in the shape the caller reads (JSON under /api/), in the language
    it asked for (the language cookie, else Accept-Language)."""
    seconds = settings.WEB_RETRY_AFTER_SECONDS
    language = translation.get_language_from_request(_Asked(environ or {}))
    # Outside Django's request cycle: in the asked language, not whatever this thread last used.
    with translation.override(language):
        message = _("访问人数较多，请在 %(seconds)s 秒后重试。") % {"seconds": seconds}
        if path.startswith(API_PREFIX):
            content_type = "application/json"
            body = json.dumps({"detail": message, "retry_after": seconds}, ensure_ascii=False)
        else:
            content_type = "text/html; charset=utf-8"
            title = _("访问人数较多")
            body = (
                f'<!DOCTYPE html><html lang="{language}"><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{title}</title><h1>{title}</h1><p>{message}</p><p>"
                + _(
                    "如果您刚才提交了意见，它尚未收到。您输入的意见正文仍保存在本浏览器中，"
                    "回到表单即可再次提交（联系方式需重新填写）。"
                )
                + f'</p><p><a href="{escape(_href(path))}">'
                + _("回到此页")
                + "</a></p></html>"
            )
    content = body.encode("utf-8")
    start_response(
        "503 Service Unavailable",
        [
            ("Content-Type", content_type),
            # With a length, a keep-alive client reads the answer and can send again at once.
            ("Content-Length", str(len(content))),
            ("Retry-After", str(seconds)),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
        ],
    )
    return [content]


class ReleasedOnClose:
    """A WSGI answer that calls `release` once the server closes it."""

    def __init__(self, answer, release):
        self.answer = answer
        self.release = release

    def __iter__(self):
        return iter(self.answer)

    def close(self):
        try:
            if hasattr(self.answer, "close"):
                self.answer.close()
        finally:
            self.release()


class LoadShedding:
    """WSGI middleware around Django: a refused request costs no Django request, middleware,
    signal or database connection check, so shedding a surge leaves the CPU to the requests
    in hand. Counted per process (each gunicorn worker has its own slots)."""

    def __init__(self, application):
        self.application = application
        limit = settings.WEB_MAX_CONCURRENT_REQUESTS
        self.slots = threading.BoundedSemaphore(limit) if limit > 0 else None
        self.waiting = 0
        self.waiting_lock = threading.Lock()
        self.shed = ShedCount()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if self.slots is None or path.startswith(NEVER_SHED):
            return self.application(environ, start_response)
        if not (self.slots.acquire(blocking=False) or self._turn_waited_for()):
            self.shed.add()
            return busy_answer(path, start_response, environ)
        try:
            answer = self.application(environ, start_response)
        except BaseException:
            self.slots.release()
            raise
        # The request holds its slot until the server has sent the body and closed it (a
        # streamed file, Django's request_finished clean-up), as PEP 3333's close() marks.
        return ReleasedOnClose(answer, self.slots.release)

    def _turn_waited_for(self) -> bool:
        with self.waiting_lock:
            if self.waiting >= settings.WEB_MAX_WAITING_REQUESTS:
                return False
            self.waiting += 1
        try:
            return self.slots.acquire(timeout=settings.WEB_QUEUE_WAIT_SECONDS)
        finally:
            with self.waiting_lock:
                self.waiting -= 1
