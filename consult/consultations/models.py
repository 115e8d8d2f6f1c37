"""Departments, consultations and the clause tree of a draft with who answers for each clause."""

import datetime
import functools

from django.conf import settings
from django.db import connections, models, router
from django.db.models import Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from consult.prepared import prepared_cursor


class DepartmentQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def named(self, name):
        """Departments known by this name: short name, full name or an alias."""
        name = name.strip()
        return self.filter(Q(name=name) | Q(full_name=name) | Q(aliases__name=name)).distinct()


class Department(models.Model):
    class DigestMode(models.TextChoices):
        IMMEDIATE = "immediate", _("逐条即时发送")
        WINDOW = "window", _("按时间窗口合并")
        DAILY = "daily", _("每日汇总")

    name = models.CharField(
        _("简称"),
        max_length=100,
        unique=True,
        help_text=_("文件中的写法，如“市发改委”。"),
    )
    full_name = models.CharField(
        _("全称"),
        max_length=200,
        blank=True,
        help_text=_("如“潍坊市发展和改革委员会”。"),
    )
    is_active = models.BooleanField(_("启用"), default=True)
    digest_mode = models.CharField(
        _("通知方式"),
        max_length=16,
        choices=DigestMode,
        default=DigestMode.WINDOW,
        help_text=_("新意见通知是逐条发送，还是在时间窗口内合并为一封汇总邮件。"),
    )
    digest_window_minutes = models.PositiveIntegerField(
        _("合并窗口（分钟）"),
        default=10,
        help_text=_("按时间窗口合并时，每个征求意见事项最多每隔这么久发一封汇总邮件。"),
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = DepartmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("部门")
        verbose_name_plural = _("部门")
        ordering = ["name"]

    def __str__(self):
        return self.name


class DepartmentAlias(models.Model):
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="aliases", verbose_name=_("部门")
    )
    name = models.CharField(
        _("别名"),
        max_length=200,
        unique=True,
        help_text=_("文件中对同一部门的其他写法，如“市发展改革委”。"),
    )

    class Meta:
        verbose_name = _("部门别名")
        verbose_name_plural = _("部门别名")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Mailbox(models.Model):
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="mailboxes", verbose_name=_("部门")
    )
    email = models.EmailField(_("邮箱"))
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("通知邮箱")
        verbose_name_plural = _("通知邮箱")
        ordering = ["department", "email"]
        constraints = [
            models.UniqueConstraint(
                fields=["department", "email"], name="mailbox_unique_per_department"
            ),
        ]

    def __str__(self):
        return self.email


class Membership(models.Model):
    class Role(models.TextChoices):
        HANDLER = "handler", _("经办人")
        MANAGER = "manager", _("负责人")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("用户"),
    )
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("部门")
    )
    role = models.CharField(_("角色"), max_length=16, choices=Role, default=Role.HANDLER)

    class Meta:
        verbose_name = _("部门成员")
        verbose_name_plural = _("部门成员")
        constraints = [
            models.UniqueConstraint(fields=["user", "department"], name="membership_unique"),
        ]

    def __str__(self):
        return f"{self.user} @ {self.department}"


# The notice's own text, kilobytes per consultation: left out where only its facts are needed.
CONSULTATION_TEXTS = ("source_text", "preamble", "responsibility_remarks")


def consultation_texts(via: str = "") -> list[str]:
    """The notice's text fields, as `defer()` names them from a model that reaches the
    consultation through `via` (a relation path), or from the consultation itself."""
    return [f"{via}__{name}" if via else name for name in CONSULTATION_TEXTS]


class ConsultationQuerySet(models.QuerySet):
    def open_at(self, moment):
        """`Consultation.accepts_comments_at` as a query: in its period, its report not out."""
        return self.filter(
            opens_at__lte=moment,
            closes_at__gte=_to_second(moment),
            report_published_at__isnull=True,
        )

    def next_period_change(self, moment) -> "datetime.datetime | None":
        """The first instant after `moment` at which one of these consultations opens or closes
        (a close's whole last second still takes comments: closed from the next second on,
        `period_over_at`); None if none will."""
        now = _to_second(moment)
        found = self.aggregate(
            opening=models.Min("opens_at", filter=Q(opens_at__gt=moment)),
            closing=models.Min("closes_at", filter=Q(closes_at__gte=now)),
        )
        changes = [found["opening"]]
        if found["closing"] is not None:
            changes.append(_to_second(found["closing"]) + datetime.timedelta(seconds=1))
        return min((change for change in changes if change is not None), default=None)

    def without_texts(self):
        """Without the notice's own text (kilobytes each), which storing a comment never reads."""
        return self.defer(*consultation_texts())

    def coordinated_by(self, department_ids):
        """The consultations these departments issued: their staff are its coordinators."""
        return self.filter(issuer_id__in=department_ids)


class Consultation(models.Model):
    class Status(models.TextChoices):
        UPCOMING = "upcoming", _("未开始")
        OPEN = "open", _("征求意见中")
        CLOSED = "closed", _("已截止")
        REPORT_PUBLISHED = "report_published", _("已公布采纳情况")

    title = models.CharField(_("标题"), max_length=300)
    slug = models.SlugField(_("网址标识"), max_length=100, unique=True)
    issuer = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="issued_consultations",
        verbose_name=_("发布单位"),
    )
    reference_number = models.CharField(_("文号"), max_length=100, blank=True)
    draft_title = models.CharField(
        _("征求意见稿标题"), max_length=300, blank=True, help_text=_("附件草案本身的标题。")
    )
    preamble = models.TextField(_("前言"), blank=True, help_text=_("条款之前的通知和草案正文。"))
    responsibility_remarks = models.TextField(
        _("分工说明"),
        blank=True,
        help_text=_("责任分工括号中对全文适用的说明，如“各项任务均需……落实，以下不再列出”。"),
    )
    published_on = models.DateField(_("发布日期"), null=True, blank=True)
    opens_at = models.DateTimeField(_("开始时间"))
    closes_at = models.DateTimeField(
        _("截止时间"), help_text=_("最后一刻仍可提交意见的时间（北京时间，精确到秒）。")
    )
    answer_days = models.PositiveIntegerField(
        _("答复期限（天）"),
        default=15,
        help_text=_("截止后，各部门须在多少天内答复其负责的全部意见。"),
    )
    real_names_required = models.BooleanField(
        _("要求实名"), default=False, help_text=_("勾选后，提交意见必须填写姓名。")
    )
    contact_name = models.CharField(_("联系人"), max_length=100, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=50, blank=True)
    contact_email = models.EmailField(_("电子邮箱"), blank=True)
    source_text = models.TextField(
        _("原文"), blank=True, help_text=_("导入时的通知原文，逐字保存。")
    )
    report_published_at = models.DateTimeField(_("采纳情况公布时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    # Raised whenever who is responsible for its clauses, or how to reach them, changes
    # (consultations.directory): a web process keeps what routing needs keyed by it.
    directory_version = models.PositiveIntegerField(default=0, editable=False)
    # The draft citizens read and comment on: its latest published revision (revisions.py).
    current_revision = models.ForeignKey(
        "Revision",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("当前文本"),
    )

    objects = ConsultationQuerySet.as_manager()

    class Meta:
        verbose_name = _("征求意见")
        verbose_name_plural = _("征求意见")
        ordering = ["-opens_at"]
        permissions = [("publish_report", _("可以公布意见采纳情况"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")),
                name="consultation_closes_after_it_opens",
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        """Saved with its period (the admin moving the close, say), the period goes to the
        draft it belongs to as well: every later reader of that draft's own row (its page once
        a later draft is out, retention, its report, its comments' answer deadline) sees it.

        A data invariant, like a denormalised copy: kept here because every writer of the
        period passes through this save (`revision_mark_published` writes the same values)."""
        adding = self._state.adding
        super().save(*args, **kwargs)
        fields = kwargs.get("update_fields")
        if adding or (fields is not None and not {"opens_at", "closes_at"} & set(fields)):
            return
        consulted = self.revisions.consulted().values("pk")
        Revision.objects.filter(pk=Subquery(consulted)).update(
            opens_at=self.opens_at, closes_at=self.closes_at
        )

    def get_absolute_url(self):
        return reverse("intake:consultation", kwargs={"slug": self.slug})

    def accepts_comments_at(self, moment):
        """Open from opens_at to closes_at inclusive, compared to the whole second — and not
        once the report on the draft consulted on is out (a period moved after publishing it
        would add comments to a report that says it counts them all)."""
        return (
            self.report_published_at is None
            and self.opens_at <= moment
            and not period_over_at(self.closes_at, moment)
        )

    def status_at(self, moment):
        """The status of the draft now consulted on (`report_published_at` is its report's:
        publishing a later draft for comment clears it)."""
        if self.report_published_at is not None:
            return self.Status.REPORT_PUBLISHED
        if moment < self.opens_at:
            return self.Status.UPCOMING
        if not period_over_at(self.closes_at, moment):
            return self.Status.OPEN
        return self.Status.CLOSED

    @property
    def status(self):
        return self.status_at(timezone.now())

    @property
    def is_open(self):
        return self.accepts_comments_at(timezone.now())

    @property
    def answer_deadline(self):
        """When the answers to the comments on the draft now consulted on are due."""
        return self.answer_deadline_of(None)

    def answer_deadline_of(self, revision: "Revision | None"):
        """When the answers to the comments on `revision` are due: `answer_days` after its own
        close. The draft now consulted on (or None, or a revision without a period) has its
        period on the consultation; an earlier draft keeps its own on its row, so publishing a
        later draft does not move the deadline of the comments written on an earlier one."""
        _opens_at, closes_at = self.period_of(revision)
        return closes_at + datetime.timedelta(days=self.answer_days)

    def period_of(self, revision: "Revision | None") -> tuple:
        """(opens_at, closes_at) of `revision`'s comment period: the consultation's own for the
        current text (or None, or a revision without a period), the revision's for an earlier
        draft."""
        if revision is None or not revision.has_period or revision.pk == self.current_revision_id:
            return self.opens_at, self.closes_at
        return revision.opens_at, revision.closes_at

    def is_coordinated_by(self, department_ids) -> bool:
        """Whether staff of these departments coordinate it (see `coordinated_by`)."""
        return self.issuer_id in department_ids

    def is_past_answer_deadline(self, now, revision: "Revision | None" = None) -> bool:
        """Open comments on `revision` (by default the draft now consulted on) are overdue
        from here on; `comments.revision_outcomes.comment_answer_deadline` finds a comment's."""
        return period_over_at(self.answer_deadline_of(revision), now)

    def current_clauses(self):
        """The clauses of the draft as it now stands; earlier revisions keep their own."""
        return Clause.objects.filter(revision_id=self.current_revision_id)

    def commentable_clauses(self):
        """The clauses a new comment may name (`commentable_revision_id`): the web form's, the
        API's (comments.directory) and the letter form's alike."""
        revision = Consultation.objects.filter(pk=self.pk).values(
            revision=commentable_revision_id()
        )
        return Clause.objects.filter(revision_id=Subquery(revision))


def commentable_revision_id(consultation: str = ""):
    """An expression: the revision whose clauses take new comments — the current text, or,
    when that is a final text (it takes none, and no report counts comments on it), the last
    draft consulted on, whose report counts a letter posted in time and recorded after.

    Over a query of consultations (`consultation` empty) or of rows naming one by that path.
    """
    prefix = f"{consultation}__" if consultation else ""
    current = models.F(f"{prefix}current_revision_id")
    consulted = Revision.objects.consulted_id_of(models.OuterRef(consultation or "pk"))
    return models.Case(
        models.When(
            **{f"{prefix}current_revision__is_final": True},
            then=Coalesce(consulted, current),
        ),
        default=current,
    )


class RevisionQuerySet(models.QuerySet):
    def published(self):
        return self.filter(published_at__isnull=False)

    def consulted(self):
        """Of one consultation's revisions, the draft whose comment period the consultation
        holds: its latest published revision with one (a final text has none)."""
        return self.published().filter(opens_at__isnull=False).order_by("-number")[:1]

    def consulted_id_of(self, consultation):
        """`consulted`'s id as an expression over `consultation` (an OuterRef, or a
        consultation): the draft whose clauses take comments and letters."""
        return models.Subquery(self.filter(consultation=consultation).consulted().values("pk"))


class Revision(models.Model):
    """One text of a consultation: the first draft (1), a second draft (2), …, the final text.

    Each revision has its own clause tree; a later one is linked clause by clause to the one
    before it (ClauseLink) and becomes the consultation's current text once published.
    """

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="revisions", verbose_name=_("征求意见")
    )
    number = models.PositiveIntegerField(_("稿次"), help_text=_("1 为首次征求意见稿，依次递增。"))
    draft_title = models.CharField(
        _("文本标题"),
        max_length=300,
        blank=True,
        help_text=_("如“（二次征求意见稿）”或正式文本的标题。"),
    )
    preamble = models.TextField(_("前言"), blank=True, help_text=_("条款之前的通知和草案正文。"))
    source_text = models.TextField(_("原文"), blank=True, help_text=_("导入时的原文，逐字保存。"))
    opens_at = models.DateTimeField(
        _("开始时间"), null=True, blank=True, help_text=_("不再征求意见的文本（如正式文本）为空。")
    )
    closes_at = models.DateTimeField(
        _("截止时间"),
        null=True,
        blank=True,
        help_text=_("最后一刻仍可提交意见的时间（北京时间）。"),
    )
    is_final = models.BooleanField(
        _("正式文本"), default=False, help_text=_("正式印发的文本：最后一稿，不征求意见。")
    )
    published_at = models.DateTimeField(
        _("发布时间"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("协调人员确认全部条款对应关系并发布后，公众才能看到本稿。"),
    )
    # Kept here, not only on reports.AdoptionReport, so that comments (a lower layer) can tell
    # whether the answers to this revision's comments are public.
    report_published_at = models.DateTimeField(
        _("采纳情况公布时间"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "对本稿所提意见的采纳情况公布的时间；自此，对本稿意见的答复随公开的意见一并公开。"
        ),
    )
    created_at = models.DateTimeField(_("导入时间"), default=timezone.now, editable=False)

    objects = RevisionQuerySet.as_manager()

    class Meta:
        verbose_name = _("修改稿")
        verbose_name_plural = _("修改稿")
        ordering = ["consultation", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "number"], name="revision_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(opens_at__isnull=True, closes_at__isnull=True)
                | Q(closes_at__gt=models.F("opens_at")),
                name="revision_period_whole",
            ),
            models.CheckConstraint(
                condition=Q(is_final=False) | Q(opens_at__isnull=True),
                name="revision_final_has_no_period",
            ),
        ]

    def __str__(self):
        return f"{self.consultation} · {self.label}"

    def get_absolute_url(self):
        return reverse(
            "intake:revision", kwargs={"slug": self.consultation.slug, "number": self.number}
        )

    @property
    def label(self) -> str:
        if self.is_final:
            return _("正式文本")
        if self.number == 1:
            return _("征求意见稿")
        return _("第%(number)s稿") % {"number": self.number}

    @property
    def has_period(self) -> bool:
        return self.opens_at is not None

    @property
    def answer_deadline(self):
        """When the answers to the comments on this draft are due (`answer_deadline_of`)."""
        return self.consultation.answer_deadline_of(self)


def consultation_without_texts(slug: str) -> "Consultation | None":
    """The consultation with this slug, without the notice's text (as `without_texts()`), or
    None.

    The comment API reads it on every submission: its SELECT is compiled once per process and
    database, not by the ORM on each request (a tenth of a comment's CPU).
    """
    alias = router.db_for_read(Consultation)
    connection = connections[alias]
    sql, names, converters = _without_texts_statement(alias)
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, [slug])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for position, expression in converters:
        # This thread's connection's own, asked for only by the columns that need some.
        for convert in _converters_of(expression, connection):
            values[position] = convert(values[position], expression, connection)
    return Consultation.from_db(alias, names, values)


def _converters_of(expression, connection) -> list:
    """What the ORM's compiler applies to a column it reads (SQLite's dates, for one)."""
    return connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)


@functools.cache
def _without_texts_statement(alias: str):
    connection = connections[alias]
    quote = connection.ops.quote_name
    meta = Consultation._meta
    fields = [field for field in meta.concrete_fields if field.name not in CONSULTATION_TEXTS]
    columns = ", ".join(quote(field.column) for field in fields)
    table = quote(Consultation._meta.db_table)
    slug = quote(Consultation._meta.get_field("slug").column)
    converters = []
    for position, field in enumerate(fields):
        expression = field.get_col(Consultation._meta.db_table)
        if _converters_of(expression, connection):
            converters.append((position, expression))
    # Names from the model's meta, quoted; the slug goes as a parameter.
    sql = f"SELECT {columns} FROM {table} WHERE {slug} = %s"  # noqa: S608
    return sql, [field.attname for field in fields], converters


def _to_second(moment):
    return moment.replace(microsecond=0)


def period_over_at(closes_at, moment) -> bool:
    """A comment period ends after the whole second of its close (23:59:59 takes comments
    until 23:59:59.999…): what accepts comments and what waits for the close agree."""
    return _to_second(moment) > closes_at


class ClauseQuerySet(models.QuerySet):
    def public(self):
        """The clauses of the drafts published: an imported revision's text, its headings
        included, is the bureau's until it publishes it."""
        return self.filter(revision__published_at__isnull=False)


class Clause(models.Model):
    class Level(models.TextChoices):
        CHAPTER = "chapter", _("章")
        SECTION = "section", _("节")
        ARTICLE = "article", _("条")
        CN = "cn", _("一、")
        PAREN = "paren", _("(一)")
        ARABIC = "arabic", _("1.")

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="clauses", verbose_name=_("征求意见")
    )
    revision = models.ForeignKey(
        Revision, on_delete=models.CASCADE, related_name="clauses", verbose_name=_("所属文本")
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上级条款"),
    )
    position = models.PositiveIntegerField(_("序号"), help_text=_("在同级条款中的次序。"))
    path = models.CharField(
        _("树路径"),
        max_length=200,
        help_text=_("按文档顺序排序用，如“0002.0001.0001”。"),
    )
    number = models.CharField(
        _("编号"), max_length=30, help_text=_("原文写法，如“(一)”或“第一条”。")
    )
    label = models.CharField(
        _("完整编号"), max_length=100, help_text=_("连同上级编号，如“二(一)1”。")
    )
    level = models.CharField(_("编号层级"), max_length=16, choices=Level)
    heading = models.CharField(_("标题"), max_length=300, blank=True)
    text = models.TextField(_("正文"), blank=True)
    departments = models.ManyToManyField(
        Department,
        through="ClauseResponsibility",
        related_name="clauses",
        verbose_name=_("责任部门"),
        blank=True,
    )

    objects = ClauseQuerySet.as_manager()

    class Meta:
        verbose_name = _("条款")
        verbose_name_plural = _("条款")
        ordering = ["consultation", "revision", "path"]
        constraints = [
            models.UniqueConstraint(fields=["revision", "path"], name="clause_unique_path"),
        ]

    def __str__(self):
        return f"{self.label} {self.heading}".strip()

    @property
    def printed_number(self) -> str:
        """The number as an official document prints it (GB/T 9704): "一、", "（一）", "1．",
        "第一条"; the importer keeps the bare number ("一", "(一)", "1")."""
        number = (self.number or "").strip()
        if self.level == self.Level.PAREN:
            return "（" + number.strip("()（）") + "）"
        suffix = {self.Level.CN: "、", self.Level.ARABIC: "．"}.get(self.level, "")
        return number if not suffix or number.endswith(("、", ".", "．")) else number + suffix

    @property
    def depth(self):
        return self.path.count(".")


def clause_or_whole_draft(
    *, on_delete, related_name: str, db_index: bool = True
) -> models.ForeignKey:
    """A link to the clause something is about; empty means the whole draft (全文).
    `db_index=False` when an index of the model leads with it already."""
    return models.ForeignKey(
        Clause,
        on_delete=on_delete,
        null=True,
        blank=True,
        db_index=db_index,
        related_name=related_name,
        verbose_name=_("条款"),
        help_text=_("为空表示对全文的意见。"),
    )


class ClauseResponsibility(models.Model):
    """A name in a clause's responsibility parenthesis, in document order.

    Generic groups (各县市区人民政府, 市有关部门) are kept as written with no department:
    they have no mailbox, so routing passes them by, but staff still see them.
    """

    class Role(models.TextChoices):
        LEAD = "lead", _("牵头")
        COOPERATING = "cooperating", _("配合")

    clause = models.ForeignKey(
        Clause, on_delete=models.CASCADE, related_name="responsibilities", verbose_name=_("条款")
    )
    position = models.PositiveIntegerField(_("次序"))
    role = models.CharField(_("职责"), max_length=16, choices=Role)
    name = models.CharField(_("原文写法"), max_length=200)
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="responsibilities",
        verbose_name=_("部门"),
        help_text=_("泛指的单位（如“市有关部门”）为空。"),
    )

    class Meta:
        verbose_name = _("条款责任单位")
        verbose_name_plural = _("条款责任单位")
        ordering = ["clause", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["clause", "position"], name="responsibility_unique_position"
            ),
        ]

    def __str__(self):
        return self.name + gettext("（%(role)s）") % {"role": self.get_role_display()}

    @property
    def is_generic_group(self):
        return self.department_id is None


class ClauseLink(models.Model):
    """What became of a clause from one revision to the next: kept, reworded, renumbered,
    split, merged, dropped, or new. Proposed with a score when the revision is imported;
    confirmed (or corrected) by a coordinator before the revision is published.
    """

    class Kind(models.TextChoices):
        KEPT = "kept", _("保留")
        REWORDED = "reworded", _("修改")
        RENUMBERED = "renumbered", _("调整序号")
        SPLIT = "split", _("拆分")
        MERGED = "merged", _("合并")
        NEW = "new", _("新增")
        DROPPED = "dropped", _("删除")

    revision = models.ForeignKey(
        Revision, on_delete=models.CASCADE, related_name="links", verbose_name=_("修改稿")
    )
    old = models.ForeignKey(
        Clause,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="links_forward",
        verbose_name=_("原条款"),
        help_text=_("上一稿中的条款；新增条款为空。"),
    )
    new = models.ForeignKey(
        Clause,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="links_back",
        verbose_name=_("新条款"),
        help_text=_("本稿中的条款；删除的条款为空。"),
    )
    kind = models.CharField(_("变化"), max_length=16, choices=Kind)
    score = models.FloatField(
        _("相似度"), default=1.0, help_text=_("自动比对的把握程度，0 到 1；人工指定为 1。")
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("确认人"),
    )
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("条款对应关系")
        verbose_name_plural = _("条款对应关系")
        ordering = ["revision", "new__path", "old__path"]
        constraints = [
            models.CheckConstraint(
                condition=Q(old__isnull=False) | Q(new__isnull=False), name="link_has_a_clause"
            ),
            models.CheckConstraint(
                condition=(Q(kind="new") & Q(old__isnull=True))
                | (Q(kind="dropped") & Q(new__isnull=True))
                | (~Q(kind__in=["new", "dropped"]) & Q(old__isnull=False, new__isnull=False)),
                name="link_kind_matches_clauses",
            ),
            models.UniqueConstraint(fields=["revision", "old", "new"], name="link_unique"),
        ]

    def __str__(self):
        old = self.old.label if self.old_id else "—"
        new = self.new.label if self.new_id else "—"
        return f"{old} → {new}" + gettext("（%(label)s）") % {"label": self.get_kind_display()}

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None
