from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from consult.comments.access import user_department_ids
from consult.consultations.models import Consultation

from .models import AdoptionReport, ReportClause
from .services import report_generate

COUNTS = ["comments", "adopted", "partly_adopted", "not_adopted", "explained", "campaign_letters"]


class ReportClauseInline(admin.TabularInline):
    model = ReportClause
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
    ]
    fields = ["consultation", "introduction", *readonly_fields[1:]]
    inlines = [ReportClauseInline]
    actions = ["regenerate"]

    def get_queryset(self, request):
        return reports_editable_by(request.user, super().get_queryset(request))

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("重新统计（保留已填写的说明和要点）"))
    def regenerate(self, request, queryset):
        for report in queryset:
            report_generate(report.consultation)
        self.message_user(request, _("已重新统计。"), messages.SUCCESS)
