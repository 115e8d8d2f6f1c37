"""Turning notifications into an email's subject, text and HTML, from templates per kind.

Templates live at notifications/email/<kind>.subject.txt, <kind>.txt and <kind>.html and always
receive a list of items, so one template serves a single message and a digest alike.
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from consult.comments.models import Comment, CommentRouting

from .models import Notification


def site_url(path: str = "") -> str:
    return settings.SITE_URL.rstrip("/") + path


def notifications_render(notifications) -> tuple[str, str, str]:
    first = notifications[0]
    comment_ids = [n.comment_id for n in notifications if n.comment_id]
    comments = Comment.objects.select_related("clause", "consultation").in_bulk(comment_ids)
    roles = dict(CommentRouting.Role.choices)
    items = []
    for notification in notifications:
        comment = comments.get(notification.comment_id)
        item = dict(notification.context)
        item["notification"] = notification
        if comment is not None:
            item["comment"] = comment
            item["admin_url"] = site_url(
                reverse("admin:comments_comment_change", args=[comment.pk])
            )
            item["role_label"] = roles.get(item.get("role"), "")
            # Contact details only ever go to the department that owns the comment.
            item["show_contact"] = bool(item.get("is_owner")) or notification.kind not in (
                Notification.Kind.COMMENT_ROUTED,
                Notification.Kind.REASSIGNED,
            )
        items.append(item)
    context = {
        "items": items,
        "count": len(items),
        "is_digest": len(items) > 1,
        "kind": first.kind,
        "department": first.department,
        "consultation": first.consultation
        or (items[0]["comment"].consultation if "comment" in items[0] else None),
        "site_url": site_url(),
        **first.context,
    }
    base = f"notifications/email/{first.kind}"
    subject = render_to_string(f"{base}.subject.txt", context)
    text = render_to_string(f"{base}.txt", context)
    html = render_to_string(f"{base}.html", context)
    return subject.strip(), text, html
