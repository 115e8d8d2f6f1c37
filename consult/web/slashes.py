"""Django's CommonMiddleware, with the slash appended by a redirect that keeps the method.

A 301 (Django's) is followed as a GET by browsers and HTTP clients alike: a comment POSTed to
`/api/consultations/{slug}/comments` without its slash met a 405 on the GET and was lost, with
nothing said. A 308 is followed with the same method and body."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http.response import HttpResponseRedirectBase
from django.middleware import common
from django.utils.http import escape_leading_slashes

READ_METHODS = ("GET", "HEAD")


class HttpResponsePermanentRedirectKeepingMethod(HttpResponseRedirectBase):
    status_code = 308


class CommonMiddleware(common.CommonMiddleware):
    def process_request(self, request):
        if request.method in READ_METHODS or not self.should_redirect_with_slash(request):
            return super().process_request(request)
        # What Django's own process_request checks before any redirect: the user agent, and
        # the host (a host outside ALLOWED_HOSTS is a 400, not a redirect).
        user_agent = request.META.get("HTTP_USER_AGENT")
        if user_agent is not None and any(
            pattern.search(user_agent) for pattern in settings.DISALLOWED_USER_AGENTS
        ):
            raise PermissionDenied("Forbidden user agent")
        request.get_host()
        # Django's own path (get_full_path_with_slash) refuses this case under DEBUG, because a
        # 301 would lose the body; this redirect keeps it.
        return HttpResponsePermanentRedirectKeepingMethod(
            escape_leading_slashes(request.get_full_path(force_append_slash=True))
        )
