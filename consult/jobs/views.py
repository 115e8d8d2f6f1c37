from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .services import jobs_health


@never_cache
@require_safe
def healthz(request):
    """For the load balancer: 200 when the database answers and no periodic job is overdue or
    never run past its grace period, else 503. Names, times and states only: no error text,
    nothing personal."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "failing", "database": "unreachable"}, status=503)
    health = jobs_health()
    jobs = {
        job.name: {
            "state": job.state,
            "last_succeeded_at": job.last_succeeded_at and job.last_succeeded_at.isoformat(),
            "failures_in_a_row": job.failures_in_a_row,
        }
        for job in health
    }
    failing = any(job.overdue for job in health)
    return JsonResponse(
        {"status": "failing" if failing else "ok", "database": "ok", "jobs": jobs},
        status=503 if failing else 200,
    )
