"""Deployment checks for what the public pages count on: one cache shared by every web process,
the public address that emailed links are built on, and each citizen's own address."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.http.request import validate_host

PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@register(Tags.caches, deploy=True)
def rate_limits_share_one_cache(app_configs, **kwargs):
    """With several web processes, a per-process cache gives each its own rate-limit budget
    (and its own repeat memory): two processes at 5/m accept 10 comments a minute."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    processes = settings.WEB_CONCURRENCY
    if settings.DEBUG or backend not in PER_PROCESS_CACHES or processes <= 1:
        return []
    return [
        Error(
            f"The default cache ({backend.rsplit('.', 1)[-1]}) is kept in each process, but "
            f"WEB_CONCURRENCY={processes} web processes are configured: each would count its "
            "own rate limits.",
            hint="Set CACHE_URL (or a Redis CELERY_BROKER_URL) to a Redis every web process "
            "reaches, or use the database cache.",
            id="intake.E001",
        )
    ]


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


@register(deploy=True)
def site_url_is_the_public_site(app_configs, **kwargs):
    """Every link in an email (a receipt's status page, a department's queue, an unsubscribe)
    is built on SITE_URL, so in production it must be the address citizens reach: left at its
    loopback default, or on a host the site refuses, every emailed link leads nowhere."""
    if settings.DEBUG:
        return []
    site = urlsplit(settings.SITE_URL)
    host = (site.hostname or "").lower()
    problem = None
    if site.scheme != "https":
        problem = "is not an https:// address"
    elif not host or host in LOOPBACK_HOSTS or host.endswith(".localhost"):
        problem = "names this machine, which no citizen reaches"
    elif not validate_host(host, settings.ALLOWED_HOSTS):
        problem = "names a host that is not in ALLOWED_HOSTS"
    if problem is None:
        return []
    return [
        Error(
            f"SITE_URL ({settings.SITE_URL!r}) {problem}: the links in every email are built "
            "on it.",
            hint="Set SITE_URL to the site's public address, e.g. https://consult.example.gov.cn",
            id="intake.E002",
        )
    ]


@register(deploy=True)
def client_addresses_come_through_the_proxy(app_configs, **kwargs):
    """Behind a proxy every request comes from the proxy's address: unless the site reads the
    client's from X-Forwarded-For (TRUSTED_PROXY_COUNT), all citizens share one rate limit
    (5 comments a minute for the whole site) and one login lockout (anyone can lock out any
    member of staff)."""
    if settings.DEBUG or not settings.SECURE_PROXY_SSL_HEADER or settings.TRUSTED_PROXY_COUNT:
        return []
    return [
        Warning(
            "BEHIND_TLS_PROXY is set but TRUSTED_PROXY_COUNT is 0: every request is counted as "
            "coming from the proxy, so all citizens share one rate limit and one login lockout.",
            hint="Set TRUSTED_PROXY_COUNT to the number of proxies that append to "
            "X-Forwarded-For (1 for one nginx), and have the proxy send it.",
            id="intake.W001",
        )
    ]
