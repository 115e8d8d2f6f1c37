"""The notifications a stored comment causes: one per routed department, a receipt to its author."""

from django.utils import translation

from consult.comments.models import Comment, CommentRouting
from consult.consultations.models import Department

from .models import Notification
from .outbox import notification_build, notifications_enqueue_on_commit, recipients_by_department


def comment_notifications_queue(comment: Comment, routes: list[CommentRouting]) -> None:
    """Called inside the transaction that stores the comment."""
    comments_notifications_queue([(comment, routes)])


def comments_notifications_queue(routed: list[tuple[Comment, list[CommentRouting]]]) -> None:
    """Write the notifications of freshly routed comments in one insert; one broker message
    after commit hands on everything that is due.

    The comments are new, so their notification keys cannot exist yet: no conflict handling.
    """
    from consult.comments.status_links import comment_status_url

    department_ids = {route.department_id for _comment, routes in routed for route in routes}
    departments = Department.objects.in_bulk(department_ids)
    recipients = recipients_by_department(department_ids)
    language = translation.get_language()
    notifications = []
    for comment, routes in routed:
        for route in routes:
            department = departments[route.department_id]
            notifications.append(
                notification_build(
                    kind=Notification.Kind.COMMENT_ROUTED,
                    key=f"routed:{comment.pk}:{department.pk}",
                    to=recipients.get(department.pk, []),
                    department=department,
                    consultation=comment.consultation,
                    comment=comment,
                    context={"role": route.role, "is_owner": route.is_owner},
                    digest=True,
                    now=comment.submitted_at,
                )
            )
        if comment.email:
            notifications.append(
                notification_build(
                    kind=Notification.Kind.RECEIPT,
                    key=f"receipt:{comment.pk}",
                    to=[comment.email],
                    consultation=comment.consultation,
                    comment=comment,
                    context={
                        "departments": [departments[r.department_id].name for r in routes],
                        "status_url": comment_status_url(comment),
                    },
                    language=language,
                    now=comment.submitted_at,
                )
            )
    Notification.objects.bulk_create(notifications)
    notifications_enqueue_on_commit(notifications)
