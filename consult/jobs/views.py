import logging
import threading

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .services import jobs_health

DATABASE_UNREACHABLE = {"status": "failing", "database": "unreachable"}

logger = logging.getLogger("consult.jobs")
# The overdue jobs this process last reported (see _logged_on_change).
_reported_overdue: frozenset[str] = frozenset()
_reported_lock = threading.Lock()


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return False
    return True


def _jobs_report() -> tuple[dict, frozenset[str]]:
    """Each job's name, state and times (no error text, nothing personal), and the names of
    those overdue or never run past their grace period."""
    health = jobs_health()
    jobs = {
        job.name: {
            "state": job.state,
            "last_succeeded_at": job.last_succeeded_at and job.last_succeeded_at.isoformat(),
            "failures_in_a_row": job.failures_in_a_row,
        }
        for job in health
    }
    return jobs, frozenset(job.name for job in health if job.overdue)


def _logged_on_change(response, overdue: frozenset[str]):
    """The response, logged only when which jobs are overdue changes in this process: Django
    writes every 503 at ERROR, and a monitor asking every few seconds filled the log with one
    line per poll for as long as a job was late."""
    global _reported_overdue
    response._has_been_logged = True  # read by django.utils.log.log_response
    with _reported_lock:
        changed, _reported_overdue = overdue != _reported_overdue, overdue
    if changed and overdue:
        logger.warning("Periodic jobs overdue: %s", ", ".join(sorted(overdue)))
    elif changed:
        logger.info("Periodic jobs on time again")
    return response


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
    response = JsonResponse(
        {"status": "failing" if overdue else "ok", "database": "ok", "jobs": jobs},
        status=503 if overdue else 200,
    )
    return _logged_on_change(response, overdue)
