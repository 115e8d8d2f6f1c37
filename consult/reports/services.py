"""Building the adoption report from the comments; the coordinator edits it, then publishes."""

from collections import Counter

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from consult.comments.models import Comment
from consult.comments.notifying import report_published_notifications_write
from consult.consultations.models import Consultation

from .models import AdoptionReport, ReportClause

DECISIONS = {
    "adopted": Comment.Decision.ADOPTED,
    "partly_adopted": Comment.Decision.PARTLY_ADOPTED,
    "not_adopted": Comment.Decision.NOT_ADOPTED,
    "explained": Comment.Decision.EXPLAINED,
}
GIST_REPLIES = 3
GIST_LENGTH = 120


def _counts(comments):
    answered = Q(status=Comment.Status.ANSWERED)
    return comments.aggregate(
        total=Count("pk"),
        invalid=Count("pk", filter=Q(status=Comment.Status.INVALID)),
        unanswered=Count("pk", filter=Q(status__in=Comment.OPEN_STATUSES)),
        campaigns=Count("campaign", distinct=True),
        campaign_letters=Count("pk", filter=Q(campaign__isnull=False)),
        **{
            name: Count("pk", filter=answered & Q(decision=value))
            for name, value in DECISIONS.items()
        },
    )


def gist_of(replies: list[str]) -> str:
    """The most frequent replies, shortened: a draft for the coordinator to rewrite."""
    common = Counter(reply.strip() for reply in replies if reply.strip()).most_common(GIST_REPLIES)
    parts = [
        reply if len(reply) <= GIST_LENGTH else reply[:GIST_LENGTH] + "…" for reply, _n in common
    ]
    return "；".join(parts)


@transaction.atomic
def report_generate(consultation, *, now=None) -> AdoptionReport:
    """Count everything again; gists the coordinator has written are kept."""
    now = now or timezone.now()
    comments = Comment.objects.filter(consultation=consultation)
    totals = _counts(comments)
    report, created = AdoptionReport.objects.update_or_create(
        consultation=consultation,
        defaults={**totals, "generated_at": now},
    )
    if created or not report.introduction:
        report.introduction = _(
            "%(title)s公开征求意见期间，共收到意见 %(total)s 条。现将意见采纳情况公布如下。"
        ) % {"title": consultation.title, "total": totals["total"]}
        report.save(update_fields=["introduction"])

    valid = comments.exclude(status=Comment.Status.INVALID)
    clause_ids = list(valid.order_by().values_list("clause_id", flat=True).distinct())
    existing = {line.clause_id: line for line in report.lines.all()}
    clause_order = {
        pk: position
        for position, pk in enumerate(
            consultation.clauses.order_by("path").values_list("pk", flat=True), start=1
        )
    }
    keep = []
    for clause_id in clause_ids:
        on_clause = valid.filter(clause_id=clause_id)
        counts = _counts(on_clause)
        replies = list(
            on_clause.filter(status=Comment.Status.ANSWERED)
            .exclude(reply="")
            .values_list("reply", flat=True)[:500]
        )
        line = existing.get(clause_id) or ReportClause(report=report, clause_id=clause_id)
        line.position = clause_order.get(clause_id, 0)
        line.comments = counts["total"]
        for name in (*DECISIONS, "campaigns", "campaign_letters"):
            setattr(line, name, counts[name])
        if not line.gist:
            line.gist = gist_of(replies)
        line.save()
        keep.append(line.pk)
    report.lines.exclude(pk__in=keep).delete()
    return report


@transaction.atomic
def report_publish(consultation: Consultation, *, now=None) -> int:
    """Publish the adoption report (意见采纳情况) and tell the citizens who asked to know.

    Returns how many citizens will be emailed. Publishing again keeps the first date.
    """
    now = now or timezone.now()
    if now < consultation.closes_at:
        raise ValidationError(_("征求意见截止后才能公布采纳情况。"), code="too_early")
    if not AdoptionReport.objects.filter(consultation=consultation).exists():
        report_generate(consultation, now=now)
    Consultation.objects.filter(pk=consultation.pk, report_published_at__isnull=True).update(
        report_published_at=now
    )
    consultation.refresh_from_db(fields=["report_published_at"])
    return report_published_notifications_write(consultation)
