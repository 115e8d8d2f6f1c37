from django.contrib import admin

from consult.querystring import UsableLookupValues

from .models import JobStatus


@admin.register(JobStatus)
class JobStatusAdmin(UsableLookupValues, admin.ModelAdmin):
    """Read-only: the runner writes these rows; people only look."""

    list_display = [
        "name",
        "last_succeeded_at",
        "last_failed_at",
        "failures_in_a_row",
        "last_summary",
    ]
    readonly_fields = [field.name for field in JobStatus._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
