"""Rate limits on submissions and status lookups, counted on the shared cache.

All the counters a check touches are counted in one round trip (`consult.cache.counters_hit`);
a cache that fails lets the request through, as if under every limit. A phone number is
counted in its canonical form, so "+86 138-1234-5678" and "13812345678" share one budget.

A check answers how many seconds are left until every exceeded window ends (0 when none is),
so the refusal can say how long to wait.
"""

import ipaddress
import math
import time

from django.conf import settings

from consult.cache import counter_key, counters_hit
from consult.comments.phones import phone_canonical
from consult.comments.tracking import is_well_formed, normalise_tracking_number
from consult.rates import rate_parse


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


def _address(request):
    """The client's address parsed, without a port a load balancer may have written after it
    ("203.0.113.9:51234", "[2001:db8::1]:443"); None for what is no address."""
    address = client_ip(request).strip()
    for written in (address, address.rsplit(":", 1)[0].strip("[]")):
        try:
            return ipaddress.ip_address(written)
        except ValueError:
            continue
    return None


def _network_of(address):
    """An IPv6 address's /64, which a single host is commonly given whole and could take a
    fresh address from for every request; an IPv4 address (mapped into IPv6 or not) itself."""
    if address.version == 6 and address.ipv4_mapped is None:
        return ipaddress.IPv6Network((int(address) >> 64 << 64, 64))
    return getattr(address, "ipv4_mapped", None) or address


def client_network(request) -> str:
    """The client's address as the rate limits count it (`_network_of`)."""
    address = _address(request)
    return client_ip(request) if address is None else str(_network_of(address))


def client_address_for_lockout(request) -> str:
    """The address the staff sign-in lockout counts (settings.AXES_CLIENT_IP_CALLABLE): the
    first address of an IPv6 client's /64, as the lockout stores an address, not a network."""
    address = _address(request)
    if address is None:
        return client_ip(request)
    network = _network_of(address)
    return str(getattr(network, "network_address", network))


def limits_exceeded(*checks: tuple[str, str, list[str]]) -> int:
    """Count one more event for each (group, value, rates); the seconds until every exceeded
    rate's window ends, 0 when none is exceeded.

    Every counter is counted (in one round trip), even after one is found exceeded, as each
    rate counts every attempt. An empty value is not counted.
    """
    now = time.time()
    counters, limits = [], []
    for group, value, rates in checks:
        if not value:
            continue
        for rate in rates:
            counters.append(counter_key(group, value, rate, now=now))
            limits.append(rate_parse(rate))
    counts = counters_hit(counters)
    wait = max(
        (
            max(1, math.ceil(seconds - now % seconds))
            for count, (limit, seconds) in zip(counts, limits, strict=True)
            if count > limit
        ),
        default=0,
    )
    return wait


def _ip_check(request):
    return ("comment-ip", client_network(request), settings.COMMENT_RATE_LIMITS_PER_IP)


def _contact_checks(phone: str, email: str):
    rates = settings.COMMENT_RATE_LIMITS_PER_CONTACT
    return (
        ("comment-phone", phone_canonical(phone) or (phone or "").strip(), rates),
        ("comment-email", (email or "").strip().lower(), rates),
    )


def submission_limited(request, *, phone: str, email: str) -> int:
    """A submission's every limit (its address, phone and email) in one round trip."""
    return limits_exceeded(_ip_check(request), *_contact_checks(phone, email))


def status_lookup_limited(request, tracking_number) -> int:
    """A lookup's limits, per client address and per tracking number from any address: the
    four digits that prove a number's lookup are 10,000 guesses, too few to leave to a limit
    that many addresses multiply."""
    number = normalise_tracking_number(tracking_number if isinstance(tracking_number, str) else "")
    return limits_exceeded(
        ("status-ip", client_network(request), settings.STATUS_LOOKUP_RATE_LIMITS),
        (
            "status-number",
            number if is_well_formed(number) else "",
            settings.STATUS_LOOKUP_RATE_LIMITS_PER_NUMBER,
        ),
    )
