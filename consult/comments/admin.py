"""The triage queue: department-scoped lists, working a comment, its history.

Every change goes through `workflow.comment_work`; this module only presents it.
"""

import io

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q, Subquery
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from consult.consultations.models import Clause, Department

from .access import comments_visible_to, user_department_ids
from .attachments import clean_attachment
from .exports import CONTENT_TYPES, WRITERS, export_rows, export_start, may_export_personal
from .models import (
    Attachment,
    Campaign,
    Comment,
    CommentEvent,
    CommentRouting,
    CooperatingOpinion,
    Export,
)
from .privacy import mask_email, mask_name, mask_phone
from .services import comment_record_received, received_check
from .validation import clean_body, clean_phone
from .workflow import Work, comment_work, standing, work_problems

OPEN = [Comment.Status.PENDING, Comment.Status.IN_PROGRESS]


class CappedCountPaginator(Paginator):
    """Counts at most `cap` + 1 rows, so a list over a million comments never pays for a full
    COUNT(*) on every page; beyond the cap people narrow the filters."""

    cap = 1_000

    @cached_property
    def count(self):
        # Only the ids, in no order: neither the list's per-row annotations nor its sort are
        # worth computing to count (ordered, the database walks the date index to count).
        return self.object_list.order_by().values("pk")[: self.cap + 1].count()

    @property
    def count_capped(self):
        return self.count > self.cap


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CommentRoutingInline(ReadOnlyInline):
    model = CommentRouting
    fields = readonly_fields = ["department", "role", "is_owner", "created_at"]


class CooperatingOpinionInline(ReadOnlyInline):
    model = CooperatingOpinion
    fields = readonly_fields = ["department", "text", "author", "updated_at"]


class CommentEventInline(ReadOnlyInline):
    model = CommentEvent
    verbose_name_plural = _("办理记录")
    fields = readonly_fields = ["at", "actor", "kind", "department", "before", "after", "text"]


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = readonly_fields = ["download", "content_type", "size", "uploaded_at"]

    @admin.display(description=_("文件"))
    def download(self, attachment):
        url = reverse("comments:attachment_download", args=[attachment.pk])
        return format_html('<a href="{}">{}</a>', url, attachment.original_name)


class ScopeFilter(admin.SimpleListFilter):
    """The queue opens on the user's own open comments; "all" shows everything visible."""

    title = _("范围")
    parameter_name = "scope"

    def lookups(self, request, model_admin):
        return [("mine", _("我的待办")), ("all", _("全部可见的意见"))]

    def choices(self, changelist):
        current = self.value() or "mine"
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        if (self.value() or "mine") != "mine":
            return queryset
        queryset = queryset.filter(status__in=OPEN)
        if request.user.is_superuser:
            return queryset
        mine = CommentRouting.objects.filter(
            comment=OuterRef("pk"), department_id__in=user_department_ids(request.user)
        )
        return queryset.filter(Exists(mine))


class ClauseFilter(admin.SimpleListFilter):
    """Clauses of the consultation chosen in the consultation filter (choose that first)."""

    title = _("条款")
    parameter_name = "clause"

    def lookups(self, request, model_admin):
        consultation = request.GET.get("consultation__id__exact")
        if not (consultation or "").isdigit():
            return []
        return [
            (str(pk), f"{label} {heading}".strip()[:40])
            for pk, label, heading in Clause.objects.filter(consultation_id=consultation)
            .order_by("path")
            .values_list("pk", "label", "heading")
        ]

    def queryset(self, request, queryset):
        if (self.value() or "").isdigit():
            return queryset.filter(clause_id=self.value())
        return queryset


class DepartmentFilter(admin.SimpleListFilter):
    title = _("部门")
    parameter_name = "department"

    def lookups(self, request, model_admin):
        return list(Department.objects.active().values_list("pk", "name"))

    def queryset(self, request, queryset):
        if (self.value() or "").isdigit():
            routed = CommentRouting.objects.filter(comment=OuterRef("pk"), department=self.value())
            return queryset.filter(Exists(routed))
        return queryset


class RoleFilter(admin.SimpleListFilter):
    title = _("我的职责")
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [("owner", _("负责答复")), *CommentRouting.Role.choices]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        routes = CommentRouting.objects.filter(
            comment=OuterRef("pk"), department_id__in=user_department_ids(request.user)
        )
        routes = routes.filter(is_owner=True) if value == "owner" else routes.filter(role=value)
        return queryset.filter(Exists(routes))


class ContactFilter(admin.SimpleListFilter):
    title = _("留有联系方式")
    parameter_name = "contact"

    def lookups(self, request, model_admin):
        return [("yes", _("是")), ("no", _("否"))]

    def queryset(self, request, queryset):
        has_contact = ~Q(phone="") | ~Q(email="")
        if self.value() == "yes":
            return queryset.filter(has_contact)
        if self.value() == "no":
            return queryset.exclude(has_contact)
        return queryset


class CommentWorkForm(forms.ModelForm):
    """The change form's editable part: the request to `comment_work`, not the model's fields."""

    status = forms.ChoiceField(label=_("状态"), choices=Comment.Status.choices)
    decision = forms.ChoiceField(
        label=_("处理意见"), choices=[("", "—"), *Comment.Decision.choices], required=False
    )
    decision_reason = forms.CharField(
        label=_("理由"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    reply = forms.CharField(
        label=_("答复"),
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        help_text=_("给提交人的答复：答复后通过邮件发送（如留有邮箱），并在办理情况查询中显示。"),
    )
    invalid_reason = forms.CharField(label=_("无效原因"), required=False, max_length=300)
    opinion = forms.CharField(
        label=_("配合意见"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("配合单位填写，负责答复的单位可以看到。"),
    )
    waive_reason = forms.CharField(
        label=_("不等待配合意见的理由"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    route_to = forms.ModelChoiceField(
        label=_("转办或增加单位"), queryset=Department.objects.active(), required=False
    )
    make_owner = forms.BooleanField(label=_("由该单位负责答复（转办）"), required=False)
    route_reason = forms.CharField(label=_("转办理由"), required=False, max_length=500)
    note = forms.CharField(
        label=_("内部备注"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("仅工作人员可见。"),
    )

    class Meta:
        model = Comment
        fields = []

    user = None  # set by CommentAdmin.get_form
    WORKED_FIELDS = ("status", "decision", "decision_reason", "reply", "invalid_reason")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The admin builds this form with these names as model fields, so the instance is
        # overwritten when the form is validated: keep what they were to see what changed.
        self.saved = {name: getattr(self.instance, name) for name in self.WORKED_FIELDS}
        for name, value in self.saved.items():
            self.fields[name].initial = value

    def work(self) -> Work:
        data = self.cleaned_data

        def changed(name):
            value = data.get(name) or ""
            return value if value != self.saved[name] else ""

        return Work(
            status=changed("status"),
            decision=changed("decision"),
            decision_reason=changed("decision_reason"),
            reply=changed("reply"),
            invalid_reason=changed("invalid_reason"),
            note=data.get("note", ""),
            opinion=data.get("opinion", ""),
            waive_reason=data.get("waive_reason", ""),
            route_to=data.get("route_to"),
            make_owner=bool(data.get("make_owner")),
            route_reason=data.get("route_reason", ""),
        )

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            comment = Comment.objects.get(pk=self.instance.pk)
            for field, problems in work_problems(comment, self.user, self.work()).items():
                self.add_error(field, problems)
        return cleaned


class ReceivedCommentForm(forms.ModelForm):
    """A comment received by letter, email or at a meeting, typed in by staff."""

    attachment = forms.FileField(
        label=_("扫描件或原始邮件"),
        required=False,
        help_text=_("PDF、Word、JPG、PNG，或保存的邮件（.eml），不超过 10 MB。"),
    )

    class Meta:
        model = Comment
        fields = [
            "consultation",
            "clause",
            "channel",
            "received_on",
            "body",
            "submitter_name",
            "submitter_kind",
            "organisation",
            "phone",
            "email",
            "wants_reply",
        ]

    user = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [
            (value, label)
            for value, label in Comment.Channel.choices
            if value in (Comment.Channel.LETTER, Comment.Channel.EMAIL, Comment.Channel.IMPORT)
        ]
        self.fields["received_on"].required = True
        self.fields["clause"].queryset = Clause.objects.select_related("consultation").order_by(
            "consultation", "path"
        )
        self.attachment_type = ""

    def clean_body(self):
        return clean_body(self.cleaned_data["body"])

    def clean_phone(self):
        return clean_phone(self.cleaned_data.get("phone", ""))

    def clean_attachment(self):
        upload = self.cleaned_data.get("attachment")
        if upload:
            self.attachment_type = clean_attachment(upload, allow_email=True)
        return upload

    def clean(self):
        cleaned = super().clean()
        consultation, clause = cleaned.get("consultation"), cleaned.get("clause")
        if consultation and clause and clause.consultation_id != consultation.pk:
            self.add_error("clause", _("这一条款不属于所选的征求意见。"))
        if consultation and cleaned.get("received_on"):
            try:
                received_check(consultation, cleaned["received_on"])
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned

    def _post_clean(self):
        """The comment is created by the service, not by saving this form's instance."""


class BulkActionForm(helpers.ActionForm):
    decision = forms.ChoiceField(
        label=_("处理意见"), choices=[("", "—"), *Comment.Decision.choices], required=False
    )
    text = forms.CharField(label=_("答复或理由"), required=False)
    department = forms.ModelChoiceField(
        label=_("单位"), queryset=Department.objects.active(), required=False
    )


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    form = CommentWorkForm
    action_form = BulkActionForm
    paginator = CappedCountPaginator
    list_display = [
        "tracking_number",
        "clause_display",
        "excerpt",
        "status",
        "decision",
        "my_role",
        "campaign_display",
        "submitted_at",
        "age",
    ]
    list_filter = [
        ScopeFilter,
        "status",
        "decision",
        "consultation",
        ClauseFilter,
        DepartmentFilter,
        RoleFilter,
        ContactFilter,
        ("campaign", admin.EmptyFieldListFilter),
        "channel",
        ("submitted_at", admin.DateFieldListFilter),
    ]
    search_fields = ["=tracking_number", "body"]
    list_select_related = ["consultation", "clause", "campaign"]
    date_hierarchy = "submitted_at"
    list_per_page = 50
    show_full_result_count = False
    inlines = [
        CommentRoutingInline,
        CooperatingOpinionInline,
        AttachmentInline,
        CommentEventInline,
    ]
    actions = [
        "export_csv",
        "export_xlsx",
        "bulk_start",
        "bulk_decide",
        "bulk_answer",
        "bulk_mark_invalid",
        "bulk_add_department",
    ]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (
                    _("收到的意见"),
                    {"fields": ["consultation", "clause", "channel", "received_on", "body"]},
                ),
                (
                    _("提交人"),
                    {
                        "fields": [
                            "submitter_name",
                            "submitter_kind",
                            "organisation",
                            "phone",
                            "email",
                            "wants_reply",
                        ]
                    },
                ),
                (_("附件"), {"fields": ["attachment"]}),
            ]
        return [
            (
                _("意见"),
                {
                    "fields": [
                        "tracking_number",
                        "consultation",
                        "clause",
                        "body",
                        "channel",
                        "submitted_at",
                    ]
                },
            ),
            (_("提交人"), {"fields": ["submitter", "contact", "submitter_kind", "consent_at"]}),
            (
                _("办理"),
                {"fields": ["status", "decision", "decision_reason", "reply", "invalid_reason"]},
            ),
            (_("配合意见"), {"fields": ["opinion", "waive_reason"]}),
            (_("转办"), {"fields": ["route_to", "make_owner", "route_reason"]}),
            (_("备注"), {"fields": ["note"]}),
        ]

    readonly_fields = [
        "tracking_number",
        "consultation",
        "clause",
        "body",
        "channel",
        "submitted_at",
        "submitter",
        "contact",
        "submitter_kind",
        "consent_at",
    ]

    def has_add_permission(self, request):
        return request.user.has_perm("comments.add_comment")

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        # Comments are records of public participation: they are marked invalid, not deleted.
        return request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ReceivedCommentForm
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    def get_queryset(self, request):
        queryset = comments_visible_to(request.user, super().get_queryset(request))
        mine = CommentRouting.objects.filter(
            comment=OuterRef("pk"), department_id__in=user_department_ids(request.user)
        ).order_by("-is_owner", "position")
        return queryset.annotate(
            my_role_value=Subquery(mine.values("role")[:1]),
            my_ownership=Subquery(mine.values("is_owner")[:1]),
        )

    def save_model(self, request, obj, form, change):
        if change:
            comment_work(obj, request.user, form.work())
            return
        data = form.cleaned_data
        comment = comment_record_received(
            consultation=data["consultation"],
            clause=data.get("clause"),
            body=data["body"],
            channel=data["channel"],
            received_on=data["received_on"],
            recorded_by=request.user,
            submitter_name=data.get("submitter_name", ""),
            submitter_kind=data.get("submitter_kind") or Comment.Kind.INDIVIDUAL,
            organisation=data.get("organisation", ""),
            phone=data.get("phone", ""),
            email=data.get("email", ""),
            wants_reply=bool(data.get("wants_reply")),
            attachment=data.get("attachment"),
            attachment_type=form.attachment_type,
        )
        # The admin's redirect and its log entry ("added …") refer to this object.
        obj.pk, obj.tracking_number = comment.pk, comment.tracking_number

    def save_related(self, request, form, formsets, change):
        """Inlines are read-only; nothing to save."""

    def construct_change_message(self, request, form, formsets, add=False):
        return [{"changed": {"fields": ["workflow"]}}]

    # Columns ---------------------------------------------------------------------------
    @admin.display(description=_("条款"), ordering="clause__path")
    def clause_display(self, comment):
        return comment.clause_label

    @admin.display(description=_("摘要"))
    def excerpt(self, comment):
        return comment.body[:40] + ("…" if len(comment.body) > 40 else "")

    @admin.display(description=_("我的职责"))
    def my_role(self, comment):
        label = dict(CommentRouting.Role.choices).get(comment.my_role_value, "—")
        # The department that answers sees its role in bold.
        return format_html("<strong>{}</strong>", label) if comment.my_ownership else label

    @admin.display(description=_("模板意见"))
    def campaign_display(self, comment):
        if comment.campaign is None:
            return ""
        url = reverse("admin:comments_comment_changelist")
        return format_html(
            '<a href="{}?scope=all&campaign__id__exact={}" title="{}">#{} · {}</a>',
            url,
            comment.campaign_id,
            _("打开这组模板意见，可全选后一并答复"),
            comment.campaign_id,
            comment.campaign.size,
        )

    @admin.display(description=_("已过天数"), ordering="submitted_at")
    def age(self, comment):
        days = (timezone.now() - comment.submitted_at).days
        overdue = comment.status in OPEN and timezone.now() > comment.consultation.answer_deadline
        if overdue:
            return format_html(
                '<span class="overdue" style="color:#b00">{}（{}）</span>', days, _("逾期")
            )
        return days

    # Personal data: in full for the owner, coordinators and superusers; masked otherwise.
    def get_object(self, request, object_id, from_field=None):
        comment = super().get_object(request, object_id, from_field)
        if comment is not None:
            me = standing(request.user, comment)
            comment.contact_visible = me.superuser or me.owner or me.coordinator
        return comment

    @admin.display(description=_("提交人"))
    def submitter(self, comment):
        name = comment.submitter_name or "—"
        if not getattr(comment, "contact_visible", False):
            name = mask_name(comment.submitter_name) or "—"
        return f"{name}（{comment.organisation}）" if comment.organisation else name

    @admin.display(description=_("联系方式"))
    def contact(self, comment):
        phone, email = comment.phone, comment.email
        if not getattr(comment, "contact_visible", False):
            phone, email = mask_phone(phone), mask_email(email)
        return " · ".join(value for value in (phone, email) if value) or "—"

    # Bulk actions ------------------------------------------------------------------------
    def _bulk(self, request, queryset, work: Work, done_message):
        done, refused = 0, []
        for comment in queryset:
            try:
                comment_work(comment, request.user, work)
                done += 1
            except (ValidationError, PermissionDenied) as error:
                reason = "；".join(getattr(error, "messages", [str(error)]))
                refused.append(f"{comment.tracking_number}：{reason}")
        if done:
            self.message_user(request, done_message(done), messages.SUCCESS)
        for line in refused[:20]:
            self.message_user(request, line, messages.WARNING)
        if len(refused) > 20:
            self.message_user(
                request,
                _("另有 %(count)d 条未能处理。") % {"count": len(refused) - 20},
                messages.WARNING,
            )

    def _action_inputs(self, request) -> dict:
        """The decision, text and department typed beside the action, validated once."""
        form = self.action_form(request.POST)
        form.fields["action"].choices = self.get_action_choices(request)
        inputs = form.cleaned_data if form.is_valid() else {}
        return {
            "decision": inputs.get("decision") or "",
            "text": inputs.get("text") or "",
            "department": inputs.get("department"),
        }

    def _export(self, request, queryset, fmt):
        total = queryset.count()
        if total > settings.EXPORT_INLINE_ROWS:
            export_start(queryset, request.user, fmt)
            url = reverse("admin:comments_export_changelist")
            self.message_user(
                request,
                format_html(
                    _('共 {} 条，正在后台生成导出文件；完成后可在<a href="{}">导出</a>中下载。'),
                    total,
                    url,
                ),
                messages.INFO,
            )
            return None
        buffer = io.BytesIO()
        WRITERS[fmt](export_rows(queryset, may_export_personal(request.user)), buffer)
        response = HttpResponse(buffer.getvalue(), content_type=CONTENT_TYPES[fmt])
        name = f"comments-{timezone.localtime():%Y%m%d-%H%M%S}.{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "private, no-store"
        return response

    @admin.action(description=_("导出为 CSV"))
    def export_csv(self, request, queryset):
        return self._export(request, queryset, "csv")

    @admin.action(description=_("导出为 Excel（XLSX）"))
    def export_xlsx(self, request, queryset):
        return self._export(request, queryset, "xlsx")

    @admin.action(description=_("开始处理（改为处理中）"))
    def bulk_start(self, request, queryset):
        self._bulk(
            request,
            queryset,
            Work(status=Comment.Status.IN_PROGRESS),
            lambda n: ngettext("%d 条意见改为处理中。", "%d 条意见改为处理中。", n) % n,
        )

    @admin.action(description=_("设置处理意见（选择处理意见，理由填入文本框）"))
    def bulk_decide(self, request, queryset):
        inputs = self._action_inputs(request)
        if not inputs["decision"]:
            self.message_user(request, _("请先选择处理意见。"), messages.ERROR)
            return
        self._bulk(
            request,
            queryset,
            Work(decision=inputs["decision"], decision_reason=inputs["text"]),
            lambda n: (
                ngettext("已为 %d 条意见设置处理意见。", "已为 %d 条意见设置处理意见。", n) % n
            ),
        )

    @admin.action(description=_("以同一答复答复所选意见（答复填入文本框）"))
    def bulk_answer(self, request, queryset):
        inputs = self._action_inputs(request)
        self._bulk(
            request,
            queryset,
            Work(status=Comment.Status.ANSWERED, reply=inputs["text"], decision=inputs["decision"]),
            lambda n: ngettext("已答复 %d 条意见。", "已答复 %d 条意见。", n) % n,
        )

    @admin.action(description=_("标记为无效（原因填入文本框）"))
    def bulk_mark_invalid(self, request, queryset):
        text = self._action_inputs(request)["text"]
        self._bulk(
            request,
            queryset,
            Work(status=Comment.Status.INVALID, invalid_reason=text),
            lambda n: ngettext("已将 %d 条意见标记为无效。", "已将 %d 条意见标记为无效。", n) % n,
        )

    @admin.action(description=_("增加配合单位（选择单位，理由填入文本框）"))
    def bulk_add_department(self, request, queryset):
        inputs = self._action_inputs(request)
        if inputs["department"] is None:
            self.message_user(request, _("请先选择单位。"), messages.ERROR)
            return
        self._bulk(
            request,
            queryset,
            Work(route_to=inputs["department"], route_reason=inputs["text"]),
            lambda n: (
                ngettext("已为 %d 条意见增加配合单位。", "已为 %d 条意见增加配合单位。", n) % n
            ),
        )


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["__str__", "consultation", "size", "first_excerpt", "created_at", "open_link"]
    list_filter = ["consultation"]
    list_select_related = ["consultation", "first_comment"]
    readonly_fields = ["consultation", "first_comment", "size", "created_at"]
    show_full_result_count = False

    def get_queryset(self, request):
        visible = comments_visible_to(request.user).filter(campaign=OuterRef("pk"))
        return super().get_queryset(request).filter(Exists(visible))

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("最早的一条"))
    def first_excerpt(self, campaign):
        body = campaign.first_comment.body if campaign.first_comment else ""
        return body[:60] + ("…" if len(body) > 60 else "")

    @admin.display(description=_("意见"))
    def open_link(self, campaign):
        url = reverse("admin:comments_comment_changelist")
        return format_html(
            '<a href="{}?scope=all&campaign__id__exact={}">{}</a>',
            url,
            campaign.pk,
            _("查看并答复"),
        )


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    """The user's own exports, with progress while a task builds them."""

    list_display = [
        "__str__",
        "status",
        "progress_display",
        "total",
        "include_personal",
        "download",
    ]
    list_filter = ["status", "format"]
    readonly_fields = ["format", "status", "total", "rows_done", "include_personal", "error"]
    fields = readonly_fields

    def get_queryset(self, request):
        exports = super().get_queryset(request)
        return exports if request.user.is_superuser else exports.filter(user=request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    @admin.display(description=_("进度"))
    def progress_display(self, export):
        return format_html(
            '<progress max="100" value="{}"></progress> {}%', export.progress, export.progress
        )

    @admin.display(description=_("下载"))
    def download(self, export):
        if export.status != Export.Status.DONE:
            return ""
        return format_html(
            '<a href="{}">{}</a>', reverse("comments:export_download", args=[export.pk]), _("下载")
        )


@admin.register(CommentEvent)
class CommentEventAdmin(admin.ModelAdmin):
    list_display = ["at", "comment", "kind", "actor", "department", "before", "after"]
    list_filter = ["kind"]
    list_select_related = ["comment", "actor", "department"]
    search_fields = ["=comment__tracking_number"]
    show_full_result_count = False

    def get_queryset(self, request):
        visible = comments_visible_to(request.user)
        return super().get_queryset(request).filter(comment__in=visible)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
