from django import template

from consult.comments.access import notifications_visible_to
from consult.jobs.services import jobs_overdue
from consult.notifications.health import emails_failed_recently
from consult.notifications.models import Notification, OutgoingEmail

register = template.Library()


@register.simple_tag
def overdue_jobs(user):
    """The jobs that have not succeeded for three of their intervals, or never ran for that long
    (`has_run` false), for those who watch them."""
    if not (user.is_active and user.is_staff and user.has_perm("jobs.view_jobstatus")):
        return []
    return jobs_overdue()


@register.simple_tag
def failed_emails(user) -> int:
    """How many of the emails the user may see were given up on in the last day, for those who
    may look at the outbox (the same rule as its admin list)."""
    if not (user.is_active and user.is_staff and user.has_perm("notifications.view_outgoingemail")):
        return 0
    visible = notifications_visible_to(user, Notification.objects.all())
    emails = OutgoingEmail.objects.filter(pk__in=visible.values("email"))
    return emails_failed_recently(emails).count()
