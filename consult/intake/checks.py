"""Deployment checks for what the public pages count on: one cache shared by every web process."""

from django.conf import settings
from django.core.checks import Error, Tags, register

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
