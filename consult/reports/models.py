"""The adoption report (意见采纳情况): what a consultation received and what it adopted.

Generated from the comments after the close, edited by the coordinator, published as a public
page. It holds counts and staff-written summaries only, never anyone's personal data.

One report per revision of the draft: a draft consulted on twice has a report on the comments
each draft received (comments.revision_outcomes.comments_of_revision).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from consult.consultations.models import Consultation, Revision, clause_or_whole_draft


class AdoptionReport(models.Model):
    consultation = models.ForeignKey(
        Consultation,
        on_delete=models.CASCADE,
        related_name="reports",
        verbose_name=_("征求意见"),
    )
    revision = models.OneToOneField(
        Revision,
        on_delete=models.CASCADE,
        related_name="report",
        verbose_name=_("所属文本"),
        help_text=_("报告统计对这一稿提出的意见。"),
    )
    introduction = models.TextField(
        _("说明"), blank=True, help_text=_("报告开头的说明，公布前可以修改。")
    )
    total = models.PositiveIntegerField(_("收到意见"), default=0)
    invalid = models.PositiveIntegerField(_("无效意见"), default=0)
    adopted = models.PositiveIntegerField(_("采纳"), default=0)
    partly_adopted = models.PositiveIntegerField(_("部分采纳"), default=0)
    not_adopted = models.PositiveIntegerField(_("不予采纳"), default=0)
    explained = models.PositiveIntegerField(_("已说明"), default=0)
    unanswered = models.PositiveIntegerField(_("尚未答复"), default=0)
    campaigns = models.PositiveIntegerField(_("模板意见组数"), default=0)
    campaign_letters = models.PositiveIntegerField(_("模板意见条数"), default=0)
    unanswered_reason = models.TextField(
        _("未答复的原因"),
        blank=True,
        help_text=_(
            "仍有意见未答复时才需填写：说明为何先行公布，与未答复的条数一并公开。"
            "不填写则须全部答复后才能公布。"
        ),
    )
    generated_at = models.DateTimeField(_("统计时间"))
    published_at = models.DateTimeField(
        _("公布时间"), null=True, blank=True, help_text=_("公布后公众即可查看本报告。")
    )
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)
    # Saving the report in the admin is the coordinator's review; a recount asks for another.
    reviewed_at = models.DateTimeField(
        _("审阅时间"),
        null=True,
        blank=True,
        help_text=_(
            "协调人员在后台保存本报告即为审阅；未经审阅的报告不能公布，重新统计后需再次审阅。"
        ),
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审阅人"),
    )

    class Meta:
        verbose_name = _("意见采纳情况")
        verbose_name_plural = _("意见采纳情况")
        ordering = ["consultation", "revision__number"]

    def __str__(self):
        if self.revision.number == 1:
            return str(self.consultation)
        return f"{self.consultation} · {self.revision.label}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def accounted(self) -> int:
        """Every comment received, counted once: decided, invalid or still unanswered."""
        return (
            self.adopted
            + self.partly_adopted
            + self.not_adopted
            + self.explained
            + self.invalid
            + self.unanswered
        )


class ReportClause(models.Model):
    """One line of the report: a clause (or the whole draft) with its counts and the gist."""

    report = models.ForeignKey(
        AdoptionReport, on_delete=models.CASCADE, related_name="lines", verbose_name=_("报告")
    )
    clause = clause_or_whole_draft(on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(_("次序"))
    comments = models.PositiveIntegerField(_("意见数"), default=0)
    adopted = models.PositiveIntegerField(_("采纳"), default=0)
    partly_adopted = models.PositiveIntegerField(_("部分采纳"), default=0)
    not_adopted = models.PositiveIntegerField(_("不予采纳"), default=0)
    explained = models.PositiveIntegerField(_("已说明"), default=0)
    campaigns = models.PositiveIntegerField(_("模板意见组数"), default=0)
    campaign_letters = models.PositiveIntegerField(_("模板意见条数"), default=0)
    gist = models.TextField(
        _("答复要点"), blank=True, help_text=_("对本条意见的处理和答复要点，公开显示。")
    )

    class Meta:
        verbose_name = _("条款采纳情况")
        verbose_name_plural = _("条款采纳情况")
        ordering = ["report", "position"]
        constraints = [
            models.UniqueConstraint(fields=["report", "clause"], name="report_line_per_clause")
        ]

    def __str__(self):
        return str(self.clause) if self.clause_id else str(_("全文"))

    @property
    def unanswered(self) -> int:
        """The line's valid comments without a decision yet (an answer always carries one)."""
        return self.comments - (
            self.adopted + self.partly_adopted + self.not_adopted + self.explained
        )
