"""Admin for comments and their routing; department-scoped triage comes with the triage work."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Attachment, Comment, CommentRouting


class CommentRoutingInline(admin.TabularInline):
    model = CommentRouting
    extra = 0
    readonly_fields = ["department", "role", "is_owner", "created_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    readonly_fields = ["original_name", "content_type", "size", "uploaded_at"]
    fields = readonly_fields


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = [
        "tracking_number",
        "clause_display",
        "excerpt",
        "status",
        "decision",
        "channel",
        "submitted_at",
    ]
    list_filter = ["status", "decision", "channel", "consultation"]
    search_fields = ["tracking_number", "body"]
    list_select_related = ["consultation", "clause"]
    date_hierarchy = "submitted_at"
    readonly_fields = [
        "tracking_number",
        "consultation",
        "clause",
        "channel",
        "submitted_at",
        "consent",
        "consent_at",
        "ip_hash",
        "user_agent",
    ]
    inlines = [CommentRoutingInline, AttachmentInline]
    show_full_result_count = False

    @admin.display(description=_("条款"), ordering="clause__path")
    def clause_display(self, comment):
        return comment.clause_label

    @admin.display(description=_("摘要"))
    def excerpt(self, comment):
        return comment.body[:40] + ("…" if len(comment.body) > 40 else "")
