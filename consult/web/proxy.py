"""A TLS proxy Django was not told about: say so once in the log instead of redirecting forever.

With SECURE_SSL_REDIRECT on, SecurityMiddleware sends every plain-HTTP request to https://. A
proxy on another host that terminates TLS forwards plain HTTP with `X-Forwarded-Proto: https`;
unless BEHIND_TLS_PROXY sets SECURE_PROXY_SSL_HEADER, Django cannot tell, and the browser is
sent round the same https URL until it gives up ("too many redirects"), with nothing logged.

What is safe instead: the header cannot be trusted, since only the proxy (if it strips the
header from clients' requests) makes it true, and Django has not been told there is one; so
the request is not treated as secure. Serving it as plain HTTP would half work (every form
post fails Django's CSRF origin check, absolute links point at http://) and hide the mistake.
So such requests get a 503 naming the problem, the log says once per process which setting to
set, and paths exempt from the redirect (/healthz for the load balancer) are served as before.
"""

import logging
import re
import threading

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpResponse

logger = logging.getLogger(__name__)

WARNING = (
    "A request arrived over plain HTTP with X-Forwarded-Proto: https while SECURE_SSL_REDIRECT "
    "is on: a TLS proxy is in front of this site but Django has not been told, and redirecting "
    "to https:// would loop forever. Set BEHIND_TLS_PROXY=true (SECURE_PROXY_SSL_HEADER) if the "
    "proxy sets X-Forwarded-Proto and removes it from clients' requests; or set "
    "SECURE_SSL_REDIRECT=false if the proxy redirects to https itself. Until then such requests "
    "are answered 503. (Logged once per process.)"
)
PAGE = (
    "503 Service Unavailable: this site's HTTPS proxy setting is incomplete (see the server "
    "log).\n本网站的 HTTPS 代理配置不完整，暂时无法访问，请稍后再试。\n"
)

_warned = False
_warned_lock = threading.Lock()


def _warn_once() -> None:
    global _warned
    with _warned_lock:
        if _warned:
            return
        _warned = True
    logger.warning(WARNING)


def forwarded_as_https(request) -> bool:
    """Whether a proxy says the client's connection was https."""
    value = request.META.get("HTTP_X_FORWARDED_PROTO", "")
    return "https" in (part.strip().lower() for part in value.split(","))


class UnconfiguredTLSProxyMiddleware:
    """Placed before SecurityMiddleware; only active with SECURE_SSL_REDIRECT on and no
    SECURE_PROXY_SSL_HEADER (with the header set, Django already knows the scheme)."""

    def __init__(self, get_response):
        if not settings.SECURE_SSL_REDIRECT or settings.SECURE_PROXY_SSL_HEADER:
            raise MiddlewareNotUsed
        self.get_response = get_response
        self.exempt = [re.compile(pattern) for pattern in settings.SECURE_REDIRECT_EXEMPT]

    def __call__(self, request):
        if self.would_loop(request):
            _warn_once()
            return HttpResponse(PAGE, status=503, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    def would_loop(self, request) -> bool:
        if request.is_secure() or not forwarded_as_https(request):
            return False
        path = request.path.lstrip("/")  # as SecurityMiddleware matches the exempt patterns
        return not any(pattern.search(path) for pattern in self.exempt)
