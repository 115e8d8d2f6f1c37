"""The username django-axes counts a staff login's failures under."""

from axes.models import AccessAttempt
from django.conf import settings
from django.shortcuts import render

# The column axes records it in: a longer name typed at the login form (the form does not
# limit it) made the failure's record a database error, a 500.
_STORED_LENGTH = AccessAttempt._meta.get_field("username").max_length


def login_username(request, credentials=None) -> str | None:
    """What axes would take (the credentials' username, else the POST's), cut to what it stores:
    no real username is that long, so the cut name still locks only itself."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        username = credentials.get(field)
    else:
        username = getattr(request, "data", request.POST).get(field)
    return username[:_STORED_LENGTH] if isinstance(username, str) else username


def lockout_response(request, original_response=None, credentials=None):
    """axes's lockout page (AXES_LOCKOUT_TEMPLATE), saying when to try again in a Retry-After
    header too, as the site's other 429s do."""
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    response = render(
        request,
        settings.AXES_LOCKOUT_TEMPLATE,
        {"cooloff_timedelta": cool_off, "failure_limit": settings.AXES_FAILURE_LIMIT},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
    if cool_off is not None:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
