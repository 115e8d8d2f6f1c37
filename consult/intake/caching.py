"""Public pages served to a flash crowd from a copy, not rendered for each visitor.

Only anonymous visitors' pages are shared, and only successful ones; every other answer stays
private. The pages carry no per-visitor content (no CSRF token: the language switch needs
none), so one copy serves everyone who sends the same cookies and languages (`Vary`). For
PUBLIC_PAGES_MAX_AGE seconds a reverse proxy may keep the copy (`Cache-Control: public`), the
site keeps it in its shared cache (Django's cache middleware), and a browser holding it is
answered 304 (`ETag`).
"""

import hashlib
import math
from functools import wraps

from django.conf import settings
from django.middleware.cache import CacheMiddleware
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers

from consult.consultations.models import Consultation


def _max_age(started) -> int:
    """PUBLIC_PAGES_MAX_AGE, cut short by the next opening or close of any consultation after
    the page `started` being made: a copy made seconds before a close said "征求意见中", with
    its comment buttons, for the rest of its life. 0 (no copy kept) in the very second of a
    change, and for a page whose making a change overtook (looked for after it was rendered,
    the close was already past, and its copy kept for the whole max-age)."""
    change = Consultation.objects.next_period_change(started)
    if change is None:
        return settings.PUBLIC_PAGES_MAX_AGE
    left = (change - timezone.now()).total_seconds()
    return max(0, min(settings.PUBLIC_PAGES_MAX_AGE, math.floor(left)))


def _marked(view):
    """Vary, public or private, and an ETag: set before the cache middleware looks."""

    @wraps(view)
    def marked(request, *args, **kwargs):
        started = timezone.now()
        response = view(request, *args, **kwargs)
        if request.method not in ("GET", "HEAD") or response.status_code != 200:
            return response
        patch_vary_headers(response, ("Cookie", "Accept-Language"))
        if request.user.is_authenticated or response.streaming:
            patch_cache_control(response, private=True)
            return response
        if callable(getattr(response, "render", None)):
            response.render()
        patch_cache_control(response, public=True, max_age=_max_age(started))
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
            # Not page_timeout, which would take precedence over the page's own max-age (cut
            # short before an opening or a close, `_max_age`).
            cache_timeout=settings.PUBLIC_PAGES_MAX_AGE,
            key_prefix="public-pages",
        )
        response = middleware(request)
        if response.status_code == 200 and response.has_header("ETag"):
            return get_conditional_response(request, etag=response["ETag"], response=response)
        return response

    return wrapped
