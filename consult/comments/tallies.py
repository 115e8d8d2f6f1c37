"""Comment counts for the public pages, maintained in the transaction that changes them.

A comment counts once it is stored and stops counting while it is marked invalid. The rule
lives here (`counts_publicly`); `comment_store` and the workflow call `tally_add` when it
changes, and `tallies_rebuild` recounts from the comments themselves (migration, repair).
Of the comments that count, the published ones (comments.publication) are counted apart:
publishing and withholding add to `published` in the same transaction.
"""

import random
from dataclasses import dataclass

from django.db import connections, router, transaction
from django.db.models import Count, Q, Sum

from .models import Comment, CommentTally

# Slots per clause: enough that a burst on one clause rarely waits for a row lock.
SLOTS = 8

PUBLIC = ~Q(status=Comment.Status.INVALID)
SHOWN = PUBLIC & Q(publication=Comment.Publication.PUBLISHED)


def counts_publicly(status: str) -> bool:
    return status != Comment.Status.INVALID


def tally_add(
    *, consultation_id: int, clause_id: int | None, delta: int = 0, published: int = 0
) -> None:
    """Add `delta` to the clause's count and `published` to its published count, in the
    caller's transaction: one statement, whether or not the slot's row exists yet."""
    connection = connections[router.db_for_write(CommentTally)]
    with connection.cursor() as cursor:
        cursor.execute(
            *tally_statement(
                consultation_id=consultation_id,
                clause_id=clause_id,
                delta=delta,
                published=published,
            )
        )


def tally_statement(
    *, consultation_id: int, clause_id: int | None, delta: int = 0, published: int = 0
) -> tuple[str, list]:
    """`tally_add`'s statement and its parameters, for a caller that runs it together with
    others (`comment_store`)."""
    slot = random.randrange(SLOTS)  # noqa: S311 - spreading writes, not a secret
    return _TALLY_ADD, [consultation_id, clause_id or 0, slot, delta, published]


_TABLE = CommentTally._meta.db_table
_TALLY_ADD = (
    f"INSERT INTO {_TABLE} (consultation_id, clause_key, slot, count, published)"  # noqa: S608
    " VALUES (%s, %s, %s, %s, %s)"
    " ON CONFLICT (consultation_id, clause_key, slot) DO UPDATE"
    f" SET count = {_TABLE}.count + excluded.count,"
    f" published = {_TABLE}.published + excluded.published"
)


@dataclass(frozen=True)
class Tallies:
    """One consultation's counts; clause id None is the whole draft."""

    by_clause: dict[int | None, int]
    published_by_clause: dict[int | None, int]

    @property
    def total(self) -> int:
        return sum(self.by_clause.values())

    @property
    def published_total(self) -> int:
        return sum(self.published_by_clause.values())


def consultation_tallies(consultation_id: int) -> Tallies:
    """Every count of one consultation, in one query."""
    rows = list(
        CommentTally.objects.filter(consultation_id=consultation_id)
        .values("clause_key")
        .annotate(total=Sum("count"), published_total=Sum("published"))
        .order_by()
    )
    return Tallies(
        by_clause={row["clause_key"] or None: row["total"] for row in rows},
        published_by_clause={row["clause_key"] or None: row["published_total"] for row in rows},
    )


def consultations_with_published_comments():
    """The ids of the consultations that have a published comment, as a subquery."""
    return (
        CommentTally.objects.values("consultation_id")
        .annotate(published_total=Sum("published"))
        .filter(published_total__gt=0)
        .values("consultation_id")
    )


def tallies_of(consultation_id: int) -> tuple[dict[int | None, int], int]:
    """({clause id or None for the whole draft: count}, total) for one consultation."""
    tallies = consultation_tallies(consultation_id)
    return tallies.by_clause, tallies.total


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
                published=row["published"],
            )
            for row in comments.values("consultation_id", "clause_id")
            .annotate(total=Count("pk", filter=PUBLIC), published=Count("pk", filter=SHOWN))
            .order_by()
        )
