"""Storing a comment: validation, routing and the tracking number, in one transaction."""

import hashlib
import hmac

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from consult.consultations.models import Clause, ClauseResponsibility

from .models import Comment, CommentRouting
from .routing import ClauseNode, route_comment
from .tracking import new_tracking_number


class CommentPeriodClosed(Exception):
    """The consultation does not take comments at this moment."""

    def __init__(self, consultation, moment):
        self.consultation = consultation
        self.moment = moment
        super().__init__(str(consultation))


def body_digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def hash_ip(ip: str | None) -> str:
    if not ip:
        return ""
    key = settings.IP_HASH_KEY.encode("utf-8")
    return hmac.new(key, ip.encode("utf-8"), hashlib.sha256).hexdigest()


def clause_routing_tree(clause: Clause) -> ClauseNode:
    """The clause and everything below it as routing sees it, in two queries."""
    subtree = list(
        Clause.objects.filter(
            consultation_id=clause.consultation_id, path__startswith=clause.path
        ).order_by("path")
    )
    names = (
        ClauseResponsibility.objects.filter(clause__in=subtree, department__isnull=False)
        .order_by("clause_id", "position")
        .values_list("clause_id", "role", "department_id")
    )
    lead, cooperating = {}, {}
    for clause_id, role, department_id in names:
        target = lead if role == ClauseResponsibility.Role.LEAD else cooperating
        target.setdefault(clause_id, []).append(department_id)

    children = {}
    for node in subtree:
        children.setdefault(node.parent_id, []).append(node)

    def build(node):
        return ClauseNode(
            lead=tuple(lead.get(node.pk, ())),
            cooperating=tuple(cooperating.get(node.pk, ())),
            children=tuple(build(child) for child in children.get(node.pk, ())),
        )

    return build(clause)


def comment_route(comment: Comment) -> list[CommentRouting]:
    """Decide and store the comment's routing; called once, inside the storing transaction."""
    tree = clause_routing_tree(comment.clause) if comment.clause_id else None
    routes = route_comment(tree, issuer=comment.consultation.issuer_id)
    return CommentRouting.objects.bulk_create(
        CommentRouting(
            comment=comment,
            department_id=route.department,
            role=route.role.value,
            is_owner=route.is_owner,
            position=position,
            created_at=comment.submitted_at,
        )
        for position, route in enumerate(routes)
    )


def comment_store(*, comment: Comment) -> Comment:
    """Save a validated, unsaved comment with a fresh tracking number, its routing and its
    notifications (the outbox), all in the caller's transaction.

    A tracking-number collision retries with a new one.
    """
    comment.body_digest = body_digest(comment.body)
    for _attempt in range(5):
        comment.tracking_number = new_tracking_number()
        try:
            with transaction.atomic():
                comment.save(force_insert=True)
            break
        except IntegrityError:
            comment.pk = None
            if Comment.objects.filter(tracking_number=comment.tracking_number).exists():
                continue
            raise
    else:  # pragma: no cover - 28**10 numbers make five collisions in a row unheard of
        raise RuntimeError("could not allocate a unique tracking number")
    routes = comment_route(comment)
    # Imported lazily: notifications depend on comments, not the other way round.
    from consult.notifications.comments import comment_notifications_queue

    comment_notifications_queue(comment, routes)
    return comment


def comment_check_clause(*, consultation, clause):
    if clause is not None and clause.consultation_id != consultation.pk:
        raise ValidationError({"clause": _("该条款不属于本次征求意见。")}, code="wrong_clause")


def comment_submit(
    *,
    consultation,
    clause,
    body: str,
    channel: str,
    consent: bool,
    submitter_name: str = "",
    submitter_kind: str = Comment.Kind.INDIVIDUAL,
    organisation: str = "",
    phone: str = "",
    email: str = "",
    wants_reply: bool = False,
    ip: str | None = None,
    user_agent: str = "",
    now=None,
) -> Comment:
    """Store a citizen's comment with its routing in one transaction.

    Raises CommentPeriodClosed outside the comment period and ValidationError for
    input that breaks a rule; nothing is stored in either case.
    """
    now = now or timezone.now()
    if not consultation.accepts_comments_at(now):
        raise CommentPeriodClosed(consultation, now)
    comment_check_clause(consultation=consultation, clause=clause)
    if not consent:
        raise ValidationError({"consent": _("请阅读并同意个人信息处理说明。")}, code="consent")
    comment = Comment(
        consultation=consultation,
        clause=clause,
        body=body,
        submitter_name=submitter_name,
        submitter_kind=submitter_kind,
        organisation=organisation,
        phone=phone,
        email=email,
        wants_reply=wants_reply,
        consent=True,
        consent_at=now,
        channel=channel,
        submitted_at=now,
        ip_hash=hash_ip(ip),
        user_agent=(user_agent or "")[:300],
    )
    with transaction.atomic():
        comment_store(comment=comment)
    return comment
