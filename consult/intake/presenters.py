"""What the public pages show, computed in a fixed number of queries."""

from django.db.models import Count, Prefetch, Q

from consult.comments.models import Comment
from consult.consultations.models import Clause, ClauseResponsibility, Consultation

STATUS_ORDER = {
    Consultation.Status.OPEN: 0,
    Consultation.Status.UPCOMING: 1,
    Consultation.Status.CLOSED: 2,
    Consultation.Status.REPORT_PUBLISHED: 2,
}


def time_left(consultation, now) -> tuple[int, int] | None:
    """(days, hours) until the close, for open consultations."""
    if not consultation.accepts_comments_at(now):
        return None
    seconds = int((consultation.closes_at - now).total_seconds())
    return seconds // 86400, seconds % 86400 // 3600


def consultations_in_order(now) -> list[Consultation]:
    """Open ones first (soonest close first), then upcoming, then closed (latest first)."""
    consultations = list(Consultation.objects.select_related("issuer"))
    for consultation in consultations:
        consultation.current_status = consultation.status_at(now)
        consultation.time_left = time_left(consultation, now)

    def order(c):
        rank = STATUS_ORDER[c.current_status]
        moment = c.closes_at.timestamp() if rank < 2 else -c.closes_at.timestamp()
        return rank, c.opens_at.timestamp() if rank == 1 else moment

    consultations.sort(key=order)
    return consultations


PUBLIC_COMMENTS = ~Q(comments__status=Comment.Status.INVALID)


def clause_tree_with_counts(consultation) -> tuple[list[Clause], int]:
    """Top clauses with `.subclauses`, responsibilities and comment counts; and the total."""
    clauses = list(
        consultation.clauses.annotate(comment_count=Count("comments", filter=PUBLIC_COMMENTS))
        .prefetch_related(
            Prefetch(
                "responsibilities",
                queryset=ClauseResponsibility.objects.order_by("position"),
            )
        )
        .order_by("path")
    )
    by_parent = {}
    for clause in clauses:
        by_parent.setdefault(clause.parent_id, []).append(clause)
    for clause in clauses:
        clause.subclauses = by_parent.get(clause.pk, [])
        responsibilities = list(clause.responsibilities.all())
        clause.lead_names = [r.name for r in responsibilities if r.role == "lead"]
        clause.cooperating_names = [r.name for r in responsibilities if r.role != "lead"]
    total = consultation.comments.exclude(status=Comment.Status.INVALID).count()
    return by_parent.get(None, []), total
