"""What the public pages show, computed in a fixed number of queries."""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.urls import reverse
from django.utils import translation
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from consult.comments.models import Comment, CommentEvent
from consult.comments.publication import comments_published
from consult.comments.tallies import Tallies, consultation_tallies
from consult.consultations.models import (
    Clause,
    ClauseResponsibility,
    Consultation,
)

STATUS_ORDER = {
    Consultation.Status.OPEN: 0,
    Consultation.Status.UPCOMING: 1,
    Consultation.Status.CLOSED: 2,
    Consultation.Status.REPORT_PUBLISHED: 2,
}


def imported_text_language() -> str:
    """The language to mark imported text with (titles, clauses, department names are Chinese
    whatever the page's language), or "" on a Chinese page, where it needs no mark."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    return "" if language.lower().startswith("zh") else "zh-Hans"


def imported_html(value) -> str:
    """Imported text (a title, a department's name) escaped, and wrapped in a span marked as
    Chinese unless the page is Chinese: for where it sits inside the site's own words."""
    language = imported_text_language()
    if not language:
        return conditional_escape(value)
    return format_html('<span lang="{}">{}</span>', language, value)


def _sentence_around_imported(sentence: str, **names) -> str:
    """A translated sentence (the site's own words, trusted as Django's translation tags trust
    them) with imported names in it, escaped and marked (`imported_html`)."""
    return mark_safe(sentence % {key: imported_html(value) for key, value in names.items()})  # noqa: S308


def time_left(consultation, now) -> tuple[int, int] | None:
    """(days, hours) until the close, for open consultations."""
    if not consultation.accepts_comments_at(now):
        return None
    seconds = int((consultation.closes_at - now).total_seconds())
    return seconds // 86400, seconds % 86400 // 3600


def time_left_in_words(days: int, hours: int) -> str:
    """What is left of a comment period, as people say it: "还剩 3 天 4 小时", "3 days and 4
    hours left", "1 hour left"."""
    day_words = ngettext("%(n)d 天", "%(n)d 天", days) % {"n": days}
    hour_words = ngettext("%(n)d 小时", "%(n)d 小时", hours) % {"n": hours}
    if days and hours:
        return _("还剩 %(days)s %(hours)s") % {"days": day_words, "hours": hour_words}
    if days or hours:
        return _("还剩 %(time)s") % {"time": day_words if days else hour_words}
    return _("还剩不到 1 小时")


def consultations_in_order(now, consultations=None) -> list[Consultation]:
    """Open ones first (soonest close first), then upcoming, then closed (latest first)."""
    if consultations is None:
        consultations = Consultation.objects.all()
    consultations = list(consultations.select_related("issuer"))
    for consultation in consultations:
        consultation.current_status = consultation.status_at(now)
        consultation.time_left = time_left(consultation, now)
        consultation.time_left_words = (
            time_left_in_words(*consultation.time_left) if consultation.time_left else ""
        )

    def order(c):
        rank = STATUS_ORDER[c.current_status]
        moment = c.closes_at.timestamp() if rank < 2 else -c.closes_at.timestamp()
        return rank, c.opens_at.timestamp() if rank == 1 else moment

    consultations.sort(key=order)
    return consultations


# The list's status filter: "closed" takes in those whose adoption report is published.
STATUS_FILTER = {
    "open": {Consultation.Status.OPEN},
    "upcoming": {Consultation.Status.UPCOMING},
    "closed": {Consultation.Status.CLOSED, Consultation.Status.REPORT_PUBLISHED},
}


def consultations_found(
    now, *, words: str = "", status: str = "", issuer=None, year: int | None = None
) -> list[Consultation]:
    """The consultations matching every filter given, in the list's order.

    Words are looked for in the title, the draft's title, the notice and the clauses.
    """
    found = Consultation.objects.all()
    for word in words.split():
        in_clauses = Clause.objects.filter(revision=OuterRef("current_revision")).filter(
            Q(heading__icontains=word) | Q(text__icontains=word)
        )
        found = found.filter(
            Q(title__icontains=word)
            | Q(draft_title__icontains=word)
            | Q(preamble__icontains=word)
            | Exists(in_clauses)
        )
    if issuer is not None:
        found = found.filter(issuer=issuer)
    if year is not None:
        found = found.filter(opens_at__year=year)
    consultations = consultations_in_order(now, found)
    if status in STATUS_FILTER:
        consultations = [c for c in consultations if c.current_status in STATUS_FILTER[status]]
    return consultations


def clause_tree_with_counts(consultation) -> tuple[list[Clause], int]:
    """Top clauses with `.subclauses`, responsibilities and comment counts; and the total."""
    tree, tallies = clause_tree_with_tallies(consultation)
    return tree, tallies.total


def clause_tree_with_tallies(consultation, revision=None) -> tuple[list[Clause], Tallies]:
    """Top clauses with `.subclauses`, responsibilities, comment counts (`.comment_count`) and
    published comment counts (`.published_count`); and the consultation's tallies. The clauses
    are the current text's, or the given revision's.

    The counts are the maintained tallies: three queries however many comments there are.
    """
    tallies = consultation_tallies(consultation.pk)
    counts, published = tallies.by_clause, tallies.published_by_clause
    in_revision = revision.clauses.all() if revision else consultation.current_clauses()
    clauses = list(
        in_revision.prefetch_related(
            Prefetch(
                "responsibilities",
                queryset=ClauseResponsibility.objects.order_by("position"),
            )
        ).order_by("path")
    )
    by_parent = {}
    for clause in clauses:
        clause.comment_count = counts.get(clause.pk, 0)
        clause.published_count = published.get(clause.pk, 0)
        by_parent.setdefault(clause.parent_id, []).append(clause)
    for clause in clauses:
        clause.subclauses = by_parent.get(clause.pk, [])
        responsibilities = list(clause.responsibilities.all())
        clause.lead_names = [r.name for r in responsibilities if r.role == "lead"]
        clause.cooperating_names = [r.name for r in responsibilities if r.role != "lead"]
    return by_parent.get(None, []), tallies


# How the notice writes each level's number: "一、", "(一)", "1．"; chapters and articles
# ("第一章", "第一条") carry their own words.
def clause_body(clause) -> str:
    """The clause's text without its heading, which the notice also writes as its first words."""
    text = (clause.text or "").strip()
    heading = (clause.heading or "").strip()
    if not heading or not text.startswith(heading):
        return text
    rest = text[len(heading) :]
    if rest[:1] in ("。", "．", ".", "：", ":", "；"):
        return rest[1:].lstrip()
    return text if rest and not rest[:1].isspace() else rest.lstrip()


def published_page_of(comment, *, per_page: int) -> int:
    """The page on which a published comment stands in the public list its status page links
    to: its clause's, or the whole consultation's for a comment on the whole draft."""
    listed = comments_published(
        comment.consultation, comment.clause, whole_consultation=comment.clause_id is None
    )
    # The lists run newest first, as comments_published orders them (submitted_at, then pk).
    newer = listed.filter(
        Q(submitted_at__gt=comment.submitted_at)
        | Q(submitted_at=comment.submitted_at, pk__gt=comment.pk)
    ).count()
    return newer // per_page + 1


def wait_in_words(seconds: int) -> str:
    """How long to wait, rounded up, as people say it: "45 秒", "2 分钟", "3 小时"."""
    if seconds < 60:
        return ngettext("%(n)d 秒", "%(n)d 秒", seconds) % {"n": seconds}
    if seconds < 3600:
        minutes = -(-seconds // 60)
        return ngettext("%(n)d 分钟", "%(n)d 分钟", minutes) % {"n": minutes}
    hours = -(-seconds // 3600)
    return ngettext("%(n)d 小时", "%(n)d 小时", hours) % {"n": hours}


@dataclass
class Step:
    """One step of a comment's way, as its status page shows it."""

    key: str
    label: str
    done: bool
    at: object = None  # when it happened, if known
    detail: str = ""


def status_timeline(comment, routes) -> list[Step]:
    """Received → routed to … → in progress → answered (or marked invalid), with the moments
    known; the steps still ahead are shown not done."""
    Status = Comment.Status
    routes = list(routes)
    owners = [r.department.name for r in routes if r.is_owner]
    others = [r.department.name for r in routes if not r.is_owner]
    started = (
        comment.events.filter(kind=CommentEvent.Kind.STATUS, after=Status.IN_PROGRESS)
        .order_by("at", "pk")
        .values_list("at", flat=True)
        .first()
    )
    answering = (
        _sentence_around_imported(_("由%(owner)s负责答复"), owner=owners[0]) if owners else ""
    )
    cooperating = (
        _sentence_around_imported(_("；配合单位：%(others)s"), others=_("、").join(others))
        if others
        else ""
    )
    steps = [
        Step("received", _("已收到"), True, comment.submitted_at),
        Step(
            "routed",
            _("已转交") if routes else _("待转交"),
            bool(routes),
            min((r.created_at for r in routes), default=None),
            format_html("{}{}", answering, cooperating),
        ),
    ]
    if comment.status == Status.INVALID:
        steps.append(Step("invalid", _("无效意见，不作答复"), True))
        return steps
    answered = comment.status == Status.ANSWERED
    steps.append(
        Step("in_progress", _("办理中"), answered or comment.status == Status.IN_PROGRESS, started)
    )
    steps.append(Step("answered", _("已答复"), answered, comment.replied_at if answered else None))
    return steps


def clause_url(consultation, clause) -> str:
    """Where the clause is shown: on the consultation's page while it is in the text consulted
    on, on its own draft's page once a later draft has replaced it (the consultation's page has
    no anchor for it then)."""
    if clause.revision_id == consultation.current_revision_id:
        page = consultation.get_absolute_url()
    else:
        page = reverse("intake:revision", args=[consultation.slug, clause.revision.number])
    return f"{page}#clause-{clause.pk}"
