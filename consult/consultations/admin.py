"""Admin for departments, consultations and their clause trees."""

import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from consult.comments.access import consultations_coordinated_by_user
from consult.comments.revision_outcomes import revision_publish
from consult.notices.importer import (
    LAST_SECOND,
    NoticeEncodingError,
    NoticeImportError,
    notice_error_text,
    notice_text_decode,
    revision_import,
)
from consult.notices.lineage import CONFIDENT
from consult.notices.parser import NoticeParseError, parse_notice
from consult.querystring import UsableLookupValues
from consult.reports.admin import refusal_line
from consult.reports.services import report_generate, report_publish, report_revision
from consult.web.admin_site import InvisibleCharactersRefused
from consult.web.stale_edits import ShownValuesAdmin

from .models import (
    Clause,
    ClauseLink,
    ClauseResponsibility,
    Consultation,
    Department,
    DepartmentAlias,
    Mailbox,
    Membership,
    Revision,
)
from .revisions import (
    link_correct,
    link_drop,
    links_confirm,
    revision_before,
    revision_delete,
    revision_first,
    revision_period_set,
)
from .services import department_staff_groups_set, staff_groups_set


class DepartmentAliasInline(InvisibleCharactersRefused, admin.TabularInline):
    model = DepartmentAlias
    extra = 0


class MailboxInline(InvisibleCharactersRefused, admin.TabularInline):
    model = Mailbox
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Department)
class DepartmentAdmin(InvisibleCharactersRefused, UsableLookupValues, admin.ModelAdmin):
    list_display = ["name", "full_name", "mailbox_list", "digest_mode", "is_active"]
    list_filter = ["is_active", "digest_mode"]
    search_fields = ["name", "full_name", "aliases__name", "mailboxes__email"]
    inlines = [DepartmentAliasInline, MailboxInline, MembershipInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("mailboxes")

    def delete_model(self, request, obj):
        members = list({membership.user for membership in obj.memberships.select_related("user")})
        super().delete_model(request, obj)
        for user in members:
            staff_groups_set(user)

    def delete_queryset(self, request, queryset):
        members = list(
            {
                m.user
                for m in Membership.objects.filter(department__in=queryset).select_related("user")
            }
        )
        super().delete_queryset(request, queryset)
        for user in members:
            staff_groups_set(user)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is Membership:
            # A member added here can sign in and work at once, as one added by staff_join;
            # one removed or moved keeps no group it no longer has a reason for.
            changed = [membership for membership, _fields in formset.changed_objects]
            users = {m.user for m in formset.new_objects + changed + formset.deleted_objects}
            for form_ in formset.initial_forms:
                if "user" in form_.changed_data and form_.initial.get("user"):
                    users.add(get_user_model().objects.get(pk=form_.initial["user"]))
            for user in users:
                staff_groups_set(user)

    @admin.display(description=_("通知邮箱"))
    def mailbox_list(self, department):
        return ", ".join(m.email for m in department.mailboxes.all()) or "—"


@admin.register(Membership)
class MembershipAdmin(UsableLookupValues, admin.ModelAdmin):
    list_display = ["user", "department", "role"]
    list_filter = ["role", "department"]
    search_fields = ["user__username", "department__name"]
    autocomplete_fields = ["user", "department"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        staff_groups_set(obj.user)
        if change and "user" in form.changed_data and form.initial.get("user"):
            staff_groups_set(get_user_model().objects.get(pk=form.initial["user"]))

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        staff_groups_set(obj.user)

    def delete_queryset(self, request, queryset):
        users = list({membership.user for membership in queryset.select_related("user")})
        super().delete_queryset(request, queryset)
        for user in users:
            staff_groups_set(user)


def responsibility_summary(clause):
    """“牵头：A、B；配合：C” for a clause whose responsibilities are prefetched."""
    parts = []
    for role, label in ClauseResponsibility.Role.choices:
        names = [r.name for r in clause.responsibilities.all() if r.role == role]
        if names:
            parts.append(f"{label}{gettext('：')}{gettext('、').join(names)}")
    return gettext("；").join(parts) or "—"


class ClauseInline(admin.TabularInline):
    model = Clause
    fields = ["revision_label", "label", "heading", "responsibilities_display"]
    readonly_fields = ["revision_label", "label", "heading", "responsibilities_display"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("revision")
            .prefetch_related("responsibilities")
            .order_by("revision__number", "path")
        )

    @admin.display(description=_("所属文本"))
    def revision_label(self, clause):
        return clause.revision.label

    @admin.display(description=_("责任单位"))
    def responsibilities_display(self, clause):
        return responsibility_summary(clause)


@admin.register(Consultation)
class ConsultationAdmin(
    InvisibleCharactersRefused, ShownValuesAdmin, UsableLookupValues, admin.ModelAdmin
):
    list_display = [
        "title",
        "issuer",
        "opens_at",
        "closes_at",
        "status_display",
        "comment_count",
        "dashboard_link",
    ]
    list_filter = ["issuer"]
    search_fields = ["title", "slug", "reference_number"]
    prepopulated_fields = {}
    readonly_fields = ["report_published_at", "created_at", "updated_at", "revisions_display"]
    date_hierarchy = "closes_at"
    inlines = [ClauseInline]
    actions = ["generate_report", "publish_report"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "title",
                    "slug",
                    "issuer",
                    "reference_number",
                    "draft_title",
                    # Publishing a later draft moves the period and the text: a page opened
                    # before it must not put them back (ShownValuesForm).
                    "values_shown",
                ]
            },
        ),
        (_("征求意见期"), {"fields": ["published_on", "opens_at", "closes_at", "answer_days"]}),
        (_("联系方式"), {"fields": ["contact_name", "contact_phone", "contact_email"]}),
        (_("修改稿"), {"fields": ["revisions_display"]}),
        (
            _("内容"),
            {"fields": ["preamble", "responsibility_remarks", "real_names_required"]},
        ),
        (
            _("原文与记录"),
            {
                "classes": ["collapse"],
                "fields": ["source_text", "report_published_at", "created_at", "updated_at"],
            },
        ),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("issuer")
            .annotate(comment_total=Count("comments"))
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            # Its first draft, as an imported notice has: what reports, revisions and the
            # retention purge count from (without it, its comments' personal data was kept
            # for good).
            revision_first(obj)
        if not change or "issuer" in form.changed_data:
            department_staff_groups_set(obj.issuer_id)
            if change and form.initial.get("issuer"):
                department_staff_groups_set(form.initial["issuer"])

    @admin.display(description=_("状态"))
    def status_display(self, consultation):
        return consultation.status.label

    @admin.display(description=_("看板"))
    def dashboard_link(self, consultation):
        url = reverse("comments:consultation_dashboard", args=[consultation.slug])
        return format_html('<a href="{}">{}</a>', url, _("办理看板"))

    # Every department's: a department's own are in its queue (staff of one read 8 here and
    # found 3 there, under the same name).
    @admin.display(description=_("收到意见总数"), ordering="comment_total")
    def comment_count(self, consultation):
        return consultation.comment_total

    @admin.display(description=_("各稿"))
    def revisions_display(self, consultation):
        if consultation.pk is None:
            return "—"
        rows = format_html_join(
            "",
            "<li>{} · {}{}</li>",
            (
                (
                    revision.label,
                    _("已发布") if revision.published_at else _("未发布"),
                    format_html(
                        ' · <a href="{}">{}</a>',
                        reverse("admin:consultations_revision_links", args=[revision.pk]),
                        _("条款对应关系"),
                    )
                    if revision.number > 1
                    else "",
                )
                for revision in consultation.revisions.order_by("number")
            ),
        )
        url = reverse("admin:consultations_consultation_import_revision", args=[consultation.pk])
        return format_html(
            '<ul>{}</ul><a class="button" href="{}">{}</a>', rows, url, _("导入修改稿")
        )

    def get_urls(self):
        return [
            path(
                "<int:object_id>/import-revision/",
                self.admin_site.admin_view(self.revision_import_view),
                name="consultations_consultation_import_revision",
            ),
            path(
                "revisions/<int:revision_id>/links/",
                self.admin_site.admin_view(self.revision_links_view),
                name="consultations_revision_links",
            ),
            *super().get_urls(),
        ]

    def _coordinated_or_denied(self, request):
        if not self.has_publish_report_permission(request):
            raise PermissionDenied
        return consultations_coordinated_by_user(request.user)

    def revision_import_view(self, request, object_id):
        """导入修改稿: a later draft, pasted or uploaded, becomes the next unpublished revision."""
        consultation = get_object_or_404(self._coordinated_or_denied(request), pk=object_id)
        form = RevisionImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            created = []
            try:
                revision = revision_import(
                    parsed=parse_notice(form.cleaned_data["source"]),
                    consultation=consultation,
                    source_text=form.cleaned_data["source"],
                    final=form.cleaned_data["final"],
                    created=created,
                )
            except (NoticeParseError, NoticeImportError) as error:
                form.add_error(None, ValidationError(notice_error_text(error), code="import"))
            else:
                self.message_user(
                    request,
                    _("已导入%(label)s：请逐条确认条款对应关系，然后发布。")
                    % {"label": revision.label},
                    messages.SUCCESS,
                )
                if created:
                    # Until they have a mailbox, comments routed to them reach nobody.
                    self.message_user(
                        request,
                        ngettext(
                            "修改稿中有 %(count)d 个新部门，尚无通知邮箱：%(names)s。"
                            "请为其添加邮箱，或将误写的名称并入已有部门的别名。",
                            "修改稿中有 %(count)d 个新部门，尚无通知邮箱：%(names)s。"
                            "请为其添加邮箱，或将误写的名称并入已有部门的别名。",
                            len(created),
                        )
                        % {
                            "count": len(created),
                            "names": "、".join(department.name for department in created),
                        },
                        messages.WARNING,
                    )
                return redirect("admin:consultations_revision_links", revision.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("导入修改稿"),
            "consultation": consultation,
            "opts": self.opts,
            "form": form,
        }
        return TemplateResponse(request, "admin/consultations/revision_import.html", context)

    def revision_links_view(self, request, revision_id):
        """The proposed links, low scores flagged; confirm, correct, then 发布修改稿."""
        revision = get_object_or_404(
            Revision.objects.filter(
                consultation__in=self._coordinated_or_denied(request), number__gt=1
            ).select_related("consultation"),
            pk=revision_id,
        )
        previous = revision_before(revision)
        action = request.POST.get("action", "")
        unbound = {
            "confirm": lambda data=None: LinkConfirmForm(revision, data),
            "correct": lambda data=None: LinkCorrectForm(revision, previous, data),
            "drop": lambda data=None: LinkDropForm(previous, data),
            "period": lambda data=None: RevisionPeriodForm(revision, data),
            "delete": lambda data=None: RevisionDeleteForm(data),
        }
        acted = unbound[action](request.POST) if action in unbound else None
        if request.method == "POST":
            self._revision_act(request, revision, action, acted)
            if action == "delete" and not Revision.objects.filter(pk=revision.pk).exists():
                return redirect("admin:consultations_consultation_change", revision.consultation_id)
            if acted is None or not acted.errors:
                return redirect("admin:consultations_revision_links", revision.pk)
        shown = {name: make() for name, make in unbound.items()}
        if acted is not None:
            shown[action] = acted
        now = timezone.now()
        links = list(revision.links.select_related("old", "new", "confirmed_by"))
        links.sort(key=lambda link: (link.new.path if link.new else "~", link.old_id or 0))
        context = {
            **self.admin_site.each_context(request),
            "title": _("条款对应关系：%(label)s") % {"label": revision.label},
            "opts": self.opts,
            "consultation": revision.consultation,
            "revision": revision,
            "previous": previous,
            "links": links,
            "confident": CONFIDENT,
            "unconfirmed": sum(1 for link in links if not link.is_confirmed),
            "forms": shown,
            "now": now,
            # Publishing a draft with a period of its own ends the current one's at once.
            "ends_running_period": revision.has_period
            and revision.consultation.accepts_comments_at(now),
        }
        return TemplateResponse(request, "admin/consultations/revision_links.html", context)

    def _revision_act(self, request, revision, action, form):
        if action != "publish" and (form is None or not form.is_valid()):
            if form is None:
                self.message_user(request, _("未知的操作。"), messages.ERROR)
            return
        try:
            if action == "confirm":
                count = links_confirm(form.cleaned_data["links"], by=request.user)
                self.message_user(
                    request,
                    ngettext(
                        "已确认 %(count)d 条对应关系。", "已确认 %(count)d 条对应关系。", count
                    )
                    % {"count": count},
                    messages.SUCCESS,
                )
            elif action == "correct":
                link_correct(
                    revision,
                    new=form.cleaned_data["new"],
                    olds=list(form.cleaned_data["olds"]),
                    kind=form.cleaned_data["kind"],
                    by=request.user,
                )
                self.message_user(request, _("已更正并确认。"), messages.SUCCESS)
            elif action == "drop":
                link_drop(revision, old=form.cleaned_data["old"], by=request.user)
                self.message_user(request, _("已标为删除并确认。"), messages.SUCCESS)
            elif action == "period":
                revision_period_set(
                    revision,
                    opens_at=form.cleaned_data["opens_at"],
                    closes_at=form.cleaned_data["closes_at"],
                )
                self.message_user(request, _("征求意见时间已更新。"), messages.SUCCESS)
            elif action == "delete":
                label = revision.label
                revision_delete(revision)
                self.message_user(
                    request,
                    _("%(label)s已删除，可以重新导入。") % {"label": label},
                    messages.SUCCESS,
                )
            elif action == "publish":
                notified = revision_publish(revision)
                self.message_user(
                    request,
                    ngettext(
                        "%(label)s已发布，将通知 %(count)d 位提交人。",
                        "%(label)s已发布，将通知 %(count)d 位提交人。",
                        notified,
                    )
                    % {"label": revision.label, "count": notified},
                    messages.SUCCESS,
                )
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            if form is not None:
                # The page comes back with what was typed (a period to correct, say), not
                # emptied by a redirect.
                form.add_error(None, error)

    def _coordinated(self, request, queryset):
        """Actions touch only the consultations the user's bureau issued; say which were not."""
        mine = queryset.filter(pk__in=consultations_coordinated_by_user(request.user))
        for consultation in queryset.exclude(pk__in=mine):
            self.message_user(
                request,
                _("《%(title)s》由其他单位发布，不能由您处理。") % {"title": consultation.title},
                messages.ERROR,
            )
        return mine

    @admin.action(description=_("生成意见采纳情况（草稿）"), permissions=["publish_report"])
    def generate_report(self, request, queryset):
        generated = 0
        for consultation in self._coordinated(request, queryset):
            try:
                report_generate(consultation)
            except ValidationError as error:
                self.message_user(
                    request,
                    format_html("{}{}{}", consultation, _("："), error.messages[0]),
                    messages.ERROR,
                )
                continue
            generated += 1
        if generated:
            self.message_user(
                request,
                _("已生成意见采纳情况草稿，请在“意见采纳情况”中审阅、修改，然后公布。"),
                messages.SUCCESS,
            )

    def has_publish_report_permission(self, request):
        return request.user.has_perm("consultations.publish_report")

    @admin.action(description=_("公布意见采纳情况"), permissions=["publish_report"])
    def publish_report(self, request, queryset):
        for consultation in self._coordinated(request, queryset):
            try:
                notified = report_publish(consultation)
            except ValidationError as error:
                self.message_user(
                    request,
                    format_html(
                        "{}{}{}",
                        consultation,
                        _("："),
                        # The draft report_publish reports on: its unanswered comments only.
                        refusal_line(error, consultation, report_revision(consultation, None)),
                    ),
                    messages.ERROR,
                )
                continue
            self.message_user(
                request,
                ngettext(
                    "《%(title)s》的意见采纳情况已公布，将通知 %(count)d 位提交人。",
                    "《%(title)s》的意见采纳情况已公布，将通知 %(count)d 位提交人。",
                    notified,
                )
                % {"title": consultation.title, "count": notified},
                messages.SUCCESS,
            )


class RevisionImportForm(forms.Form):
    text = forms.CharField(
        label=_("粘贴全文"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 16}),
        help_text=_("修改稿的通知和正文，原样粘贴；或上传文件。"),
    )
    file = forms.FileField(label=_("或上传文本文件"), required=False)
    final = forms.BooleanField(
        label=_("正式文本"),
        required=False,
        help_text=_("正式印发的文本：作为最后一稿导入，不再征求意见。"),
    )

    def clean(self):
        cleaned = super().clean()
        text = (cleaned.get("text") or "").strip()
        upload = cleaned.get("file")
        if upload and not text:
            try:
                text = notice_text_decode(upload.read()).strip()
            except NoticeEncodingError:
                raise ValidationError(
                    _("无法识别文件的编码：请上传 UTF-8 或 GB18030 编码的文本文件。"),
                    code="encoding",
                ) from None
        if not text:
            raise ValidationError(_("请粘贴修改稿全文或上传文件。"), code="required")
        cleaned["source"] = text
        return cleaned


def clause_choice_label(clause):
    return f"{clause.label} {clause.heading}".strip()


class LinkConfirmForm(forms.Form):
    links = forms.ModelMultipleChoiceField(queryset=ClauseLink.objects.none())

    def __init__(self, revision, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["links"].queryset = revision.links.all()


class LinkCorrectForm(forms.Form):
    new = forms.ModelChoiceField(queryset=Clause.objects.none(), label=_("本稿条款"))
    olds = forms.ModelMultipleChoiceField(
        queryset=Clause.objects.none(),
        required=False,
        label=_("来自上一稿的条款"),
        help_text=_("不选表示新增条款；选多条表示合并。"),
    )
    kind = forms.ChoiceField(
        label=_("变化"),
        required=False,
        choices=[
            ("", "—"),
            *(
                (value, label)
                for value, label in ClauseLink.Kind.choices
                if value not in (ClauseLink.Kind.NEW, ClauseLink.Kind.DROPPED)
            ),
        ],
        help_text=_("选择了原条款时必填；合并时自动记为“合并”。"),
    )

    def __init__(self, revision, previous, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new"].queryset = revision.clauses.order_by("path")
        self.fields["new"].label_from_instance = clause_choice_label
        self.fields["olds"].queryset = previous.clauses.order_by("path")
        self.fields["olds"].label_from_instance = clause_choice_label

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("olds") and not cleaned.get("kind") and len(cleaned["olds"]) == 1:
            self.add_error("kind", ValidationError(_("请选择变化。"), code="required"))
        return cleaned


class LinkDropForm(forms.Form):
    old = forms.ModelChoiceField(queryset=Clause.objects.none(), label=_("上一稿条款"))

    def __init__(self, previous, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old"].queryset = previous.clauses.order_by("path")
        self.fields["old"].label_from_instance = clause_choice_label


class ClosingMomentField(forms.DateTimeField):
    """A close typed as a day alone ("2027-06-30", "20270630", "June 30, 2027") is that day
    to its last second, Beijing time, as a notice's "6月30日前" is (notices.importer): Django
    reads it as the day's first second, and the period would close a day early."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None or not self._is_a_day_alone(value):
            return moment
        return timezone.make_aware(
            datetime.datetime.combine(timezone.localtime(moment).date(), LAST_SECOND)
        )

    @staticmethod
    def _is_a_day_alone(value) -> bool:
        """Whether the value reads as a date in one of the language's date formats: a time of
        day typed with it is then none of them."""
        text = str(value).strip()
        try:
            forms.DateField().to_python(text)
        except ValidationError:
            pass
        else:
            return True
        # "20270630": the DateTimeField takes ISO 8601's compact day too.
        try:
            datetime.date.fromisoformat(text)
        except ValueError:
            return False
        return True


class RevisionPeriodForm(forms.Form):
    """An unpublished draft's comment period, as read from its notice, to correct: Beijing
    time, to the second (empty both: none)."""

    opens_at = forms.DateTimeField(label=_("开始时间"), required=False)
    closes_at = ClosingMomentField(label=_("截止时间"), required=False)

    def __init__(self, revision, *args, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                name: timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
                for name in ("opens_at", "closes_at")
                if (value := getattr(revision, name)) is not None
            },
        )
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.help_text = _("如 2025-01-15 17:00:00（北京时间）")


class RevisionDeleteForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("确认删除这一稿及其条款和对应关系"),
        error_messages={"required": _("请勾选确认后再删除。")},
    )


class ClauseResponsibilityInline(InvisibleCharactersRefused, admin.TabularInline):
    model = ClauseResponsibility
    extra = 0
    autocomplete_fields = ["department"]


@admin.register(Clause)
class ClauseAdmin(InvisibleCharactersRefused, UsableLookupValues, admin.ModelAdmin):
    list_display = ["label", "heading", "consultation", "revision", "responsibilities_display"]
    list_filter = ["consultation", "revision__number", "level"]
    search_fields = ["label", "heading", "text"]
    list_select_related = ["consultation", "revision__consultation"]
    readonly_fields = ["consultation", "revision", "parent", "path", "level"]
    inlines = [ClauseResponsibilityInline]
    ordering = ["consultation", "revision__number", "path"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "responsibilities",
                    queryset=ClauseResponsibility.objects.order_by("position"),
                )
            )
        )

    @admin.display(description=_("责任单位"))
    def responsibilities_display(self, clause):
        return responsibility_summary(clause)
