from django import template

from consult.jobs.services import jobs_overdue

register = template.Library()


@register.simple_tag
def overdue_jobs(user):
    """The jobs that have not succeeded for three of their intervals, for those who watch them."""
    if not (user.is_active and user.is_staff and user.has_perm("jobs.view_jobstatus")):
        return []
    return jobs_overdue()
