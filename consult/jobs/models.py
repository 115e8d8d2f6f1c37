"""What each periodic job last did, so a job that keeps failing or stopped running is seen."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class JobStatus(models.Model):
    name = models.CharField(_("任务"), max_length=50, primary_key=True)
    # A job that never ran has no run to count from; the first time anyone looked is when its
    # absence starts to count, so a scheduler never started is noticed (services.jobs_health).
    first_seen_at = models.DateTimeField(
        _("首次记录"),
        help_text=_("第一次运行或第一次检查其状态的时间；从未运行的任务自此起计算是否逾期。"),
    )
    first_run_at = models.DateTimeField(
        _("首次运行"), null=True, blank=True, help_text=_("第一次运行的时间。")
    )
    last_started_at = models.DateTimeField(_("最近开始"), null=True, blank=True)
    last_succeeded_at = models.DateTimeField(_("最近成功"), null=True, blank=True)
    last_failed_at = models.DateTimeField(_("最近失败"), null=True, blank=True)
    last_error = models.TextField(
        _("最近错误"), blank=True, help_text=_("最近一次失败的错误信息（完整堆栈见日志）。")
    )
    last_summary = models.CharField(_("最近结果"), max_length=500, blank=True)
    failures_in_a_row = models.PositiveIntegerField(_("连续失败次数"), default=0)

    class Meta:
        verbose_name = _("定时任务状态")
        verbose_name_plural = _("定时任务状态")
        ordering = ["name"]

    def __str__(self):
        return self.name
