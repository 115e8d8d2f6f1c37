from email.utils import parseaddr

from django.conf import settings
from django.core.checks import Error, register

from .services import jobs_registered


@register()
def every_job_has_a_schedule(app_configs, **kwargs):
    """A registered job without an interval would never run under beat, and never be missed."""
    errors = []
    beat_tasks = {
        entry.get("args", (None,))[0]
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry.get("task") == "consult.jobs.tasks.run_job"
    }
    for job in jobs_registered():
        if job.name not in settings.PERIODIC_JOBS_EVERY_SECONDS:
            errors.append(
                Error(
                    f"Periodic job {job.name!r} has no interval in PERIODIC_JOBS_EVERY_SECONDS.",
                    id="jobs.E001",
                )
            )
        if job.name not in beat_tasks:
            errors.append(
                Error(f"Periodic job {job.name!r} has no Celery beat entry.", id="jobs.E002")
            )
    return errors


@register(deploy=True)
def task_timings_fit_the_broker(app_configs, **kwargs):
    """Redis hands a task not acknowledged within the visibility timeout to another worker. A
    task that may run, or wait for its countdown, longer than that runs twice (an export built
    twice, a retry sent early), so every such time must stay below it; and a send's lease must
    outlast the longest wait for one SMTP answer, or a second worker takes the email mid-send.
    Deploy-tagged: the integration tests shorten the timeout on purpose."""
    errors = []
    broker = settings.CELERY_BROKER_URL
    if broker.startswith(("redis://", "rediss://", "redis+socket://")):
        visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
        longest = {
            "NOTIFY_RETRY_MAX_SECONDS": settings.NOTIFY_RETRY_MAX_SECONDS,
            "CELERY_TASK_TIME_LIMIT": settings.CELERY_TASK_TIME_LIMIT,
            "EXPORT_SOFT_TIME_LIMIT_SECONDS (+ 60 s, the export's hard limit)": (
                settings.EXPORT_SOFT_TIME_LIMIT_SECONDS + 60
            ),
        }
        for name, seconds in longest.items():
            if seconds >= visibility:
                errors.append(
                    Error(
                        f"{name} is {seconds:g} s, not below the broker's visibility timeout "
                        f"({visibility} s): Redis would give such a task to a second worker.",
                        hint="Lower it, or raise CELERY_VISIBILITY_TIMEOUT above it.",
                        id="jobs.E003",
                    )
                )
    email_timeout = getattr(settings, "EMAIL_TIMEOUT", None)
    if email_timeout and 2 * email_timeout >= settings.NOTIFY_LEASE_SECONDS:
        errors.append(
            Error(
                f"NOTIFY_LEASE_SECONDS ({settings.NOTIFY_LEASE_SECONDS}) must exceed twice "
                f"EMAIL_TIMEOUT ({email_timeout}): a lease renewed only between SMTP commands "
                "could run out during one slow answer, and another worker send the same email.",
                id="jobs.E004",
            )
        )
    return errors


@register(deploy=True)
def mail_names_a_real_domain(app_configs, **kwargs):
    """With a real relay, mail must come from the bureau's own domain: the default sender
    (noreply@consult.localhost) is refused or marked as spam by receiving servers, and replies
    to it bounce."""
    if not getattr(settings, "EMAIL_HOST", ""):
        return []  # mail is written to files
    errors = []
    sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    domains = {
        "DEFAULT_FROM_EMAIL": sender.rpartition("@")[2],
        "SERVER_EMAIL": parseaddr(settings.SERVER_EMAIL)[1].rpartition("@")[2],
        "NOTIFY_MESSAGE_ID_DOMAIN": settings.NOTIFY_MESSAGE_ID_DOMAIN,
    }
    for name, domain in domains.items():
        domain = domain.lower().rstrip(".")
        if not domain or "." not in domain or domain.endswith((".localhost", ".local", ".test")):
            errors.append(
                Error(
                    f"{name} uses {domain or 'no domain'!r}, which no receiving mail server "
                    "accepts as a sender's: set it to an address of the bureau's own domain.",
                    hint="e.g. DEFAULT_FROM_EMAIL='市海洋发展和渔业局 <noreply@weifang.gov.cn>'",
                    id="jobs.E005",
                )
            )
    return errors
