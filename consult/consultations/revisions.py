"""Revisions of a consultation's draft and the links between their clauses.

A consultation starts with revision 1 (its first draft). A later draft or the final text is
imported as the next revision with its own clause tree (notices.importer), each clause linked
to what it was in the revision before (ClauseLink). A coordinator confirms or corrects every
link; only then may the revision be published, and it becomes the consultation's current text.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from .directory import directory_changed
from .models import Clause, ClauseLink, Consultation, Revision, period_over_at


def revision_first(consultation: Consultation) -> Revision:
    """The consultation's first draft, made (and made current) if it has none yet.

    The first draft is public as soon as the consultation is: it needs no publishing.
    """
    revision, _created = Revision.objects.get_or_create(
        consultation=consultation,
        number=1,
        defaults={
            "draft_title": consultation.draft_title,
            "preamble": consultation.preamble,
            "source_text": consultation.source_text,
            "opens_at": consultation.opens_at,
            "closes_at": consultation.closes_at,
            "published_at": consultation.created_at or timezone.now(),
        },
    )
    if consultation.current_revision_id is None:
        Consultation.objects.filter(pk=consultation.pk, current_revision__isnull=True).update(
            current_revision=revision
        )
        consultation.current_revision = revision
    return revision


def revision_latest(consultation: Consultation) -> Revision | None:
    return consultation.revisions.order_by("-number").first()


def revision_before(revision: Revision) -> Revision | None:
    return (
        Revision.objects.filter(
            consultation_id=revision.consultation_id, number__lt=revision.number
        )
        .order_by("-number")
        .first()
    )


def revision_with_period(revision: Revision, revisions) -> Revision:
    """The draft whose comment period — and so answer deadline — `revision` goes by, of the
    consultation's `revisions`: itself when it has a period; for one without (a final text, a
    draft published without consulting on it), the latest published one before it that has."""
    if revision.has_period:
        return revision
    earlier = [
        r
        for r in revisions
        if r.number < revision.number and r.has_period and r.published_at is not None
    ]
    return max(earlier, key=lambda r: r.number, default=revision)


def revision_check_can_follow(consultation: Consultation) -> Revision:
    """The revision a new one would follow; refused while that one is unpublished or final.

    Locks the consultation's row until the caller's transaction ends: two imports at once take
    turns, and the second is told the first one's revision is unpublished (rather than both
    taking the same next number).
    """
    with transaction.atomic():
        Consultation.objects.select_for_update().filter(pk=consultation.pk).values_list(
            "pk", flat=True
        ).first()
    latest = revision_latest(consultation) or revision_first(consultation)
    if latest.published_at is None:
        raise ValidationError(
            _("%(label)s尚未发布：请先确认对应关系并发布，或删除它，再导入下一稿。")
            % {"label": latest.label},
            code="unpublished_revision",
        )
    if latest.is_final:
        raise ValidationError(_("已发布正式文本，不能再导入修改稿。"), code="final_published")
    return latest


@transaction.atomic
def revision_create(
    consultation: Consultation,
    *,
    draft_title: str = "",
    preamble: str = "",
    source_text: str = "",
    opens_at: datetime.datetime | None = None,
    closes_at: datetime.datetime | None = None,
    is_final: bool = False,
) -> Revision:
    """The next revision, unpublished and without clauses (the importer adds them)."""
    revision_check_can_follow(consultation)
    if is_final:
        opens_at = closes_at = None
    _period_check(opens_at, closes_at)
    number = (consultation.revisions.aggregate(last=Max("number"))["last"] or 0) + 1
    return Revision.objects.create(
        consultation=consultation,
        number=number,
        draft_title=draft_title,
        preamble=preamble,
        source_text=source_text,
        opens_at=opens_at,
        closes_at=closes_at,
        is_final=is_final,
    )


def _period_check(opens_at, closes_at) -> None:
    if (opens_at is None) != (closes_at is None):
        raise ValidationError(_("征求意见期须同时有开始和截止时间。"), code="period_incomplete")
    if opens_at is not None and closes_at <= opens_at:
        raise ValidationError(_("截止时间须晚于开始时间。"), code="period_reversed")


def _unpublished_locked(revision: Revision) -> Revision:
    revision = Revision.objects.select_for_update().get(pk=revision.pk)
    if revision.published_at is not None:
        raise ValidationError(_("这一稿已经发布，不能再修改或删除。"), code="published")
    return revision


@transaction.atomic
def revision_period_set(revision: Revision, *, opens_at, closes_at) -> Revision:
    """Before it is published, the comment period the notice gave (or none) corrected: a date
    misread or already past is seen on the links page and put right there."""
    revision = _unpublished_locked(revision)
    if revision.is_final and opens_at is not None:
        raise ValidationError(_("正式文本不征求意见。"), code="final_without_period")
    _period_check(opens_at, closes_at)
    revision.opens_at, revision.closes_at = opens_at, closes_at
    revision.save(update_fields=["opens_at", "closes_at"])
    return revision


@transaction.atomic
def revision_delete(revision: Revision) -> None:
    """An imported revision not yet published (the wrong text, say, or a final text imported as
    a draft): gone with its clauses and links, so that the right one can be imported."""
    revision = _unpublished_locked(revision)
    consultation_id = revision.consultation_id
    revision.delete()
    directory_changed([consultation_id])


def links_store(revision: Revision, proposed) -> list[ClauseLink]:
    """Store proposed links, each (old clause id or None, new clause id or None, kind, score),
    unconfirmed; any links the revision had are replaced."""
    revision.links.all().delete()
    return ClauseLink.objects.bulk_create(
        ClauseLink(revision=revision, old_id=old, new_id=new, kind=kind, score=score)
        for old, new, kind, score in proposed
    )


def _editable(revision: Revision) -> None:
    """Refuses a published revision; locks its row until the caller's transaction ends, so a
    publication (which locks it too) cannot slip in between this check and the change."""
    published_at = (
        Revision.objects.select_for_update()
        .filter(pk=revision.pk)
        .values_list("published_at", flat=True)
        .get()
    )
    if published_at is not None:
        raise ValidationError(_("修改稿已发布，对应关系不能再改。"), code="published")


def links_confirm(links, *, by, now=None) -> int:
    """The coordinator agrees with these links as proposed. Returns how many were confirmed."""
    now = now or timezone.now()
    links = ClauseLink.objects.filter(
        pk__in=[link.pk for link in links], confirmed_at__isnull=True
    ).exclude(revision__published_at__isnull=False)
    return links.update(confirmed_by=by, confirmed_at=now)


@transaction.atomic
def link_correct(
    revision: Revision, *, new: Clause, olds: list[Clause], kind: str, by, now=None
) -> None:
    """What the new clause came from, as the coordinator says: no old clause (new), one (kept,
    reworded, renumbered or split) or several (merged). Confirmed at once.

    Old clauses left with no successor are marked dropped (unconfirmed, for a look); an old
    clause now given a successor loses its "dropped" link.
    """
    _editable(revision)
    now = now or timezone.now()
    previous = revision_before(revision)
    if new.revision_id != revision.pk or any(o.revision_id != previous.pk for o in olds):
        raise ValidationError(_("所选条款不属于这两稿。"), code="wrong_revision")
    if not olds:
        kind = ClauseLink.Kind.NEW
    elif kind in (ClauseLink.Kind.NEW, ClauseLink.Kind.DROPPED):
        raise ValidationError(_("选择了原条款，就不能标为新增或删除。"), code="kind_mismatch")
    elif len(olds) > 1:
        kind = ClauseLink.Kind.MERGED
    touched = {link.old_id for link in revision.links.filter(new=new) if link.old_id}
    revision.links.filter(new=new).delete()
    revision.links.filter(old__in=olds, new__isnull=True).delete()
    for old in olds or [None]:
        ClauseLink.objects.create(
            revision=revision,
            old=old,
            new=new,
            kind=kind,
            score=1.0,
            confirmed_by=by,
            confirmed_at=now,
        )
    _orphans_link(revision, old_ids=touched)


@transaction.atomic
def link_drop(revision: Revision, *, old: Clause, by, now=None) -> None:
    """The old clause has no successor in this revision (删除). Confirmed at once; new clauses
    left with no predecessor are marked new (unconfirmed, for a look)."""
    _editable(revision)
    now = now or timezone.now()
    touched = {link.new_id for link in revision.links.filter(old=old) if link.new_id}
    revision.links.filter(old=old).delete()
    ClauseLink.objects.create(
        revision=revision,
        old=old,
        kind=ClauseLink.Kind.DROPPED,
        score=1.0,
        confirmed_by=by,
        confirmed_at=now,
    )
    _orphans_link(revision, new_ids=touched)


def _orphans_link(revision, *, old_ids=(), new_ids=()) -> None:
    """Every clause of both revisions stays in at least one link."""
    for old_id in old_ids:
        if not revision.links.filter(old_id=old_id).exists():
            ClauseLink.objects.create(
                revision=revision, old_id=old_id, kind=ClauseLink.Kind.DROPPED, score=0.0
            )
    for new_id in new_ids:
        if not revision.links.filter(new_id=new_id).exists():
            ClauseLink.objects.create(
                revision=revision, new_id=new_id, kind=ClauseLink.Kind.NEW, score=0.0
            )


@transaction.atomic
def revision_mark_published(revision: Revision, *, now=None) -> bool:
    """Make the revision the consultation's current text. Returns False if it already was.

    Refused while a link is unconfirmed or an earlier revision is unpublished. A revision with
    a comment period gives the consultation that period, so the deadline, reminders and the
    close follow it; the earlier revision keeps its own period on its row.
    """
    now = now or timezone.now()
    revision = Revision.objects.select_for_update().get(pk=revision.pk)
    if revision.published_at is not None:
        return False
    if revision.consultation.revisions.filter(
        number__lt=revision.number, published_at__isnull=True
    ).exists():
        raise ValidationError(_("请先发布之前的修改稿。"), code="earlier_unpublished")
    consultation = revision.consultation
    if not revision.has_period and not period_over_at(consultation.closes_at, now):
        # It would become the text commented on with the draft's period still running: comments
        # on its clauses that no report counts (a final text's report is refused).
        raise ValidationError(
            _(
                "征求意见尚未截止（%(closes)s）：不征求意见的文本（如正式文本）请在截止后发布，"
                "或为这一稿设定征求意见时间。"
            )
            % {"closes": timezone.localtime(consultation.closes_at).strftime("%Y-%m-%d %H:%M:%S")},
            code="period_running",
        )
    unconfirmed = revision.links.filter(confirmed_at__isnull=True).count()
    if unconfirmed:
        raise ValidationError(
            _("还有 %(count)d 条条款对应关系未确认：请逐条确认或更正后再发布。")
            % {"count": unconfirmed},
            code="unconfirmed",
            params={"count": unconfirmed},
        )
    revision.published_at = now
    revision.save(update_fields=["published_at"])
    consultation.current_revision = revision
    consultation.draft_title = revision.draft_title or consultation.draft_title
    consultation.preamble = revision.preamble
    consultation.source_text = revision.source_text
    fields = ["current_revision", "draft_title", "preamble", "source_text", "updated_at"]
    if revision.has_period:
        consultation.opens_at, consultation.closes_at = revision.opens_at, revision.closes_at
        # The consultation's report is the one on the draft now consulted on: none yet. The
        # earlier draft's report stays published on its own (reports.AdoptionReport).
        consultation.report_published_at = None
        fields += ["opens_at", "closes_at", "report_published_at"]
    consultation.save(update_fields=fields)
    directory_changed([consultation.pk])
    return True


def revisions_published(consultation: Consultation):
    return consultation.revisions.published().order_by("number")
