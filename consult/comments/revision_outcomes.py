"""What became of the clauses citizens commented on when a later revision of the draft is
published, and the one email per citizen and revision that tells those who asked to know.

A comment belongs to the revision of its clause; a comment on the whole draft belongs to the
revision taking comments when it was submitted (`comment_revision_id`, `comments_of_revision`:
the one rule the reports, the queue and the clause suggestions share).
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from consult.consultations.models import Clause, ClauseLink, Revision
from consult.consultations.revisions import revision_mark_published, revision_with_period
from consult.notifications.models import Notification
from consult.notifications.outbox import notification_build, notifications_write_once
from consult.notifications.rendering import site_url

from .models import Comment
from .status_links import comment_status_url, comment_status_urls, report_emails_stop_url


@dataclass(frozen=True)
class Outcome:
    """Where a clause went in one later revision."""

    revision: Revision
    kind: str  # a ClauseLink.Kind
    old: Clause  # the clause as the revision before this one had it
    clauses: tuple[Clause, ...]  # where it went; empty when dropped

    @property
    def label(self) -> str:
        return ClauseLink.Kind(self.kind).label

    @property
    def changes_url(self) -> str:
        path = reverse(
            "intake:revision_changes",
            kwargs={"slug": self.revision.consultation.slug, "number": self.revision.number},
        )
        return f"{path}#old-{self.old.pk}"


def fate_of(old_id: int, links) -> tuple[str, tuple]:
    """What became of one old clause: (kind, the links' new clauses) — dropped with none,
    split when it went to several new clauses."""
    mine = [link for link in links if link.old_id == old_id]
    onward = [link for link in mine if link.new_id is not None]
    if not onward:
        return ClauseLink.Kind.DROPPED, ()
    kind = ClauseLink.Kind.SPLIT if len(onward) > 1 else onward[0].kind
    return kind, tuple(link.new for link in onward)


def _revisions_and_links(consultation_id: int, *, after: int, up_to: int | None = None):
    """The published revisions numbered above `after` (up to `up_to`), in order, and their
    links by revision id: two queries, whatever the number of clauses followed through them."""
    later = (
        Revision.objects.published()
        .filter(consultation_id=consultation_id, number__gt=after)
        .select_related("consultation")
        .order_by("number")
    )
    if up_to is not None:
        later = later.filter(number__lte=up_to)
    later = list(later)
    links = {}
    for link in ClauseLink.objects.filter(revision__in=later).select_related("old", "new"):
        links.setdefault(link.revision_id, []).append(link)
    return later, links


def _outcomes(clause: Clause, later, links) -> list[Outcome]:
    outcomes, following = [], [clause]
    for revision in later:
        if revision.number <= clause.revision.number:
            continue
        step = []
        for old in following:
            kind, went_to = fate_of(old.pk, links.get(revision.pk, []))
            outcomes.append(Outcome(revision, kind, old, went_to))
            step += went_to
        following = step
        if not following:
            break
    return outcomes


def clause_outcomes(clause: Clause) -> list[Outcome]:
    """The clause's fate in every later published revision, following it from one to the next
    (once dropped, it is followed no further)."""
    later, links = _revisions_and_links(clause.consultation_id, after=clause.revision.number)
    return _outcomes(clause, later, links)


def comment_outcomes(comment: Comment) -> list[Outcome]:
    """Where the comment's clause went in each later published revision (none for a comment
    on the whole draft, which every revision keeps)."""
    if comment.clause_id is None:
        return []
    return clause_outcomes(comment.clause)


def _takes_comments(revision: Revision) -> bool:
    """The first draft and every later published one with a comment period. A final text has
    none: a comment on the whole draft recorded after it came out (a letter posted in time,
    say) is still one on the draft consulted on."""
    return revision.published_at is not None and (
        revision.number == 1 or revision.opens_at is not None
    )


def whole_draft_window(revision: Revision, revisions) -> tuple | None:
    """When a comment on the whole draft is one on `revision`: (from, until), either None for
    "always" / "still"; None when it takes no comments. `revisions`: the consultation's.

    From its publication (the first draft: from the start) until the next revision taking
    comments was published. The one rule for `comments_of_revision` and `comment_revision`.
    """
    if not _takes_comments(revision):
        return None
    later = sorted(
        (r for r in revisions if r.number > revision.number and _takes_comments(r)),
        key=lambda r: r.number,
    )
    start = revision.published_at if revision.number > 1 else None
    return start, (later[0].published_at if later else None)


def comment_revision(comment: Comment, revisions) -> Revision | None:
    """The revision, of the consultation's `revisions`, the comment was written on: its
    clause's, or for a comment on the whole draft the one whose window holds its submission."""
    if comment.clause_id is not None:
        return next((r for r in revisions if r.pk == comment.clause.revision_id), None)
    for revision in revisions:
        window = whole_draft_window(revision, revisions)
        if window is None:
            continue
        start, until = window
        if (start is None or start <= comment.submitted_at) and (
            until is None or comment.submitted_at < until
        ):
            return revision
    return None


def consultation_revisions(consultation_ids) -> dict[int, list[Revision]]:
    """The revisions of these consultations (without their texts), by consultation id: one
    query."""
    revisions = defaultdict(list)
    found = (
        Revision.objects.filter(consultation_id__in=consultation_ids)
        .defer("preamble", "source_text")
        .order_by("number")
    )
    for revision in found:
        revisions[revision.consultation_id].append(revision)
    return revisions


def comment_answer_draft(comment: Comment, revisions=None) -> Revision | None:
    """The draft whose answer deadline the comment has: the one it was written on
    (`comment_revision`), or for a text without a period (a final text) the draft consulted on
    before it; None for a consultation without revisions, whose own deadline it has.
    `revisions`: the consultation's, or looked up."""
    if revisions is None:
        revisions = consultation_revisions([comment.consultation_id])[comment.consultation_id]
    revision = comment_revision(comment, revisions)
    return None if revision is None else revision_with_period(revision, revisions)


def comments_answer_drafts(comments) -> dict[int, Revision | None]:
    """`comment_answer_draft` of each comment, by pk, for comments loaded with their clauses'
    revisions (`select_related("clause__revision")`). A comment on a clause of a draft with a
    period needs nothing more; the consultations' revisions are read, in one query, only for
    the others (on the whole draft, on a final text): a page of the queue costs the same
    queries at any size."""
    comments = list(comments)
    own = {
        comment.pk: [comment.clause.revision]
        for comment in comments
        if comment.clause_id is not None and comment.clause.revision.has_period
    }
    others = {comment.consultation_id for comment in comments if comment.pk not in own}
    revisions = consultation_revisions(others) if others else {}
    return {
        comment.pk: comment_answer_draft(
            comment, own.get(comment.pk) or revisions[comment.consultation_id]
        )
        for comment in comments
    }


def comment_answer_deadline(comment: Comment, revisions=None) -> datetime.datetime:
    """When the answer to this comment is due: its draft's (`comment_answer_draft`)."""
    return comment.consultation.answer_deadline_of(comment_answer_draft(comment, revisions))


def answer_drafts_q(consultation, revisions=None) -> list[tuple[Revision | None, Q]]:
    """Each published draft with a comment period, in order, with the comments that have its
    answer deadline (`comment_answer_draft`, as a condition); the last is the one consulted on
    now. A consultation without published revisions: [(None, all its comments)].
    `revisions`: the consultation's, or looked up (one query)."""
    if revisions is None:
        revisions = consultation_revisions([consultation.pk])[consultation.pk]
    published = [revision for revision in revisions if revision.published_at is not None]
    if not published:
        return [(None, Q(consultation_id=consultation.pk))]
    members = defaultdict(list)
    for revision in published:
        members[revision_with_period(revision, revisions)].append(revision)
    holders = sorted(members, key=lambda revision: revision.number)
    if len(holders) == 1:
        return [(holders[0], Q(consultation_id=consultation.pk))]  # all of them, as the draft's
    drafts = []
    for holder in holders:
        comments = Q()
        for revision in members[holder]:
            comments |= revision_comments_q(revision, revisions)
        drafts.append((holder, comments))
    return drafts


def comments_past_answer_deadline_q(consultation, now, revisions=None) -> Q:
    """The consultation's comments whose answer deadline (their own draft's,
    `comment_answer_draft`) is past at `now`, as a condition; open or not. One query for the
    revisions unless given, none per comment."""
    past = Q(pk__in=[])
    for draft, comments in answer_drafts_q(consultation, revisions):
        if consultation.is_past_answer_deadline(now, draft):
            past |= comments
    return past


def comment_revision_id(comment: Comment) -> int | None:
    """The id of the revision the comment was written on (`comment_revision`)."""
    revision = comment_revision(
        comment, list(Revision.objects.filter(consultation_id=comment.consultation_id))
    )
    return revision.pk if revision else comment.consultation.current_revision_id


def comments_of_revision(comments, revision: Revision):
    """The comments on this revision: on its clauses, or on the whole draft within its window
    (`whole_draft_window`; `comment_revision` comment by comment)."""
    revisions = list(Revision.objects.filter(consultation_id=revision.consultation_id))
    as_stored = next((r for r in revisions if r.pk == revision.pk), revision)
    return comments.filter(revision_comments_q(as_stored, revisions))


def revision_comments_q(revision: Revision, revisions) -> Q:
    """`comments_of_revision` as a condition, given the consultation's `revisions`."""
    on_clauses = Q(clause__revision=revision)
    window = whole_draft_window(revision, revisions)
    if window is None:
        return on_clauses
    start, until = window
    whole_draft = Q(clause__isnull=True, consultation_id=revision.consultation_id)
    if start is not None:
        whole_draft &= Q(submitted_at__gte=start)
    if until is not None:
        whole_draft &= Q(submitted_at__lt=until)
    return on_clauses | whole_draft


def revision_published_notifications_write(revision: Revision) -> int:
    """One email per citizen who asked to be told (`notify_on_report`) listing each of their
    comments on an earlier revision with where its clause went.

    Keyed per revision and the citizen's first comment, not by address (which the key would
    outlive: retention redacts an email's address and context, never its key), so writing
    again never mails anyone twice. Each clause is followed once, however many comments it
    has. Returns how many emails were queued; they leave after commit.
    """
    comments = (
        Comment.objects.filter(
            consultation_id=revision.consultation_id,
            notify_on_report=True,
            clause__revision__number__lt=revision.number,
        )
        .exclude(email="")
        .exclude(status=Comment.Status.INVALID)
        .select_related("clause__revision")
        .order_by("submitted_at", "pk")
    )
    by_address = {}
    for comment in comments:
        by_address.setdefault(comment.email.strip().lower(), []).append(comment)
    later, links = _revisions_and_links(revision.consultation_id, after=1, up_to=revision.number)
    here_by_clause = {}
    changes_path = reverse(
        "intake:revision_changes",
        kwargs={"slug": revision.consultation.slug, "number": revision.number},
    )
    notifications = []
    for theirs in by_address.values():
        outcomes = []
        for comment in theirs:
            if comment.clause_id not in here_by_clause:
                here_by_clause[comment.clause_id] = [
                    outcome
                    for outcome in _outcomes(comment.clause, later, links)
                    if outcome.revision.pk == revision.pk
                ]
            for outcome in here_by_clause[comment.clause_id]:
                outcomes.append(
                    {
                        "tracking_number": comment.tracking_number,
                        "clause": str(outcome.old),
                        "kind": outcome.kind,
                        "to": [str(clause) for clause in outcome.clauses],
                        "changes_url": site_url(f"{changes_path}#old-{outcome.old.pk}"),
                        "status_url": comment_status_url(comment),
                    }
                )
        if not outcomes:
            continue
        first = theirs[0]
        notifications.append(
            notification_build(
                kind=Notification.Kind.REVISION_PUBLISHED,
                key=f"revision:{revision.pk}:comment:{first.pk}",
                to=[first.email],
                consultation=revision.consultation,
                comment=first,
                language=first.language,
                context={
                    "revision_number": revision.number,
                    "is_final": revision.is_final,
                    "revision_url": site_url(changes_path),
                    "outcomes": outcomes,
                    # Also the List-Unsubscribe header (notifications.delivery).
                    "unsubscribe_url": report_emails_stop_url(first),
                },
            )
        )
    return notifications_write_once(notifications)


def revision_report_notifications_write(revision: Revision, *, report_path: str) -> int:
    """The adoption report on this revision is out: one email to every citizen who commented on
    the revision and asked to hear (`notify_on_report`), linking to `report_path` and listing
    each of their comments on it with its tracking number and status link.

    One per address, as the revision email: keyed per revision and the citizen's first comment
    on it, so publishing twice never mails anyone twice. Returns how many emails (citizens)
    were queued; they leave after commit.
    """
    comments = (
        comments_of_revision(
            Comment.objects.filter(consultation_id=revision.consultation_id, notify_on_report=True),
            revision,
        )
        .exclude(email="")
        # Not counted in the report (spam, off topic): their senders are not written to about it.
        .exclude(status=Comment.Status.INVALID)
        .order_by("submitted_at", "pk")
    )
    by_address = {}
    for comment in comments.iterator():
        by_address.setdefault(comment.email.strip().lower(), []).append(comment)
    consultation = revision.consultation
    report_url = site_url(report_path)
    notifications = []
    for theirs in by_address.values():
        first = theirs[0]
        status_urls = comment_status_urls(theirs)
        notifications.append(
            notification_build(
                kind=Notification.Kind.REPORT_PUBLISHED,
                key=f"report:{revision.pk}:comment:{first.pk}",
                to=[first.email],
                consultation=consultation,
                comment=first,
                language=first.language,
                context={
                    "report_url": report_url,
                    "unsubscribe_url": report_emails_stop_url(first),
                    "status_url": status_urls[first.pk],
                    "comments": [
                        {
                            "tracking_number": comment.tracking_number,
                            "status_url": status_urls[comment.pk],
                        }
                        for comment in theirs
                    ],
                },
            )
        )
    return notifications_write_once(notifications)


@transaction.atomic
def revision_publish(revision: Revision, *, now=None) -> int:
    """Publish the revision (consultations.revisions.revision_mark_published: refused while a
    link is unconfirmed) and tell the citizens who asked; returns how many will be emailed.
    Publishing again does nothing and mails no one."""
    if not revision_mark_published(revision, now=now):
        return 0
    revision.refresh_from_db()
    return revision_published_notifications_write(revision)
