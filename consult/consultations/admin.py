"""Admin for departments, consultations and their clause trees."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from consult.comments.access import consultations_coordinated_by_user
from consult.reports.admin import refusal_line
from consult.reports.services import report_generate, report_publish

from .models import (
    Clause,
    ClauseResponsibility,
    Consultation,
    Department,
    DepartmentAlias,
    Mailbox,
    Membership,
)


class DepartmentAliasInline(admin.TabularInline):
    model = DepartmentAlias
    extra = 0


class MailboxInline(admin.TabularInline):
    model = Mailbox
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "full_name", "mailbox_list", "digest_mode", "is_active"]
    list_filter = ["is_active", "digest_mode"]
    search_fields = ["name", "full_name", "aliases__name", "mailboxes__email"]
    inlines = [DepartmentAliasInline, MailboxInline, MembershipInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("mailboxes")

    @admin.display(description=_("通知邮箱"))
    def mailbox_list(self, department):
        return ", ".join(m.email for m in department.mailboxes.all()) or "—"


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "department", "role"]
    list_filter = ["role", "department"]
    search_fields = ["user__username", "department__name"]
    autocomplete_fields = ["user", "department"]


def responsibility_summary(clause):
    """“牵头：A、B；配合：C” for a clause whose responsibilities are prefetched."""
    parts = []
    for role, label in ClauseResponsibility.Role.choices:
        names = [r.name for r in clause.responsibilities.all() if r.role == role]
        if names:
            parts.append(f"{label}：{'、'.join(names)}")
    return "；".join(parts) or "—"


class ClauseInline(admin.TabularInline):
    model = Clause
    fields = ["label", "heading", "responsibilities_display"]
    readonly_fields = ["label", "heading", "responsibilities_display"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("responsibilities")

    @admin.display(description=_("责任单位"))
    def responsibilities_display(self, clause):
        return responsibility_summary(clause)


@admin.register(Consultation)
class ConsultationAdmin(admin.ModelAdmin):
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
    readonly_fields = ["report_published_at", "created_at", "updated_at"]
    date_hierarchy = "closes_at"
    inlines = [ClauseInline]
    actions = ["generate_report", "publish_report"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "issuer", "reference_number", "draft_title"]}),
        (_("征求意见期"), {"fields": ["published_on", "opens_at", "closes_at", "answer_days"]}),
        (_("联系方式"), {"fields": ["contact_name", "contact_phone", "contact_email"]}),
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

    @admin.display(description=_("状态"))
    def status_display(self, consultation):
        return consultation.status.label

    @admin.display(description=_("看板"))
    def dashboard_link(self, consultation):
        url = reverse("comments:consultation_dashboard", args=[consultation.slug])
        return format_html('<a href="{}">{}</a>', url, _("办理看板"))

    @admin.display(description=_("意见数"), ordering="comment_total")
    def comment_count(self, consultation):
        return consultation.comment_total

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
        for consultation in self._coordinated(request, queryset):
            report_generate(consultation)
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
                    format_html("{}：{}", consultation, refusal_line(error, consultation)),
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


class ClauseResponsibilityInline(admin.TabularInline):
    model = ClauseResponsibility
    extra = 0
    autocomplete_fields = ["department"]


@admin.register(Clause)
class ClauseAdmin(admin.ModelAdmin):
    list_display = ["label", "heading", "consultation", "responsibilities_display"]
    list_filter = ["consultation", "level"]
    search_fields = ["label", "heading", "text"]
    list_select_related = ["consultation"]
    readonly_fields = ["consultation", "parent", "path", "level"]
    inlines = [ClauseResponsibilityInline]
    ordering = ["consultation", "path"]

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
