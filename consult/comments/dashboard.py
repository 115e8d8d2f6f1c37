"""Where a consultation stands, for staff: the numbers behind the dashboard's charts.

Everything counts only the comments the user may see, so a department's dashboard is its own.
Charts are drawn server-side as SVG (templates/staff/_bar_chart.html): no script, nothing to
load from elsewhere, and they print.
"""

import dataclasses
import datetime
import zoneinfo

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from .access import comments_visible_to, consultations_coordinated_by_user, user_department_ids
from .models import Comment, CommentRouting
from .revision_outcomes import comments_of_revision, comments_past_answer_deadline_q

OPEN = Comment.OPEN_STATUSES


@dataclasses.dataclass
class Bar:
    label: str
    value: int
    extra: int = 0  # a second series drawn over the first (e.g. overdue within open)


@dataclasses.dataclass
class Chart:
    """Bars laid out for an SVG of a given size; the template only draws."""

    title: str
    bars: list[Bar]
    width: int = 720
    bar_height: int = 22
    label_width: int = 180
    gap: int = 6

    @property
    def height(self):
        return max(1, len(self.bars)) * (self.bar_height + self.gap) + self.gap

    @property
    def rows(self):
        largest = max([bar.value for bar in self.bars] + [1])
        room = self.width - self.label_width - 60
        for index, bar in enumerate(self.bars):
            y = self.gap + index * (self.bar_height + self.gap)
            yield {
                "bar": bar,
                "y": y,
                "text_y": y + self.bar_height * 0.7,
                "width": round(room * bar.value / largest, 1),
                "extra_width": round(room * bar.extra / largest, 1),
                "value_x": self.label_width + round(room * bar.value / largest, 1) + 6,
            }


def _clause_label(row, several: bool) -> str:
    label = f"{row['clause__label'] or _('全文')} {(row['clause__heading'] or '')[:10]}".strip()
    if several and row["clause__revision__number"]:
        return _("第%(number)s稿 %(label)s") % {
            "number": row["clause__revision__number"],
            "label": label,
        }
    return label


def dashboard(consultation, user, *, revision=None, now=None) -> dict:
    """The numbers of the consultation's comments the user may see; of one revision's only
    when `revision` is given (revision_outcomes.comments_of_revision)."""
    now = now or timezone.now()
    comments = comments_visible_to(user).filter(consultation=consultation)
    if revision is not None:
        comments = comments_of_revision(comments, revision)
    # With several revisions, the same label names a clause of each: say which.
    several = revision is None and consultation.revisions.published().count() > 1
    shanghai = zoneinfo.ZoneInfo(settings.TIME_ZONE)

    # A letter counts on the day it was received, not the day it was typed in.
    received = Coalesce("received_on", TruncDate("submitted_at", tzinfo=shanghai))
    per_day = dict(
        comments.annotate(day=received).values_list("day").annotate(n=Count("pk")).order_by("day")
    )
    days = []
    if per_day:
        day, last = min(per_day), max(per_day)
        while day <= last:
            days.append(Bar(day.strftime("%m-%d"), per_day.get(day, 0)))
            day += datetime.timedelta(days=1)

    clauses = [
        Bar(_clause_label(row, several), row["n"])
        for row in comments.values(
            "clause__label", "clause__heading", "clause__path", "clause__revision__number"
        )
        .annotate(n=Count("pk"))
        .order_by("clause__revision__number", "clause__path")
    ]

    # Each comment is late by its own draft's answer deadline, not the draft now consulted on.
    late = comments.filter(
        comments_past_answer_deadline_q(consultation, now), status__in=OPEN
    ).values("pk")
    answering = CommentRouting.objects.filter(comment__in=comments, is_owner=True)
    if not consultations_coordinated_by_user(user).filter(pk=consultation.pk).exists():
        # A department's own bar only: another's, counted over the comments it cooperates on,
        # was none of its business and not that department's number either (a review).
        answering = answering.filter(department_id__in=user_department_ids(user))
    departments = [
        Bar(row["department__name"], row["open"], row["late"])
        for row in answering.values("department__name")
        .annotate(
            open=Count("pk", filter=Q(comment__status__in=OPEN)),
            late=Count("pk", filter=Q(comment__in=late)),
            total=Count("pk"),
        )
        .order_by("-open", "department__name")
    ]
    overdue = late.exists()

    decided = comments.filter(status=Comment.Status.ANSWERED)
    decision_labels = dict(Comment.Decision.choices)
    decisions = [
        Bar(str(decision_labels.get(row["decision"], "—")), row["n"])
        for row in decided.values("decision").annotate(n=Count("pk")).order_by("-n")
    ]
    decisions.append(
        Bar(str(Comment.Status.INVALID.label), comments.filter(status="invalid").count())
    )
    still_open = f"{Comment.Status.PENDING.label}/{Comment.Status.IN_PROGRESS.label}"
    decisions.append(Bar(still_open, comments.filter(status__in=OPEN).count()))

    totals = comments.aggregate(
        total=Count("pk"),
        open=Count("pk", filter=Q(status__in=OPEN)),
        answered=Count("pk", filter=Q(status=Comment.Status.ANSWERED)),
    )
    return {
        "totals": totals,
        "overdue": overdue,  # an open comment past its answer deadline
        "charts": [
            Chart(_("每日收到意见"), days),
            Chart(_("各条款意见数"), clauses),
            Chart(_("各部门未办结（红色为逾期）"), departments),
            Chart(_("处理意见构成"), decisions),
        ],
    }
