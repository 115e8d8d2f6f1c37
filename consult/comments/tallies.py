"""Comment counts for the public pages, maintained in the transaction that changes them.

A comment counts once it is stored and stops counting while it is marked invalid. The rule
lives here (`counts_publicly`); `comment_store` and the workflow call `tally_add` when it
changes, and `tallies_rebuild` recounts from the comments themselves (migration, repair).
"""

import random

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum

from .models import Comment, CommentTally

# Slots per clause: enough that a burst on one clause rarely waits for a row lock.
SLOTS = 8

PUBLIC = ~Q(status=Comment.Status.INVALID)


def counts_publicly(status: str) -> bool:
    return status != Comment.Status.INVALID


def tally_add(*, consultation_id: int, clause_id: int | None, delta: int) -> None:
    """Add `delta` to the clause's count, in the caller's transaction."""
    key = {"consultation_id": consultation_id, "clause_key": clause_id or 0}
    slot = random.randrange(SLOTS)  # noqa: S311 - spreading writes, not a secret
    if CommentTally.objects.filter(**key, slot=slot).update(count=F("count") + delta):
        return
    try:
        with transaction.atomic():
            CommentTally.objects.create(**key, slot=slot, count=delta)
    except IntegrityError:  # another submission created the slot meanwhile
        CommentTally.objects.filter(**key, slot=slot).update(count=F("count") + delta)


def tallies_of(consultation_id: int) -> tuple[dict[int | None, int], int]:
    """({clause id or None for the whole draft: count}, total) for one consultation."""
    by_clause = {
        row["clause_key"] or None: row["total"]
        for row in CommentTally.objects.filter(consultation_id=consultation_id)
        .values("clause_key")
        .annotate(total=Sum("count"))
    }
    return by_clause, sum(by_clause.values())


def tallies_rebuild(consultation_ids=None) -> None:
    """Recount the tallies from the comments (all consultations, or the ones given)."""
    comments = Comment.objects.all()
    tallies = CommentTally.objects.all()
    if consultation_ids is not None:
        comments = comments.filter(consultation_id__in=consultation_ids)
        tallies = tallies.filter(consultation_id__in=consultation_ids)
    with transaction.atomic():
        tallies.delete()
        CommentTally.objects.bulk_create(
            CommentTally(
                consultation_id=row["consultation_id"],
                clause_key=row["clause_id"] or 0,
                slot=0,
                count=row["total"],
            )
            for row in comments.values("consultation_id", "clause_id")
            .annotate(total=Count("pk", filter=PUBLIC))
            .order_by()
        )
