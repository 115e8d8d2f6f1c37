from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .services import jobs_health

DATABASE_UNREACHABLE = {"status": "failing", "database": "unreachable"}


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return False
    return True


def _jobs_report() -> tuple[dict, bool]:
    """Each job's name, state and times (no error text, nothing personal), and whether any is
    overdue or never run past its grace period."""
    health = jobs_health()
    jobs = {
        job.name: {
            "state": job.state,
            "last_succeeded_at": job.last_succeeded_at and job.last_succeeded_at.isoformat(),
            "failures_in_a_row": job.failures_in_a_row,
        }
        for job in health
    }
    return jobs, any(job.overdue for job in health)


@never_cache
@require_safe
def healthz(request):
    """For the load balancer: 200 whenever the database answers, 503 only when it does not.
    The periodic jobs run on the workers, not here: a stopped beat must not take every web
    node out of service at once, so their state is reported (`jobs_status`) but never fails
    this check. Monitoring reads /healthz/jobs."""
    if not _database_answers():
        return JsonResponse(DATABASE_UNREACHABLE, status=503)
    jobs, overdue = _jobs_report()
    return JsonResponse(
        {
            "status": "ok",
            "database": "ok",
            "jobs_status": "overdue" if overdue else "ok",
            "jobs": jobs,
        }
    )


@never_cache
@require_safe
def healthz_jobs(request):
    """For monitoring: 200 when the database answers and no periodic job is overdue or never
    run past its grace period, else 503."""
    if not _database_answers():
        return JsonResponse(DATABASE_UNREACHABLE, status=503)
    jobs, overdue = _jobs_report()
    return JsonResponse(
        {"status": "failing" if overdue else "ok", "database": "ok", "jobs": jobs},
        status=503 if overdue else 200,
    )
