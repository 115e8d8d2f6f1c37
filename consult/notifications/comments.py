"""The notifications a stored comment causes: one per routed department, a receipt to its author."""

from django.utils import translation

from consult.comments.models import Comment, CommentRouting

from .models import Notification
from .outbox import department_recipients, notification_queue, notifications_enqueue_on_commit


def comment_notifications_queue(comment: Comment, routes: list[CommentRouting]) -> None:
    """Called inside the transaction that stores the comment; one broker message after commit."""
    queued = []
    for route in routes:
        department = route.department
        queued.append(
            notification_queue(
                kind=Notification.Kind.COMMENT_ROUTED,
                key=f"routed:{comment.pk}:{department.pk}",
                to=department_recipients(department),
                department=department,
                consultation=comment.consultation,
                comment=comment,
                context={"role": route.role, "is_owner": route.is_owner},
                digest=True,
                now=comment.submitted_at,
                enqueue=False,
            )
        )
    if comment.email:
        from consult.comments.status_links import comment_status_url

        queued.append(
            notification_queue(
                kind=Notification.Kind.RECEIPT,
                key=f"receipt:{comment.pk}",
                to=[comment.email],
                consultation=comment.consultation,
                comment=comment,
                context={
                    "departments": [route.department.name for route in routes],
                    "status_url": comment_status_url(comment),
                },
                language=translation.get_language(),
                now=comment.submitted_at,
                enqueue=False,
            )
        )
    notifications_enqueue_on_commit(queued)
