"""The notifications a stored comment causes: one per routed department, a receipt to its author."""

from django.urls import reverse

from consult.bulk import PARENT_KEY, values_insert
from consult.consultations.models import consultation_texts
from consult.notifications.delivery import emails_unsent_rendered_again
from consult.notifications.models import Notification
from consult.notifications.outbox import (
    Planned,
    notification_values,
    notification_write,
    notifications_unsent_withdraw,
    planned_publish_on_commit,
    recipients_by_department,
)
from consult.notifications.rendering import site_url

from .directory import directory_of
from .models import Comment, CommentRouting
from .privacy import comment_text_masked
from .revision_outcomes import comments_answer_drafts
from .routing import Route
from .status_links import comment_status_urls

# The kinds a comment causes that go to a department's mailboxes (a reminder goes to its staff
# too: `reminders`); the others go to the citizen.
TO_DEPARTMENT_MAILBOXES = (Notification.Kind.COMMENT_ROUTED, Notification.Kind.REASSIGNED)


def comments_notifications_write(routed: "list[tuple[Comment, tuple[Route, ...]]]") -> None:
    """Write the notifications of freshly routed comments in one insert; one broker message
    after commit hands on everything that is due; `routed` pairs each comment with the routes
    `routes_store` stored for it.

    The comments are new, so their notification keys cannot exist yet: no conflict handling.
    """
    rows = comments_notification_values(routed)
    notifications_planned_publish(values_insert(Notification, rows), rows)


def comments_notification_values(routed: "list[tuple[Comment, tuple[Route, ...]]]") -> list:
    """The notification rows ({attname: value}) of new comments paired with their routes: one
    per routed department, and the receipt to an author who gave an email address. A comment
    not stored yet is named by `PARENT_KEY` in the keys, for `rows_insert_with` to fill in.

    On the path of every comment: rows, not model instances.
    """
    # Routed by their consultations' directories, which hold every department those routes
    # name and its mailboxes: no query here.
    departments, recipients = {}, {}
    for comment in {comment.consultation_id: comment for comment, _routes in routed}.values():
        directory = directory_of(comment.consultation)
        departments.update(directory.departments)
        recipients.update(directory.recipients)
    rows = []
    for comment, routes in routed:
        comment_key = PARENT_KEY if comment.pk is None else comment.pk
        routed_to = [departments[route.department] for route in routes]
        for route, department in zip(routes, routed_to, strict=True):
            rows.append(
                notification_values(
                    kind=Notification.Kind.COMMENT_ROUTED,
                    key=f"routed:{comment_key}:{department.pk}",
                    to=recipients.get(department.pk, []),
                    department=department,
                    consultation=comment.consultation,
                    comment=comment,
                    context={"role": str(route.role), "is_owner": route.is_owner},
                    digest=True,
                    now=comment.submitted_at,
                )
            )
        if comment.email:
            rows.append(
                notification_values(
                    kind=Notification.Kind.RECEIPT,
                    key=f"receipt:{comment_key}",
                    to=[comment.email],
                    consultation=comment.consultation,
                    comment=comment,
                    # The signed link to its status page is made when the email is built.
                    context={"departments": [department.name for department in routed_to]},
                    language=comment.language,
                    now=comment.submitted_at,
                )
            )
    return rows


def notifications_planned_publish(keys: list, rows: list[dict]) -> None:
    """After commit, hand the broker the notifications just stored from `rows` (their `keys`)."""
    planned_publish_on_commit(
        [
            Planned(key, row["due_at"], row["digest_group"])
            for key, row in zip(keys, rows, strict=True)
        ]
    )


def comment_reply_write(comment: Comment, *, key: str) -> None:
    """The department's answer, mailed to the citizen who left an email address."""
    notification_write(
        kind=Notification.Kind.REPLY,
        key=key,
        to=[comment.email],
        consultation=comment.consultation,
        comment=comment,
        language=comment.language,
    )


def report_emails_withdraw(comments) -> int:
    """The report and revision emails to these comments' citizen not sent yet (built or not:
    one waiting for a retry too), once they asked for no more."""
    return notifications_unsent_withdraw(
        Notification.objects.filter(
            comment__in=comments,
            kind__in=[Notification.Kind.REPORT_PUBLISHED, Notification.Kind.REVISION_PUBLISHED],
        )
    )


def comment_reply_withdraw(comment: Comment) -> int:
    """A reopened comment's reply email, if it is not sent yet: built later, it would carry the
    answer being worked on (or none) as the answer given; built already and waiting for a
    retry, the answer withdrawn."""
    return notifications_unsent_withdraw(
        Notification.objects.filter(comment=comment, kind=Notification.Kind.REPLY)
    )


def comment_routed_again_write(comment: Comment, route: CommentRouting, *, reason: str) -> None:
    """Tell a department that a comment has been passed to it (转办) or added to its queue.

    Once per transfer: a comment passed back to a department, or moved to another clause and
    back, tells it again; the same transfer written twice (a retried write) tells it once.
    """
    department = route.department
    # The route's moment is the transfer's own (written with it, by workflow and by a move to
    # another clause), so the key tells one transfer from the next to the same department.
    transferred = route.created_at.isoformat()
    notification_write(
        kind=Notification.Kind.REASSIGNED,
        key=f"reassigned:{comment.pk}:{department.pk}:{route.role}:{route.is_owner}:{transferred}",
        to=recipients_by_department([department.pk]).get(department.pk, []),
        department=department,
        consultation=comment.consultation,
        comment=comment,
        # Kept masked for a department that only cooperates, as the admin shows it the text:
        # the notification's context is on show in the admin too.
        context={
            "role": route.role,
            "is_owner": route.is_owner,
            "reason": reason if route.is_owner else comment_text_masked(comment, reason),
        },
    )


def comment_departed_notices_withdraw(comment: Comment, department_ids) -> int:
    """The departments no longer routed this comment (passed on by its owner, or the comment
    moved to a clause of others) are not told of it by a digest not yet sent
    (`notifications_unsent_withdraw`): its link would open a comment they can no longer see."""
    if not department_ids:
        return 0
    return notifications_unsent_withdraw(_departments_told_of(comment, department_ids))


def comment_changed_parts_emails_rendered_again(comment: Comment, department_ids) -> int:
    """The departments still routed this comment whose part in it changed (a lead department
    made a cooperating one, by a coordinator or by a move to another clause): an email about
    it built for them before and not sent yet (waiting for a retry) is rendered again as the
    comment is routed now (`emails_unsent_rendered_again`), without the submitter's details
    and "负责答复" for a department that no longer owns it."""
    if not department_ids:
        return 0
    return emails_unsent_rendered_again(_departments_told_of(comment, department_ids))


def _departments_told_of(comment: Comment, department_ids):
    """What these departments were told of the comment: that it came in, or was passed on."""
    return Notification.objects.filter(
        comment=comment,
        department_id__in=department_ids,
        kind__in=[Notification.Kind.COMMENT_ROUTED, Notification.Kind.REASSIGNED],
    )


# Stands for a comment's key in a reversed admin URL, each email's own put in its place.
_PK = "consult-comment-pk"

# The emails about one comment sent to its author, which link to its status page. (Reports
# and revisions reach citizens too, listing several comments, each link in the context.)
CITIZENS_OWN = (Notification.Kind.RECEIPT, Notification.Kind.REPLY)


def queue_url(
    consultation, *, pending: bool = False, scope: str = "", role: str = "", revision=None
) -> str:
    """The admin's list of a consultation's comments, with the queue's own filters: by default
    the user's departments' open ones (我的待办); every visible open one with `scope="open"`;
    only those still 待处理 when `pending`; only those the user's department answers
    (`role="owner"`), has another role on (`role="cooperating"`) or still owes an opinion on
    (`role="awaited"`); one draft's (`revision`, a number)."""
    query = f"?consultation__id__exact={consultation.pk}"
    if scope:
        query += f"&scope={scope}"
    if pending:
        query += f"&status__exact={Comment.Status.PENDING}"
    if role:
        query += f"&role={role}"
    if revision is not None:
        query += f"&revision={revision}"
    return site_url(reverse("admin:comments_comment_changelist") + query)


def notification_items_with_comments(items: list[dict]) -> None:
    """Before an email is rendered: each item's comment, its admin link, the department's role,
    whether contact details may be shown (only ever to the department that owns it), and for
    the author's own emails (`CITIZENS_OWN`) the signed link to the comment's status page."""
    comment_ids = [item["notification"].comment_id for item in items]
    comments = (
        Comment.objects.select_related("clause__revision", "consultation")
        .defer(
            *consultation_texts("consultation"),
            "clause__revision__preamble",
            "clause__revision__source_text",
        )
        .in_bulk([pk for pk in comment_ids if pk])
    )
    # Each comment's answer deadline is its own draft's: at most one query for the batch.
    answer_drafts = comments_answer_drafts(comments.values())
    roles = dict(CommentRouting.Role.choices)
    # Each department's part as the comment is routed now, not when the notification was
    # written: a comment transferred meanwhile (转办) must not reach its former owner's digest
    # with the submitter's details and "负责答复".
    owners, parts = {}, {}
    for comment_id, department_id, name, role, is_owner in CommentRouting.objects.filter(
        comment__in=comments
    ).values_list("comment_id", "department_id", "department__name", "role", "is_owner"):
        parts[comment_id, department_id] = (role, is_owner)
        if is_owner:
            owners[comment_id] = name
    # reverse() once for the batch, not once per email (a tenth of the worker's CPU).
    admin_change = site_url(reverse("admin:comments_comment_change", args=[_PK]))
    queue_urls = {}
    for item in items:
        notification = item["notification"]
        comment = comments.get(notification.comment_id)
        if comment is None:
            continue
        item["comment"] = comment
        item["consultation"] = comment.consultation
        # As it stands when the email is built: a digest goes out after its window, by when a
        # comment may have been answered already.
        item["finished"] = comment.status in (Comment.Status.ANSWERED, Comment.Status.INVALID)
        item["status_label"] = comment.get_status_display()
        # What is asked of the department, and by when.
        item["owner_name"] = owners.get(comment.pk, "")
        item["answer_by"] = comment.consultation.answer_deadline_of(answer_drafts[comment.pk])
        item["admin_url"] = admin_change.replace(_PK, str(comment.pk))
        # Where a digest's comments it does not list are.
        if comment.consultation_id not in queue_urls:
            queue_urls[comment.consultation_id] = queue_url(comment.consultation)
        item["queue_url"] = queue_urls[comment.consultation_id]
        to_department = notification.kind in TO_DEPARTMENT_MAILBOXES
        if to_department:
            # No longer routed to it at all: it keeps its role's words, not the details.
            role, is_owner = parts.get(
                (comment.pk, notification.department_id), (item.get("role"), False)
            )
            item["role"], item["is_owner"] = role, is_owner
        item["role_label"] = roles.get(item.get("role"), "")
        item["show_contact"] = bool(item.get("is_owner")) or not to_department
        # The text's own signature masked with the contact details; and the reason it was
        # passed on, in which staff may have written them.
        item["body"] = comment.body if item["show_contact"] else comment_text_masked(comment)
        if item.get("reason") and not item["show_contact"]:
            item["reason"] = comment_text_masked(comment, item["reason"])
    # Made here, in the worker, not in the request that stored the comment (rows written
    # before that carry their own).
    linked = [
        item
        for item in items
        if "comment" in item
        and item["notification"].kind in CITIZENS_OWN
        and "status_url" not in item
    ]
    status_urls = comment_status_urls([item["comment"] for item in linked])
    for item in linked:
        item["status_url"] = status_urls[item["comment"].pk]
