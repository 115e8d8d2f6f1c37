"""The outbox: what must be mailed (Notification) and the emails built from it (OutgoingEmail).

A notification is written in the same transaction as the event that causes it, so nothing is
lost when the broker is down; tasks only move rows along, so a task that runs twice is harmless.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def moment(verbose_name, help_text=""):
    """A moment in a row's life that may not have come yet: empty until it does."""
    return models.DateTimeField(verbose_name, null=True, blank=True, help_text=help_text)


class OutgoingEmail(models.Model):
    """One email as it goes over the wire; a digest carries several notifications."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")

    message_id = models.CharField(_("Message-ID"), max_length=200, unique=True)
    to = models.JSONField(_("收件人"), default=list)
    delivered_to = models.JSONField(
        _("已收到的地址"),
        default=list,
        blank=True,
        help_text=_(
            "邮件服务器接收了这些地址、却暂时拒收了其他地址：重试只发往其余地址，"
            "已收到的不会再收到一次。"
        ),
    )
    refused_for_good = models.JSONField(
        _("永久拒收的地址"),
        default=dict,
        blank=True,
        help_text=_("在部分发送中被邮件服务器永久拒收（5xx）的地址及其答复：不再重试。"),
    )
    subject = models.CharField(_("主题"), max_length=300)
    body_text = models.TextField(_("正文"))
    body_html = models.TextField(_("HTML 正文"), blank=True)
    sender_name = models.CharField(
        _("发件人名称"),
        max_length=200,
        blank=True,
        help_text=_("收件人看到的发件人：征求意见的发布单位；为空用系统默认。"),
    )
    headers = models.JSONField(_("附加邮件头"), default=dict, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(_("尝试次数"), default=0)
    lease_until = moment(
        _("占用至"),
        _("正在发送它的进程占用到此时；过期后其他进程可以接手。"),
    )
    interrupted = models.PositiveIntegerField(
        _("中断次数"),
        default=0,
        help_text=_("发送进程在发送途中失去联系（被终止）的次数；达到上限即不再重试。"),
    )
    next_attempt_at = moment(
        _("下次尝试"),
        _("发送失败后等待重试：此时之前任何进程都不会再试。"),
    )
    failing_since = moment(
        _("连续失败起始"),
        _("从这次失败起一直未能发出；持续失败超过设定时长后不再重试。"),
    )
    last_error = models.TextField(_("最近错误"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    sent_at = moment(_("发送时间"))
    failed_at = moment(_("放弃时间"))

    class Meta:
        verbose_name = _("外发邮件")
        verbose_name_plural = _("外发邮件")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="email_pending_idx",
                condition=Q(status="pending"),
            )
        ]

    def __str__(self):
        return self.subject

    def addresses_still_to_send(self) -> list[str]:
        """The recipients that neither have it nor refused it for good in an earlier attempt.
        Compared in any case: a mailbox retyped in capitals between two attempts is the same
        mailbox."""
        done = {address.lower() for address in (*self.delivered_to, *self.refused_for_good)}
        return [address for address in self.to if address.lower() not in done]


class Notification(models.Model):
    """Something one recipient must be told; delivered alone or in a digest."""

    class Kind(models.TextChoices):
        COMMENT_ROUTED = "comment_routed", _("新意见通知")
        RECEIPT = "receipt", _("提交回执")
        REPLY = "reply", _("答复通知")
        REASSIGNED = "reassigned", _("转办通知")
        REMINDER = "reminder", _("提醒")
        REPORT_PUBLISHED = "report_published", _("采纳情况发布")
        SUBSCRIPTION_CONFIRM = "subscription_confirm", _("订阅确认")
        CONSULTATION_OPENED = "consultation_opened", _("新征求意见通知")
        REVISION_PUBLISHED = "revision_published", _("修改稿发布")

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")

    kind = models.CharField(_("类型"), max_length=32, choices=Kind)
    key = models.CharField(
        _("唯一键"),
        max_length=200,
        unique=True,
        help_text=_("同一件事只通知一次：重复写入同一键会被数据库拒绝。"),
    )
    to = models.JSONField(_("收件人"), default=list)
    language = models.CharField(_("语言"), max_length=16, default="zh-hans")
    department = models.ForeignKey(
        "consultations.Department",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("部门"),
    )
    consultation = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("征求意见"),
    )
    comment = models.ForeignKey(
        "comments.Comment",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("意见"),
    )
    context = models.JSONField(_("内容参数"), default=dict, blank=True)
    digest_group = models.CharField(
        _("汇总分组"),
        max_length=100,
        blank=True,
        help_text=_("同组且同时到期的通知合并为一封邮件；为空则单独发送。"),
    )
    due_at = models.DateTimeField(_("最早发送时间"))
    # No plain index: the partial indexes below cover the pending rows every job looks for.
    status = models.CharField(_("状态"), max_length=16, choices=Status, default=Status.PENDING)
    email = models.ForeignKey(
        OutgoingEmail,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("外发邮件"),
    )
    published_at = moment(
        _("最近交给队列"),
        _("最近一次把负责它的发送任务交给消息队列的时间；为空表示尚未交出。"),
    )
    taken_up_at = moment(
        _("任务开始处理"),
        _("负责它的发送任务最近一次开始处理它的时间。"),
    )
    publications = models.PositiveIntegerField(
        _("交给队列次数"), default=0, help_text=_("含首次交出、重试和补发。")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["digest_group", "due_at"],
                name="notification_unbuilt_idx",
                condition=Q(status="pending", email__isnull=True),
            ),
            models.Index(
                fields=["due_at"],
                name="notification_pending_idx",
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.key}"


class Reminder(models.Model):
    """One reminder of one deadline to one department, recorded the moment it is decided.

    The unique constraint is the "exactly once": two due-job runs racing to send the same
    reminder both try to insert this row, and only one insert succeeds.
    """

    class Kind(models.TextChoices):
        CLOSING = "closing", _("截止前提醒")
        ANSWER_DUE = "answer_due", _("答复期限前提醒")
        OVERDUE = "overdue", _("逾期提醒")

    class Outcome(models.TextChoices):
        # Queued, not sent: whether its email went out is the notification's status, which
        # the admin shows beside it.
        QUEUED = "queued", _("已排队发送")
        MISSED = "missed", _("错过时间，已跳过")

    kind = models.CharField(_("类型"), max_length=16, choices=Kind)
    consultation = models.ForeignKey(
        "consultations.Consultation",
        on_delete=models.CASCADE,
        related_name="reminders",
        verbose_name=_("征求意见"),
    )
    department = models.ForeignKey(
        "consultations.Department",
        on_delete=models.CASCADE,
        related_name="reminders",
        verbose_name=_("部门"),
    )
    due_at = models.DateTimeField(_("提醒时间"))
    # How many days before its deadline it is planned: at the moment "3 days left" went, a
    # close brought forward plans "1 day left", another reminder; the same deadline moved
    # within its day plans the same one again. Empty for those recorded before it was kept,
    # which stand for any.
    days_before = models.PositiveSmallIntegerField(
        _("提前天数"), null=True, blank=True, editable=False
    )
    outstanding = models.PositiveIntegerField(_("待办意见数"), default=0)
    # What became of it: queued as this notification, or missed.
    outcome = models.CharField(_("结果"), max_length=16, choices=Outcome)
    notification = models.OneToOneField(
        Notification,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reminder",
        verbose_name=_("通知"),
    )
    created_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("提醒")
        verbose_name_plural = _("提醒")
        ordering = ["-due_at", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "consultation", "department", "due_at", "days_before"],
                name="reminder_once",
            )
        ]

    def __str__(self):
        due = timezone.localtime(self.due_at)
        return f"{self.get_kind_display()} · {self.department} · {due:%Y-%m-%d %H:%M:%S}"
