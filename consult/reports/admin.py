from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from consult.comments.access import user_department_ids
from consult.consultations.models import Consultation

from .models import AdoptionReport, ReportClause
from .services import (
    introduction_where,
    line_where,
    personal_data_errors,
    report_generate,
    report_review,
)

COUNTS = ["comments", "adopted", "partly_adopted", "not_adopted", "explained", "campaign_letters"]


class ReportClauseForm(forms.ModelForm):
    def clean_gist(self):
        gist = self.cleaned_data["gist"]
        if errors := personal_data_errors(gist, line_where(self.instance)):
            raise ValidationError(errors)
        return gist


class AdoptionReportForm(forms.ModelForm):
    def clean_introduction(self):
        introduction = self.cleaned_data["introduction"]
        if errors := personal_data_errors(introduction, introduction_where()):
            raise ValidationError(errors)
        return introduction


class ReportClauseInline(admin.TabularInline):
    model = ReportClause
    form = ReportClauseForm
    fields = ["clause", *COUNTS, "gist"]
    readonly_fields = ["clause", *COUNTS]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


def reports_editable_by(user, reports):
    """Superusers, and staff of the bureau that issued the consultation."""
    if user.is_superuser:
        return reports
    coordinated = Consultation.objects.coordinated_by(user_department_ids(user))
    return reports.filter(consultation__in=coordinated)


@admin.register(AdoptionReport)
class AdoptionReportAdmin(admin.ModelAdmin):
    list_display = [
        "consultation",
        "total",
        "adopted",
        "partly_adopted",
        "not_adopted",
        "generated_at",
        "reviewed_at",
    ]
    readonly_fields = [
        "consultation",
        "total",
        "invalid",
        "adopted",
        "partly_adopted",
        "not_adopted",
        "explained",
        "unanswered",
        "campaigns",
        "campaign_letters",
        "generated_at",
        "reviewed_at",
        "reviewed_by",
    ]
    fields = ["consultation", "introduction", *readonly_fields[1:]]
    form = AdoptionReportForm
    inlines = [ReportClauseInline]
    actions = ["regenerate"]

    def get_queryset(self, request):
        return reports_editable_by(request.user, super().get_queryset(request))

    def has_add_permission(self, request):
        return False

    def save_related(self, request, form, formsets, change):
        """Saving the report, its text checked for personal data, is the coordinator's review."""
        super().save_related(request, form, formsets, change)
        report_review(form.instance, by=request.user)

    @admin.action(description=_("重新统计（保留已填写的说明和要点）"))
    def regenerate(self, request, queryset):
        for report in queryset:
            report_generate(report.consultation)
        self.message_user(
            request, _("已重新统计。统计有变化，请再次审阅并保存后公布。"), messages.SUCCESS
        )
