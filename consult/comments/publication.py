"""Publishing comments whose submitters agreed to it: the bureau's review and what goes public.

A citizen may agree, apart from the required consent to processing, that their comment be
published (`Comment.publish_consent`); such a comment waits for review (待审核). The issuing
bureau's staff (coordinators) and superusers publish it or withhold it with a reason, which
only staff see. A comment without that consent can never be published (a database
constraint), nor can an invalid one; a published comment marked invalid later leaves the
public lists until it counts again.

What is published never carries personal data: the submitter's name, organisation, phone and
email are never shown, and phone numbers, email addresses, ID numbers and the submitter's own
name inside the text are masked (`privacy.comment_text_masked`); the text as masked when
published, and the answer as masked just before the retention job deletes the name, are kept
for good. The department's answer is shown with it once the comment is answered and the
adoption report on the revision it was written on is published: the moment the bureau makes
every answer on that draft public, so that no answer goes out before the bureau has checked
the whole set. A comment whose personal data is deleted can no longer be published.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consult.consultations.models import Revision

from .access import consultations_coordinated_by_user
from .models import Comment, CommentEvent
from .privacy import comment_text_masked
from .revision_outcomes import comment_revision
from .tallies import counts_publicly, tally_add
from .validation import clean_text

Publication = Comment.Publication

# How the submitter is described in public: their kind, never who they are.
PUBLIC_KINDS = {
    Comment.Kind.INDIVIDUAL: gettext_lazy("公众"),
    Comment.Kind.COMPANY: gettext_lazy("企业"),
    Comment.Kind.ORGANISATION: gettext_lazy("社会组织"),
    Comment.Kind.OTHER: gettext_lazy("其他"),
}


def publication_for_new_comment(*, publish_consent: bool, now) -> dict:
    """The publication fields of a comment being stored: awaiting review when the submitter
    agreed to publication, private otherwise."""
    if not publish_consent:
        return {"publish_consent": False, "publish_consent_at": None}
    return {
        "publish_consent": True,
        "publish_consent_at": now,
        "publication": Publication.AWAITING,
    }


def may_moderate(user, consultation) -> bool:
    """Staff of the bureau that issued the consultation, and superusers, decide publication."""
    return consultations_coordinated_by_user(user).filter(pk=consultation.pk).exists()


def comments_moderated_by(user, comments=None):
    """Of the comments given (every one by default), those whose publication `user` decides."""
    comments = Comment.objects.all() if comments is None else comments
    return comments.filter(consultation__in=consultations_coordinated_by_user(user))


def comments_published(consultation, clause=None, *, whole_consultation=False):
    """The comments shown in public, newest first: of one clause (None: the whole draft), or
    every one of the consultation with `whole_consultation`."""
    comments = Comment.objects.filter(
        consultation=consultation,
        publication=Publication.PUBLISHED,
        publish_consent=True,
    ).exclude(status=Comment.Status.INVALID)
    if not whole_consultation:
        comments = comments.filter(clause=clause)
    return with_published_revisions(comments).order_by("-submitted_at", "-pk")


def with_published_revisions(comments):
    """The comments with what `comment_as_published` reads for them: their clause and
    consultation, and the consultation's published revisions (whose report dates make the
    answers public) in one query for them all."""
    return comments.select_related("clause", "consultation").prefetch_related(
        Prefetch(
            "consultation__revisions",
            queryset=Revision.objects.published(),
            to_attr="published_revisions",
        )
    )


def answer_published(comment: Comment) -> bool:
    """The answer goes public with the adoption report on the revision the comment was written
    on (a later draft's report is about other comments); one given after that report, as it is
    given: the report holds counts and gists, never answers, so a later one waits for nothing.

    Reads the consultation's published revisions from `comments_published` (one query for a
    page) or, for a comment fetched alone, with one query."""
    return _answer_public(comment, _reported_draft(comment))


def _answer_public(comment: Comment, reported_draft: Revision | None) -> bool:
    return comment.is_answered and reported_draft is not None


def report_publication_lock(consultation_id: int, revision_id: int | None = None) -> None:
    """Until the transaction ends, no report on the consultation's published drafts (or on
    `revision_id` alone) goes out: publishing one takes the same lock on its draft first
    (reports.services.report_publish). Changing a finished comment takes it before asking
    `report_published_on_its_draft`, so that an answer the report counts is not reopened while
    the report is being published, counted as it was. FOR NO KEY UPDATE: new clauses' foreign
    key checks on the drafts do not wait for it."""
    drafts = Revision.objects.select_for_update(no_key=True).filter(
        consultation_id=consultation_id, published_at__isnull=False
    )
    if revision_id is not None:
        drafts = drafts.filter(pk=revision_id)
    # In one order: two changes taking the same drafts do not deadlock.
    list(drafts.order_by("pk").values_list("pk", flat=True))


def report_published_on_its_draft(comment: Comment) -> bool:
    """Whether the adoption report on the revision the comment was written on is out: from
    then on its answer is public, and there is no report left to tell its submitter of (the
    consultation's own report date is the current draft's, which a later draft clears).

    Reads the published revisions as `answer_published` does."""
    return _reported_draft(comment) is not None


def _reported_draft(comment: Comment) -> Revision | None:
    """The revision the comment was written on, if its adoption report is out."""
    revisions = getattr(comment.consultation, "published_revisions", None)
    if revisions is None:
        revisions = list(
            Revision.objects.published().filter(consultation_id=comment.consultation_id)
        )
    revision = comment_revision(comment, revisions)
    return revision if revision is not None and revision.report_published_at else None


@dataclass(frozen=True)
class PublishedAnswer:
    decision_value: str
    decision: str
    reason: str
    reply: str
    replied_at: object


@dataclass(frozen=True)
class PublishedComment:
    """A comment as the public sees it: no tracking number, no personal data."""

    number: int
    anchor: str
    clause_id: int | None
    clause_label: str
    submitted_at: object
    kind_value: str  # Comment.Kind, `other` for any kind the public lists do not name
    kind: str  # as the public lists show it
    body: str
    answer: PublishedAnswer | None
    # The number of the draft whose published report the comment is in, unanswered: the report
    # says why (its "未答复的原因"), and no answer is coming with it.
    unanswered_in_report: int | None = None


def comment_as_published(comment: Comment) -> PublishedComment:
    """What the public lists show of a comment (and what the bureau reviews before that)."""
    answer = None
    reported = _reported_draft(comment)
    if _answer_public(comment, reported):
        answer = PublishedAnswer(
            decision_value=comment.decision,
            decision=comment.get_decision_display(),
            # Masked in place when the personal data goes (`retention`): an answer given or
            # corrected after that is published as it stands, masked by what is left to mask
            # (the copy frozen then published a later answer empty, found by a review).
            reason=comment_text_masked(comment, comment.decision_reason),
            reply=comment_text_masked(comment, comment.reply),
            replied_at=comment.replied_at,
        )
    kind = (
        comment.submitter_kind
        if comment.submitter_kind in PUBLIC_KINDS
        else Comment.Kind.OTHER.value
    )
    return PublishedComment(
        number=comment.pk,
        anchor=f"comment-{comment.pk}",
        clause_id=comment.clause_id,
        clause_label=str(comment.clause_label),
        submitted_at=comment.submitted_at,
        kind_value=kind,
        kind=str(PUBLIC_KINDS[kind]),
        body=comment.published_body or comment_text_masked(comment, comment.body),
        answer=answer,
        unanswered_in_report=reported.number if reported and answer is None else None,
    )


def publication_problems(comment: Comment, user, *, publish: bool, reason: str = "") -> dict:
    """Everything wrong with publishing (or withholding) this comment, by field."""
    if not may_moderate(user, comment.consultation):
        raise PermissionDenied
    problems: dict[str, list[str]] = {}
    if not comment.publish_consent:
        problems["publication"] = [_("提交人未同意公开，这条意见不能公开。")]
    elif publish and comment.personal_data_removed_at is not None:
        # Its masking needs the submitter's name, which is gone.
        problems["publication"] = [_("这条意见的个人信息已按保存期限删除，不能再公开。")]
    elif publish and not counts_publicly(comment.status):
        problems["publication"] = [_("无效意见不能公开。")]
    if not publish:
        try:
            withhold_reason_clean(reason)
        except ValidationError as error:
            problems["publication_reason"] = error.messages
    return problems


WITHHOLD_REASON_MAX_LENGTH = 500


def withhold_reason_clean(reason: str) -> str:
    """The reason for withholding, as staff's other texts: required, no control characters, at
    most WITHHOLD_REASON_MAX_LENGTH characters. Raises ValidationError."""
    try:
        return clean_text(
            reason, field="publication_reason", required=True, max_length=WITHHOLD_REASON_MAX_LENGTH
        )
    except ValidationError as error:
        if error.code == "required":
            raise ValidationError(_("请填写不予公开的理由。"), code="required") from None
        raise


def _publication_set(comment, user, *, publish: bool, reason: str, now) -> Comment:
    now = now or timezone.now()
    with transaction.atomic():
        comment = (
            Comment.objects.select_for_update(of=("self",))
            .select_related("consultation")
            .get(pk=comment.pk)
        )
        if problems := publication_problems(comment, user, publish=publish, reason=reason):
            raise ValidationError(problems)
        after = Publication.PUBLISHED if publish else Publication.WITHHELD
        was_shown = comment.is_published and counts_publicly(comment.status)
        shown = publish and counts_publicly(comment.status)
        if shown != was_shown:
            tally_add(
                consultation_id=comment.consultation_id,
                clause_id=comment.clause_id,
                published=1 if shown else -1,
            )
        before = comment.publication
        comment.publication = after
        # Kept as reviewed: the name it masks is deleted with the personal data later on.
        comment.published_body = comment_text_masked(comment, comment.body) if publish else ""
        comment.publication_reason = "" if publish else withhold_reason_clean(reason)
        comment.publication_decided_by = user
        comment.publication_decided_at = now
        comment.save(
            update_fields=[
                "publication",
                "publication_reason",
                "publication_decided_by",
                "publication_decided_at",
                "published_body",
            ]
        )
        CommentEvent.objects.create(
            comment=comment,
            kind=CommentEvent.Kind.PUBLICATION,
            actor=user,
            before=before,
            after=after,
            text=comment.publication_reason,
            at=now,
        )
    return comment


def comment_publish(*, comment: Comment, user, now=None) -> Comment:
    """Publish a comment whose submitter agreed to it, with its published count, in one
    transaction; raises PermissionDenied or ValidationError. Publishing twice is harmless."""
    return _publication_set(comment, user, publish=True, reason="", now=now)


def comment_withhold(*, comment: Comment, user, reason: str, now=None) -> Comment:
    """Keep a comment out of the public lists (taking back one published), with the reason
    staff see, in one transaction; raises PermissionDenied or ValidationError."""
    return _publication_set(comment, user, publish=False, reason=reason, now=now)


def publication_for_submitter(comment: Comment) -> tuple[str, str]:
    """(state, words): what the citizen's status page and the API say of publication —
    "private", "awaiting", "published" or "withheld". The reason for withholding is for staff
    only; a comment marked invalid, published or not yet reviewed, is withheld as far as the
    public goes."""
    if not comment.publish_consent:
        return Publication.PRIVATE.value, _("未同意公开：本条意见不会公开。")
    if comment.publication == Publication.PUBLISHED and counts_publicly(comment.status):
        return Publication.PUBLISHED.value, _("已公开（不显示姓名、联系方式等个人信息）。")
    if comment.publication in (
        Publication.PUBLISHED,
        Publication.WITHHELD,
    ) or not counts_publicly(comment.status):
        # An invalid comment cannot be published (comment_publish refuses it): not awaiting.
        return Publication.WITHHELD.value, _("发布单位审核后决定不予公开。")
    return Publication.AWAITING.value, _("待审核：发布单位审核后公开。")
