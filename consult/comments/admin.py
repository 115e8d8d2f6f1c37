"""Admin for comments and their routing; department-scoped triage comes with the triage work."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .access import comments_visible_to
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
    readonly_fields = ["download", "content_type", "size", "uploaded_at"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("文件"))
    def download(self, attachment):
        url = reverse("comments:attachment_download", args=[attachment.pk])
        return format_html('<a href="{}">{}</a>', url, attachment.original_name)


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

    def get_queryset(self, request):
        return comments_visible_to(request.user, super().get_queryset(request))

    @admin.display(description=_("条款"), ordering="clause__path")
    def clause_display(self, comment):
        return comment.clause_label

    @admin.display(description=_("摘要"))
    def excerpt(self, comment):
        return comment.body[:40] + ("…" if len(comment.body) > 40 else "")
