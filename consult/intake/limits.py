"""Rate limits on submissions and status lookups, on the shared cache (Redis in production)."""

from django.conf import settings
from django_fast_ratelimit import Action, get_ratelimit


def client_ip(request) -> str:
    """The client's address; behind N trusted proxies, the Nth address from the right."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def limit_exceeded(group: str, value: str, rates: list[str]) -> bool:
    """Count one more event for `value` in `group`; True when any of the rates is exceeded."""
    if not value:
        return False
    exceeded = False
    for rate in rates:
        limit = get_ratelimit(
            group=f"{group}:{rate}",
            key=lambda _request, _group, _action, _rate: value.encode("utf-8"),
            rate=rate,
            action=Action.INCREASE,
        )
        exceeded = exceeded or limit.request_limit > 0
    return exceeded


def submission_limited_by_ip(request) -> bool:
    return limit_exceeded("comment-ip", client_ip(request), settings.COMMENT_RATE_LIMITS_PER_IP)


def submission_limited_by_contact(*, phone: str, email: str) -> bool:
    rates = settings.COMMENT_RATE_LIMITS_PER_CONTACT
    by_phone = limit_exceeded("comment-phone", phone, rates)
    by_email = limit_exceeded("comment-email", email.lower(), rates)
    return by_phone or by_email


def status_lookup_limited(request) -> bool:
    return limit_exceeded("status-ip", client_ip(request), settings.STATUS_LOOKUP_RATE_LIMITS)
