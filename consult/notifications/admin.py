from django.contrib import admin, messages
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from consult.comments.access import (
    consultations_coordinated_by_user,
    notifications_visible_to,
    user_department_ids,
)

from .delivery import email_resend
from .models import Notification, OutgoingEmail, Reminder
from .outbox import notification_publish


class NotificationInline(admin.TabularInline):
    model = Notification
    fields = ("kind", "key", "department", "comment", "status")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    list_display = ("subject", "recipients", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "created_at")
    search_fields = ("subject", "message_id")
    readonly_fields = (
        "message_id",
        "to",
        "subject",
        "body_text",
        "status",
        "attempts",
        "lease_until",
        "last_error",
        "created_at",
        "sent_at",
    )
    exclude = ("body_html",)
    inlines = [NotificationInline]
    actions = ["resend"]
    show_full_result_count = False

    @admin.display(description=_("收件人"))
    def recipients(self, obj):
        return ", ".join(obj.to)

    def get_queryset(self, request):
        """Only emails carrying a notification the user may see (lists, change views and
        actions alike)."""
        visible = notifications_visible_to(request.user, Notification.objects.all())
        return super().get_queryset(request).filter(pk__in=visible.values("email"))

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("重新发送所选的失败邮件"), permissions=["change"])
    def resend(self, request, queryset):
        count = 0
        for email in queryset.filter(status=OutgoingEmail.Status.FAILED):
            for notification in Notification.objects.filter(pk__in=email_resend(email))[:1]:
                notification_publish(notification)
            count += 1
        self.message_user(
            request,
            ngettext("已重新发送 %d 封邮件。", "已重新发送 %d 封邮件。", count) % count,
            messages.SUCCESS,
        )


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("kind", "department", "consultation", "comment", "status", "due_at")
    list_filter = ("status", "kind", "department")
    search_fields = ("key", "comment__tracking_number")
    list_select_related = ("department", "consultation", "comment")
    raw_id_fields = ("comment", "email")
    readonly_fields = (
        "kind",
        "key",
        "to",
        "language",
        "department",
        "consultation",
        "context",
        "digest_group",
        "due_at",
        "status",
        "created_at",
    )
    show_full_result_count = False

    def get_queryset(self, request):
        return notifications_visible_to(request.user, super().get_queryset(request))

    def has_add_permission(self, request):
        return False


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    """What was reminded, to whom and when; written only by the due-jobs run."""

    list_display = ("due_at", "kind", "department", "consultation", "outstanding", "outcome")
    list_filter = ("kind", "outcome", "consultation", "department")
    list_select_related = ("department", "consultation")
    date_hierarchy = "due_at"
    readonly_fields = (
        "kind",
        "consultation",
        "department",
        "due_at",
        "outcome",
        "outstanding",
        "notification",
        "created_at",
    )

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(
            Q(consultation__in=consultations_coordinated_by_user(request.user))
            | Q(department_id__in=user_department_ids(request.user))
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
