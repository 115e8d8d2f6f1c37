"""Citizens' comments on a consultation and the departments each one is routed to."""

from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.db import models
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone
from django.utils.functional import LazyObject, empty
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from consult.consultations.models import Consultation, Department, clause_or_whole_draft

from .attachments import download_name


class CommentQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=Comment.OPEN_STATUSES)


class Comment(models.Model):
    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("个人")
        COMPANY = "company", _("企业")
        ORGANISATION = "organisation", _("社会组织")
        OTHER = "other", _("其他")

    class Channel(models.TextChoices):
        WEB = "web", _("网页")
        API = "api", _("接口")
        IMPORT = "import", _("导入")
        LETTER = "letter", _("信函")
        EMAIL = "email", _("电子邮件")

    class Status(models.TextChoices):
        PENDING = "pending", _("待处理")
        IN_PROGRESS = "in_progress", _("处理中")
        ANSWERED = "answered", _("已答复")
        INVALID = "invalid", _("无效")

    # Still to be answered: what queues, reminders, dashboards and reports count as open.
    OPEN_STATUSES = (Status.PENDING, Status.IN_PROGRESS)

    class Publication(models.TextChoices):
        PRIVATE = "private", _("不公开（未同意公开）")
        AWAITING = "awaiting", _("待审核")
        PUBLISHED = "published", _("已公开")
        WITHHELD = "withheld", _("不予公开")

    class Decision(models.TextChoices):
        ADOPTED = "adopted", _("采纳")
        PARTLY_ADOPTED = "partly_adopted", _("部分采纳")
        NOT_ADOPTED = "not_adopted", _("不予采纳")
        EXPLAINED = "explained", _("已说明")

    # No index of their own: comment_by_consultation and comment_by_clause_status lead with
    # them, and each index is one more write for every comment stored.
    consultation = models.ForeignKey(
        Consultation,
        on_delete=models.PROTECT,
        related_name="comments",
        verbose_name=_("征求意见"),
        db_index=False,
    )
    clause = clause_or_whole_draft(
        on_delete=models.PROTECT, related_name="comments", db_index=False
    )
    tracking_number = models.CharField(_("回执编号"), max_length=10, unique=True, editable=False)
    body = models.TextField(_("意见内容"))
    body_digest = models.CharField(
        _("内容摘要值"), max_length=64, editable=False, help_text=_("用于识别重复提交。")
    )

    submitter_name = models.CharField(_("姓名"), max_length=100, blank=True)
    submitter_kind = models.CharField(
        _("身份"), max_length=16, choices=Kind, default=Kind.INDIVIDUAL
    )
    organisation = models.CharField(_("单位名称"), max_length=200, blank=True)
    phone = models.CharField(_("电话"), max_length=30, blank=True)
    email = models.EmailField(_("电子邮箱"), blank=True)
    wants_reply = models.BooleanField(_("希望得到答复"), default=False)
    # The site's language the citizen wrote in: their receipt, reply and later emails use it.
    language = models.CharField(_("语言"), max_length=16, default="zh-hans", editable=False)
    notify_on_report = models.BooleanField(
        _("采纳情况公布时通知"),
        default=False,
        help_text=_("意见采纳情况公布时给提交人发一封邮件（需要电子邮箱）。"),
    )
    consent = models.BooleanField(_("同意个人信息处理"), default=False)
    consent_at = models.DateTimeField(_("同意时间"), null=True, blank=True)
    publish_consent = models.BooleanField(
        _("同意公开意见"),
        default=False,
        help_text=_("提交人另行同意在网站上公开意见内容（不含姓名、联系方式等个人信息）。"),
    )
    publish_consent_at = models.DateTimeField(_("同意公开时间"), null=True, blank=True)
    publication = models.CharField(
        _("公开状态"),
        max_length=16,
        choices=Publication,
        default=Publication.PRIVATE,
        help_text=_("提交人同意公开的意见，由发布单位审核后公开。"),
    )
    publication_reason = models.TextField(
        _("不予公开的理由"), blank=True, help_text=_("只有工作人员能看到，不告知公众。")
    )
    publication_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("公开审核人"),
    )
    publication_decided_at = models.DateTimeField(
        _("公开审核时间"), null=True, blank=True, editable=False
    )
    published_body = models.TextField(
        _("公开的意见内容"),
        blank=True,
        editable=False,
        help_text=_("公开时保存的意见内容，个人信息已遮盖：删除个人信息后仍按此公开。"),
    )

    channel = models.CharField(_("渠道"), max_length=16, choices=Channel, default=Channel.WEB)
    submitted_at = models.DateTimeField(_("提交时间"), default=timezone.now, db_index=True)
    received_on = models.DateField(
        _("收到日期"), null=True, blank=True, help_text=_("信函、电子邮件等线下渠道收到的日期。")
    )
    ip_hash = models.CharField(_("IP 摘要"), max_length=64, blank=True, editable=False)
    user_agent = models.CharField(_("浏览器"), max_length=300, blank=True, editable=False)
    personal_data_removed_at = models.DateTimeField(
        _("个人信息删除时间"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("保存期限届满后，姓名、单位名称、电话、邮箱和附件已删除；意见和答复保留。"),
    )

    status = models.CharField(
        _("状态"), max_length=16, choices=Status, default=Status.PENDING, db_index=True
    )
    decision = models.CharField(_("处理意见"), max_length=16, choices=Decision, blank=True)
    decision_reason = models.TextField(_("理由"), blank=True)
    reply = models.TextField(_("答复"), blank=True, help_text=_("给提交人的答复，查询进度时可见。"))
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    invalid_reason = models.CharField(_("无效原因"), max_length=300, blank=True)
    campaign = models.ForeignKey(
        "Campaign",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="comments",
        verbose_name=_("联名/模板意见"),
    )
    opinions_waived_reason = models.TextField(
        _("未等配合意见的理由"),
        blank=True,
        help_text=_("负责单位在配合单位尚未全部回复时答复，须说明理由。"),
    )

    objects = CommentQuerySet.as_manager()

    class Meta:
        verbose_name = _("意见")
        verbose_name_plural = _("意见")
        ordering = ["-submitted_at", "-id"]
        permissions = [("export_personal_data", _("可以导出提交人的个人信息"))]
        indexes = [
            models.Index(fields=["consultation", "-submitted_at"], name="comment_by_consultation"),
            models.Index(fields=["clause", "status"], name="comment_by_clause_status"),
            models.Index(fields=["body_digest"], name="comment_by_body_digest"),
            # The public lists: a clause's (or the draft's) published comments, newest first.
            models.Index(
                fields=["consultation", "clause", "-submitted_at"],
                name="comment_published",
                condition=Q(publication="published"),
            ),
            # The retention job looks only at comments still holding personal data.
            models.Index(
                fields=["consultation"],
                name="comment_personal_data_kept",
                condition=Q(personal_data_removed_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(consent=False) | Q(consent_at__isnull=False),
                name="comment_consent_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="invalid") | ~Q(invalid_reason=""),
                name="comment_invalid_has_reason",
            ),
            # Without the submitter's consent to publish, a comment is never even reviewed.
            models.CheckConstraint(
                condition=Q(publish_consent=False, publication="private")
                | (
                    Q(publish_consent=True, publish_consent_at__isnull=False)
                    & ~Q(publication="private")
                ),
                name="comment_published_only_with_consent",
            ),
            models.CheckConstraint(
                condition=~Q(publication="withheld") | ~Q(publication_reason=""),
                name="comment_withheld_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(publication="published") | Q(publication_decided_at__isnull=False),
                name="comment_published_has_time",
            ),
        ]

    def __str__(self):
        return self.tracking_number

    @property
    def is_answered(self):
        """The decision and reply are public only once the comment is answered: a draft
        written while it is in progress (or reopened) stays with staff."""
        return self.status == self.Status.ANSWERED

    @property
    def is_published(self):
        return self.publication == self.Publication.PUBLISHED

    @property
    def clause_label(self):
        return str(self.clause) if self.clause_id else _("全文")


class CommentForPublication(Comment):
    """The comments whose submitters agreed to publish them, as the issuing bureau reviews them
    (the admin's 公开意见审核; the rules are comments.publication)."""

    class Meta:
        proxy = True
        verbose_name = _("公开意见审核")
        verbose_name_plural = _("公开意见审核")


class CommentRouting(models.Model):
    """A department a comment was routed to, decided once when the comment is stored."""

    class Role(models.TextChoices):
        LEAD = "lead", _("牵头")
        COOPERATING = "cooperating", _("配合")
        COORDINATOR = "coordinator", _("统筹")

    # No index of their own: routing_unique and routing_by_department lead with them, and a
    # comment writes several routes.
    comment = models.ForeignKey(
        Comment,
        on_delete=models.CASCADE,
        related_name="routes",
        verbose_name=_("意见"),
        db_index=False,
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="comment_routes",
        verbose_name=_("部门"),
        db_index=False,
    )
    role = models.CharField(_("职责"), max_length=16, choices=Role)
    is_owner = models.BooleanField(
        _("负责答复"), default=False, help_text=_("每条意见只有一个部门负责答复。")
    )
    position = models.PositiveIntegerField(_("次序"), default=0)
    created_at = models.DateTimeField(_("分办时间"), default=timezone.now)

    class Meta:
        verbose_name = _("意见分办")
        verbose_name_plural = _("意见分办")
        ordering = ["comment", "position"]
        constraints = [
            models.UniqueConstraint(fields=["comment", "department"], name="routing_unique"),
            models.UniqueConstraint(
                fields=["comment"], condition=Q(is_owner=True), name="routing_one_owner"
            ),
        ]
        indexes = [
            models.Index(fields=["department", "is_owner"], name="routing_by_department"),
        ]

    def __str__(self):
        role = gettext("（%(role)s）") % {"role": self.get_role_display()}
        return f"{self.comment} → {self.department}{role}"


class PrivateStorage(LazyObject):
    """`storages["private"]`, looked up when first used rather than when models load, and
    again after STORAGES changes (tests point it at a temporary folder)."""

    def _setup(self):
        self._wrapped = storages["private"]


private_files = PrivateStorage()


@receiver(setting_changed)
def _private_files_reset(*, setting, **kwargs):
    if setting == "STORAGES":
        private_files._wrapped = empty


def private_storage():
    return private_files


class Attachment(models.Model):
    """A file sent with a comment; stored outside the web root, served only to its staff."""

    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("意见")
    )
    file = models.FileField(_("文件"), storage=private_storage, upload_to="attachments/%Y/%m/")
    original_name = models.CharField(_("原文件名"), max_length=255)
    content_type = models.CharField(_("文件类型"), max_length=100)
    size = models.PositiveIntegerField(_("大小（字节）"))
    uploaded_at = models.DateTimeField(_("上传时间"), default=timezone.now)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")

    def __str__(self):
        return self.original_name

    @property
    def download_name(self) -> str:
        """Served under the extension of what the file really is (stored as <random>.<kind>)."""
        return download_name(self.original_name, self.file.name.rsplit(".", 1)[-1])


class CooperatingOpinion(models.Model):
    """A cooperating department's view on a comment, for the owning department to weigh."""

    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, related_name="opinions", verbose_name=_("意见")
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="opinions", verbose_name=_("部门")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("填写人"),
    )
    text = models.TextField(_("配合意见"))
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    class Meta:
        verbose_name = _("配合意见")
        verbose_name_plural = _("配合意见")
        ordering = ["comment", "updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["comment", "department"], name="opinion_one_per_department"
            )
        ]

    def __str__(self):
        return f"{self.department}{gettext('：')}{self.text[:30]}"


class CommentEvent(models.Model):
    """One entry of a comment's history: who changed what, when, from what to what."""

    class Kind(models.TextChoices):
        STATUS = "status", _("状态")
        DECISION = "decision", _("处理意见")
        REPLY = "reply", _("答复")
        NOTE = "note", _("内部备注")
        OPINION = "opinion", _("配合意见")
        WAIVED = "waived", _("未等配合意见")
        ROUTED = "routed", _("转办/增加单位")
        PUBLICATION = "publication", _("公开审核")

    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, related_name="events", verbose_name=_("意见")
    )
    kind = models.CharField(_("类型"), max_length=16, choices=Kind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("部门"),
    )
    before = models.CharField(_("原值"), max_length=100, blank=True)
    after = models.CharField(_("新值"), max_length=100, blank=True)
    text = models.TextField(_("说明"), blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["comment", "at", "pk"]
        indexes = [models.Index(fields=["comment", "at"], name="event_by_comment")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.before} → {self.after}"


class Campaign(models.Model):
    """Near-identical comments sent by many people (a form letter), grouped as they arrive."""

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="campaigns", verbose_name=_("征求意见")
    )
    first_comment = models.ForeignKey(
        Comment,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("最早的一条"),
    )
    size = models.PositiveIntegerField(_("意见数"), default=0)
    # How many members keep their signature bands for later letters to be compared with.
    representatives = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(_("发现时间"), default=timezone.now)

    class Meta:
        verbose_name = _("模板意见组")
        verbose_name_plural = _("模板意见组")
        ordering = ["-size"]

    def __str__(self):
        return _("模板意见 #%(id)s（%(size)s 条）") % {"id": self.pk, "size": self.size}


class CommentSignature(models.Model):
    """A comment's MinHash signature, kept to compare later comments against it."""

    comment = models.OneToOneField(
        Comment, on_delete=models.CASCADE, primary_key=True, related_name="signature"
    )
    hashvalues = models.BinaryField()

    def __str__(self):
        return f"signature of {self.comment_id}"


class SignatureBand(models.Model):
    """One locality-sensitive band of a signature: comments sharing a band are candidates."""

    consultation_id = models.BigIntegerField()
    value = models.BigIntegerField()
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["consultation_id", "value"], name="band_lookup")]

    def __str__(self):
        return f"band {self.value} of {self.comment_id}"


def private_exports_storage():
    return private_files


class Export(models.Model):
    """A spreadsheet of comments too large to build inside a request: made by a task."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    class Status(models.TextChoices):
        PENDING = "pending", _("排队中")
        RUNNING = "running", _("生成中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("导出人"),
    )
    format = models.CharField(_("格式"), max_length=8, choices=Format)
    include_personal = models.BooleanField(_("含个人信息"), default=False)
    # The admin's language of whoever asked: the task writes the headers and labels in it.
    language = models.CharField(_("语言"), max_length=16, default="zh-hans", editable=False)
    # The admin's filtered queryset, pickled as Django documents for re-running a query later.
    query = models.BinaryField(editable=False)
    status = models.CharField(_("状态"), max_length=16, choices=Status, default=Status.PENDING)
    total = models.PositiveIntegerField(_("总行数"), default=0)
    rows_done = models.PositiveIntegerField(_("已完成行数"), default=0)
    file = models.FileField(
        _("文件"), storage=private_exports_storage, upload_to="exports/%Y/%m/", blank=True
    )
    error = models.TextField(_("错误"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    # When a worker took it or last reported progress: a build silent for EXPORT_LEASE_SECONDS
    # died with its worker, and the sweep hands the export on again.
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # How many workers have taken it: one that kills its worker is not taken forever. A
    # worker's claim is its attempt's number, which its every write names.
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    # When its task was last queued: the sweep leaves a queued export to its task.
    handed_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    # Whether the build records the comments it writes (`ExportedComment`): those built before
    # it did are judged by their query alone.
    comments_recorded = models.BooleanField(default=False, editable=False)

    class Meta:
        verbose_name = _("导出")
        verbose_name_plural = _("导出")
        ordering = ["-created_at"]

    def __str__(self):
        created = timezone.localtime(self.created_at)
        return f"{self.get_format_display()} · {created:%Y-%m-%d %H:%M:%S}"

    @property
    def progress(self):
        return (
            100
            if self.status == self.Status.DONE
            else int(100 * self.rows_done / max(1, self.total))
        )


class ExportedComment(models.Model):
    """A comment an export's file holds, and whether with its submitter's contact details in
    full: what decides, while the file is kept, whether its maker may still download it (a
    comment transferred to another department since is no longer found by the export's query)
    and which files a retention purge must delete."""

    export = models.ForeignKey(Export, on_delete=models.CASCADE, related_name="held")
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="+")
    contact_shown = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["export", "comment"], name="exported_comment_once")
        ]

    def __str__(self):
        return f"{self.export_id}: {self.comment_id}"


class CommentTally(models.Model):
    """How many comments (not counting invalid ones) a clause has, kept as the comments change.

    The public pages read these instead of counting comments, so they cost the same at a
    million comments as at none. Each clause's count is split over a few slots, each
    submission adding to one at random, so that concurrent submissions on one clause do not
    queue behind a single row's lock. `clause_key` is the clause's id, 0 for the whole draft.
    """

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="+")
    clause_key = models.PositiveIntegerField()
    slot = models.PositiveSmallIntegerField()
    count = models.IntegerField(default=0)
    # Of those, how many are published (comments.publication) and shown on the public lists.
    published = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "clause_key", "slot"], name="one_tally_per_slot"
            )
        ]

    def __str__(self):
        return f"{self.consultation_id}/{self.clause_key}/{self.slot}: {self.count}"
