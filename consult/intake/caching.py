"""Public pages served to a flash crowd from a copy, not rendered for each visitor.

Only anonymous visitors' pages are shared, and only successful ones; every other answer stays
private. The pages carry no per-visitor content (no CSRF token: the language switch needs
none), so one copy serves everyone who sends the same cookies and languages (`Vary`). For
PUBLIC_PAGES_MAX_AGE seconds a reverse proxy may keep the copy (`Cache-Control: public`), the
site keeps it in its shared cache (Django's cache middleware), and a browser holding it is
answered 304 (`ETag`).
"""

import hashlib
from functools import wraps

from django.conf import settings
from django.middleware.cache import CacheMiddleware
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers


def _marked(view):
    """Vary, public or private, and an ETag: set before the cache middleware looks."""

    @wraps(view)
    def marked(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if request.method not in ("GET", "HEAD") or response.status_code != 200:
            return response
        patch_vary_headers(response, ("Cookie", "Accept-Language"))
        if request.user.is_authenticated or response.streaming:
            patch_cache_control(response, private=True)
            return response
        patch_cache_control(response, public=True, max_age=settings.PUBLIC_PAGES_MAX_AGE)
        if callable(getattr(response, "render", None)):
            response.render()
        digest = hashlib.blake2b(response.content, digest_size=16).hexdigest()
        response["ETag"] = f'"{digest}"'
        return response

    return marked


def shared_with_anonymous_visitors(view):
    marked = _marked(view)

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        # The cache middleware stores only responses that are neither private nor setting a
        # cookie, keyed by the URL and the request's Cookie and Accept-Language headers.
        middleware = CacheMiddleware(
            lambda request: marked(request, *args, **kwargs),
            page_timeout=settings.PUBLIC_PAGES_MAX_AGE,
            key_prefix="public-pages",
        )
        response = middleware(request)
        if response.status_code == 200 and response.has_header("ETag"):
            return get_conditional_response(request, etag=response["ETag"], response=response)
        return response

    return wrapped
