"""Building the adoption report from the comments; the coordinator edits it, then publishes.

The report is counts and the coordinator's own words: generating it never copies a reply (a
reply is written to one citizen, often by name), publishing needs a coordinator's review, and
text with personal data in it is refused (`redaction.personal_data_in`).

A report is on one revision of the draft and counts the comments that revision received
(`comments_of_revision`); unless told otherwise, on the draft now consulted on
(`revision_consulted`). A consultation never revised has one report, on its first draft.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from consult.comments.models import Comment
from consult.comments.privacy import name_key
from consult.comments.publication import report_publication_lock
from consult.comments.revision_outcomes import (
    comments_of_revision,
    revision_report_notifications_write,
)
from consult.consultations.models import (
    Consultation,
    Revision,
    consultation_texts,
    period_over_at,
)
from consult.consultations.revisions import revision_first

from . import redaction
from .models import AdoptionReport, ReportClause

DECISIONS = {
    "adopted": Comment.Decision.ADOPTED,
    "partly_adopted": Comment.Decision.PARTLY_ADOPTED,
    "not_adopted": Comment.Decision.NOT_ADOPTED,
    "explained": Comment.Decision.EXPLAINED,
}
PERSONAL_DATA = {
    redaction.PHONE: gettext_lazy("电话号码"),
    redaction.EMAIL: gettext_lazy("电子邮箱"),
    redaction.ID_NUMBER: gettext_lazy("身份证号码"),
    redaction.IM_ACCOUNT: gettext_lazy("QQ 号或微信号"),
    redaction.NAME: gettext_lazy("姓名"),
}


def revision_consulted(consultation: Consultation) -> Revision:
    """The draft whose comment period the consultation now has: its latest published revision
    with one (a final text has none), or its first draft."""
    latest = next(iter(consultation.revisions.consulted()), None)
    return latest or revision_first(consultation)


def report_revision(consultation: Consultation, revision: Revision | None) -> Revision:
    """The revision a report is on: the one given, checked, or the draft now consulted on."""
    if revision is None:
        return revision_consulted(consultation)
    if revision.consultation_id != consultation.pk:
        raise ValidationError(_("所选文本不属于这一征求意见。"), code="wrong_revision")
    if revision.published_at is None:
        raise ValidationError(_("这一稿尚未发布，还没有意见可统计。"), code="unpublished_revision")
    if not revision.has_period:
        raise ValidationError(
            _("这一稿没有征求意见（如正式文本），没有采纳情况可统计。"), code="no_period"
        )
    return revision


def report_comments(revision: Revision):
    """The comments a report on this revision counts."""
    return comments_of_revision(
        Comment.objects.filter(consultation_id=revision.consultation_id), revision
    )


def report_path(report: AdoptionReport) -> str:
    """Where the public reads the report, for good: the page of the report on its revision.
    Emails and feeds link to it, so it never moves (the consultation's report page shows the
    latest report, which changes once a later draft's is published)."""
    return reverse(
        "intake:revision_report",
        kwargs={"slug": report.consultation.slug, "number": report.revision.number},
    )


def report_guid(report: AdoptionReport, *, later_draft_when_published: bool | None = None) -> str:
    """The feed entry's id: the link the report was first listed under, which readers that have
    seen it know it by (an id changed is an entry shown again). A first draft's report published
    while that draft was the only one was listed under the consultation's report page; every
    other under its own (`report_path`). `later_draft_when_published`, when the caller knows it
    (`reports_published` annotates it), says whether a later draft was out by then."""
    if report.revision.number != 1:
        return report_path(report)
    if later_draft_when_published is None:
        later_draft_when_published = (
            report.consultation.revisions.published()
            .filter(number__gt=1, published_at__lte=report.published_at or timezone.now())
            .exists()
        )
    if later_draft_when_published:
        return report_path(report)
    return reverse("intake:report", kwargs={"slug": report.consultation.slug})


def reports_published():
    """The published adoption reports, one per draft, the most recently published first, with
    their consultation, issuer and revision, and `later_draft_when_published` for `report_guid`
    (no query per report in a feed or the sitemap)."""
    later = Revision.objects.published().filter(consultation=OuterRef("consultation"), number__gt=1)
    return (
        AdoptionReport.objects.filter(published_at__isnull=False)
        .select_related("consultation__issuer", "revision")
        # The notice's own text (kilobytes) is on no report's link or summary.
        .defer(*consultation_texts("consultation"))
        .annotate(
            later_draft_when_published=Exists(
                later.filter(published_at__lte=OuterRef("published_at"))
            ),
        )
        .order_by("-published_at", "-pk")
    )


def _count_expressions(comments) -> dict:
    answered = Q(status=Comment.Status.ANSWERED)
    counted = ~Q(status=Comment.Status.INVALID)
    # A campaign groups letters over the whole consultation; a report counts as form letters
    # only a campaign's letters to its own draft, and only where that draft received two or
    # more of them (one letter is no campaign of this draft, and a later draft's letters do
    # not change an earlier draft's count). Like the lines, it leaves out letters marked invalid.
    campaigns_of_draft = (
        comments.filter(counted, campaign__isnull=False)
        .order_by()
        .values("campaign")
        .annotate(letters=Count("pk"))
        .filter(letters__gte=2)
        .values("campaign")
    )
    letter = counted & Q(campaign__in=campaigns_of_draft)
    return {
        "total": Count("pk"),
        "invalid": Count("pk", filter=Q(status=Comment.Status.INVALID)),
        "unanswered": Count("pk", filter=Q(status__in=Comment.OPEN_STATUSES)),
        "campaigns": Count("campaign", filter=letter, distinct=True),
        "campaign_letters": Count("pk", filter=letter),
        **{
            name: Count("pk", filter=answered & Q(decision=value))
            for name, value in DECISIONS.items()
        },
    }


def _counts(comments):
    return comments.aggregate(**_count_expressions(comments))


LINE_COUNTS = ("comments", *DECISIONS, "campaigns", "campaign_letters")


def _line_counts(comments) -> dict[int | None, dict]:
    """Each line's counts, by clause (None: the whole draft), of the comments that count (not
    invalid), in one query."""
    lines = {}
    for row in (
        comments.exclude(status=Comment.Status.INVALID)
        .order_by()
        .values("clause_id")
        .annotate(**_count_expressions(comments))
    ):
        row["comments"] = row["total"]
        lines[row["clause_id"]] = {name: row[name] for name in LINE_COUNTS}
    return lines


def personal_data_errors(text: str, where: str, names=()) -> list[str]:
    """What personal data ``text`` holds, one message per finding, naming where it is; with
    `names` (`commenters_named_in`), those of them the text writes of a person."""
    return [
        _("%(where)s含有%(kind)s“%(found)s”，请改写后再保存或公布。")
        % {"where": where, "kind": PERSONAL_DATA[finding.kind], "found": finding.text}
        for finding in redaction.personal_data_in(text, names=names)
    ]


def commenters_named_in(texts, consultation) -> list[str]:
    """The names the consultation's commenters gave that these texts may write of a person:
    one query for them all, by the texts' candidate names (`redaction.name_candidates`)."""
    candidates = set().union(*(redaction.name_candidates(text) for text in texts))
    if not candidates:
        return []
    # Compared as `name_key` reads them: a name written "王 五", "JOHN SMITH", "Jose Garcia" or
    # "O’Brien" in the report is the one given as "王五", "John Smith", "José García" or
    # "O'Brien", which the public list masks too (a review). In Python, over the distinct names
    # given: SQL's lower() and replace() know no accents or full width, and translate() over
    # every character `name_key` folds was 250 times slower (1,000,000 comments: about 1 s).
    keys = {name_key(candidate) for candidate in candidates}
    names = (
        Comment.objects.filter(consultation=consultation)
        .exclude(submitter_name="")
        .order_by()
        .values_list("submitter_name", flat=True)
        .distinct()
    )
    return [name for name in names.iterator(chunk_size=2000) if name_key(name) in keys]


def introduction_where() -> str:
    return _("报告说明")


def line_where(line: ReportClause) -> str:
    place = line.clause.label if line.clause_id else _("全文")
    return _("%(place)s 的答复要点") % {"place": place}


def unanswered_reason_where() -> str:
    return _("未答复的原因")


def report_personal_data_errors(report: AdoptionReport) -> list[str]:
    """Every piece of personal data in the text the report makes public, a commenter's name
    written of them included (the admin's forms check each text without it, which would cost
    a read of the consultation's comments per line)."""
    lines = list(report.lines.select_related("clause").order_by("position", "pk"))
    texts = [
        (report.introduction, introduction_where()),
        (report.unanswered_reason, unanswered_reason_where()),
        *((line.gist, line_where(line)) for line in lines),
    ]
    names = commenters_named_in([text for text, _where in texts], report.consultation)
    return [error for text, where in texts for error in personal_data_errors(text, where, names)]


def _report_locked_unpublished(**lookup) -> AdoptionReport | None:
    """The report (if there is one) locked for the caller's transaction, refusing a published
    one: whatever changes or publishes a report takes this lock first, so a change waits for a
    publication under way and a publication for a change."""
    locked = AdoptionReport.objects.select_for_update(of=("self",)).filter(**lookup).first()
    if locked is not None and locked.published_at is not None:
        raise ValidationError(published_refusal(locked), code="published")
    return locked


def report_lock_for_review(report: AdoptionReport, *, counted_at) -> AdoptionReport:
    """Lock the report's row for the caller's transaction, refusing a published one and one
    counted again since the count of `counted_at` the coordinator read
    (`report_recount_check`); returns the row as stored."""
    locked = _report_locked_unpublished(pk=report.pk)
    report_recount_check(locked, counted_at=counted_at)
    return locked


@transaction.atomic
def report_review(report: AdoptionReport, *, by, counted_at, now=None) -> None:
    """A coordinator has read the report as counted at `counted_at` (its `generated_at` then)
    and stands behind it: it may now be published. Refused, code "recounted", once it has been
    counted again since; code "introduction_total" while its introduction, as stored, states
    another total than its count (`introduction_total_errors`)."""
    stored = report_lock_for_review(report, counted_at=counted_at)
    if errors := introduction_total_errors(stored.introduction, stored):
        raise ValidationError(errors[0], code="introduction_total")
    report.reviewed_at = now or timezone.now()
    report.reviewed_by = by
    report.save(update_fields=["reviewed_at", "reviewed_by"])


def _introduction(consultation, revision, total) -> str:
    # Stored and published as the site's text, whatever language the coordinator's admin is in.
    with translation.override(settings.LANGUAGE_CODE):
        return _introduction_text(consultation, revision, total)


def _introduction_text(consultation, revision, total) -> str:
    if revision.number == 1:
        return _(
            "%(title)s公开征求意见期间，共收到意见 %(total)s 条。现将意见采纳情况公布如下。"
        ) % {"title": consultation.title, "total": total}
    return _(
        "%(title)s（%(label)s）公开征求意见期间，共收到意见 %(total)s 条。"
        "现将意见采纳情况公布如下。"
    ) % {"title": consultation.title, "label": revision.label, "total": total}


# Stands for the total in the generated introduction, to find the words around it.
_TOTAL_MARK = "\x00"
_CLAUSE_END = re.compile(r"[，。；：、！？,.;:!?\n]")


def _stated_total_pattern(consultation, revision) -> re.Pattern | None:
    """The words the generated introduction states the total in ("共收到意见 N 条"), with the
    number as group 1; None if the sentence has no words beside it."""
    before, _mark, after = _introduction(consultation, revision, _TOTAL_MARK).partition(_TOTAL_MARK)
    head = _CLAUSE_END.split(before)[-1].strip()
    tail = _CLAUSE_END.split(after)[0].strip()
    if not (head or tail):
        return None
    return re.compile(rf"{re.escape(head)}\s*(\d+)\s*{re.escape(tail)}")


def introduction_total_errors(introduction: str, report: AdoptionReport) -> list[str]:
    """Where `introduction` states a total in the generated sentence's words that is not the
    report's, one message each, with what it should say. A recount rewrites the sentence only
    while the coordinator has not edited the introduction (`report_generate`): an edited one
    keeps the total it was written for, and would go out contradicting the table."""
    pattern = _stated_total_pattern(report.consultation, report.revision)
    if pattern is None:
        return []
    errors = []
    for match in pattern.finditer(introduction):
        if int(match.group(1)) == report.total:
            continue
        stated = match.group(0)
        number_at = match.start(1) - match.start(0), match.end(1) - match.start(0)
        expected = f"{stated[: number_at[0]]}{report.total}{stated[number_at[1] :]}"
        errors.append(
            _(
                "%(where)s中写的是“%(stated)s”，与统计的 %(total)s 条不符："
                "请改为“%(expected)s”后再保存或公布。"
            )
            % {
                "where": introduction_where(),
                "stated": stated,
                "total": report.total,
                "expected": expected,
            }
        )
    return errors


@transaction.atomic
def report_generate(consultation, *, revision=None, now=None) -> AdoptionReport:
    """Count everything again, for the report on `revision` (by default the draft now consulted
    on); gists the coordinator has written are kept.

    No reply is copied into the report: new lines start with an empty gist for the coordinator
    to write. The counts changed, so the report needs a review again before it is published.
    """
    now = now or timezone.now()
    revision = report_revision(consultation, revision)
    earlier = _report_locked_unpublished(revision=revision)
    earlier_introduction = (
        _introduction(consultation, revision, earlier.total) if earlier is not None else None
    )
    comments = report_comments(revision)
    totals = _counts(comments)
    report, created = AdoptionReport.objects.update_or_create(
        revision=revision,
        defaults={
            **totals,
            "consultation": consultation,
            "generated_at": now,
            "reviewed_at": None,
            "reviewed_by": None,
        },
    )
    if created or not report.introduction or report.introduction == earlier_introduction:
        # The sentence written for the earlier count, untouched, states the earlier total.
        report.introduction = _introduction(consultation, revision, totals["total"])
        report.save(update_fields=["introduction"])

    existing = {line.clause_id: line for line in report.lines.all()}
    clause_order = {
        pk: position
        for position, pk in enumerate(
            revision.clauses.order_by("path").values_list("pk", flat=True), start=1
        )
    }
    keep = []
    for clause_id, counts in _line_counts(comments).items():
        line = existing.get(clause_id) or ReportClause(report=report, clause_id=clause_id)
        line.position = clause_order.get(clause_id, 0)
        for name, value in counts.items():
            setattr(line, name, value)
        line.save()
        keep.append(line.pk)
    report.lines.exclude(pk__in=keep).delete()
    return report


def published_refusal(report: AdoptionReport) -> str:
    """Why a published report is not published again, counted again or edited: what the public
    has read stays as it was read."""
    return _("意见采纳情况已于 %(date)s 公布，不能再公布、重新统计或修改。") % {
        "date": timezone.localtime(report.published_at).strftime("%Y-%m-%d %H:%M:%S")
    }


def report_counts_check(report: AdoptionReport) -> None:
    """The report may go out as it stands: its counts are today's and account for every comment,
    and any comment still unanswered is either answered first or explained in the report.

    Raises ValidationError: code "stale" (recount first) or "unanswered", whose params carry
    the counts (`count` open, `pending` of them untouched) for the edge to link to them.
    """
    comments = report_comments(report.revision)
    today = _counts(comments)
    lines = {
        line.clause_id: {name: getattr(line, name) for name in LINE_COUNTS}
        for line in report.lines.all()
    }
    if (
        any(getattr(report, name) != value for name, value in today.items())
        or report.accounted != report.total
        # A comment moved to another clause changes two lines and no total.
        or lines != _line_counts(comments)
    ):
        raise ValidationError(
            _("意见的办理情况在统计后有变化：请先“重新统计”并审阅，再公布。"), code="stale"
        )
    if report.unanswered and not report.unanswered_reason.strip():
        pending = comments.filter(status=Comment.Status.PENDING).count()
        raise ValidationError(
            ngettext(
                "还有 %(count)d 条意见尚未答复（其中 %(pending)d 条尚未处理）：请先答复，"
                "或在报告中填写“未答复的原因”并审阅后再公布。",
                "还有 %(count)d 条意见尚未答复（其中 %(pending)d 条尚未处理）：请先答复，"
                "或在报告中填写“未答复的原因”并审阅后再公布。",
                report.unanswered,
            ),
            code="unanswered",
            params={"count": report.unanswered, "pending": pending},
        )


def report_recount_check(report: AdoptionReport | None, *, counted_at) -> None:
    """The count the coordinator read, made at `counted_at`, is still the report's: a page
    opened before a recount shows the earlier totals, lines and the introduction written for
    them, and saving it would put that text back over the recount's and pass for a review of
    counts nobody read. Call it with the report's row locked (`report_lock_for_review`).

    Raises ValidationError, code "recounted" (also for a report deleted since).
    """
    if report is None or counted_at is None or report.generated_at != counted_at:
        raise ValidationError(_("统计已更新，请重新打开后审阅。"), code="recounted")


def report_period_check(consultation: Consultation, revision: Revision, *, now) -> None:
    """The report on `revision` waits for the close of the period that revision had
    (`Consultation.period_of`: the coordinator may have moved the current draft's close).

    Raises ValidationError, code "too_early"."""
    _opens_at, closes_at = consultation.period_of(revision)
    if not period_over_at(closes_at, now):
        raise ValidationError(_("征求意见截止后才能公布采纳情况。"), code="too_early")


def report_publish_refusals(report: AdoptionReport, *, now=None) -> list[ValidationError]:
    """Everything that stops the report going out at `now`, in the order `report_publish`
    refuses (it raises the first); empty when it may go out. The one rule for publishing and
    for the admin's preview: before the close (`report_period_check`), without a coordinator's
    review, with counts that are not today's or comments unanswered without a reason
    (`report_counts_check`), with an introduction stating another total
    (`introduction_total_errors`), or while its text holds personal data (one message naming
    every place). A report not yet counted (unsaved) is refused for its period and review."""
    now = now or timezone.now()
    refusals = []
    try:
        report_period_check(report.consultation, report.revision, now=now)
    except ValidationError as error:
        refusals.append(error)
    if report.reviewed_at is None:
        refusals.append(
            ValidationError(
                _(
                    "意见采纳情况尚未经协调人员审阅：请生成报告，在“意见采纳情况”中审阅、保存后再公布。"
                ),
                code="not_reviewed",
            )
        )
    if report.pk is None:
        return refusals
    try:
        report_counts_check(report)
    except ValidationError as error:
        refusals.append(error)
    if errors := introduction_total_errors(report.introduction, report):
        refusals.append(ValidationError(errors[0], code="introduction_total"))
    if errors := report_personal_data_errors(report):
        refusals.append(ValidationError(" ".join(errors), code="personal_data"))
    return refusals


@transaction.atomic
def report_publish(consultation: Consultation, *, revision=None, now=None) -> int:
    """Publish the adoption report (意见采纳情况) on `revision` (by default the draft now
    consulted on) and tell the citizens who commented on it and asked to know.

    Returns how many citizens (addresses) will be emailed. A report is published once, with its
    emails; from then on it is neither counted again nor edited (`published_refusal`).
    Refused as `report_publish_refusals` says (the first reason).

    The consultation's `report_published_at` is the date of the report on the draft now
    consulted on (its status, `Consultation.status_at`; publishing a later draft for comment
    clears it); a report on an earlier draft leaves it. The revision's own
    `report_published_at` is the date of the report on it, for good: from then on the answers
    to its comments are public (comments.publication.answer_published).
    """
    now = now or timezone.now()
    revision = report_revision(consultation, revision)
    # A change to a finished comment under way finishes first (the recount below sees it), and
    # none starts before this publication is done.
    report_publication_lock(consultation.pk, revision.pk)
    # Locked: a recount or a save under way finishes first (and resets the review, or is
    # reviewed), and none starts before this publication is done.
    report = _report_locked_unpublished(revision=revision) or AdoptionReport(revision=revision)
    # The caller's consultation and revision: their periods as the caller has them.
    report.consultation, report.revision = consultation, revision
    if refusals := report_publish_refusals(report, now=now):
        raise refusals[0]
    if not AdoptionReport.objects.filter(
        pk=report.pk, published_at__isnull=True, reviewed_at__isnull=False
    ).update(published_at=now):
        return 0  # a coordinator published it at the same moment
    report.refresh_from_db(fields=["published_at"])
    # What the comments layer reads to make the answers to this revision's comments public.
    Revision.objects.filter(pk=revision.pk, report_published_at__isnull=True).update(
        report_published_at=report.published_at
    )
    if revision.pk == revision_consulted(consultation).pk:
        Consultation.objects.filter(pk=consultation.pk).update(
            report_published_at=report.published_at
        )
        consultation.refresh_from_db(fields=["report_published_at"])
    return revision_report_notifications_write(revision, report_path=report_path(report))
