from django.contrib import admin, messages
from django.db.models import Prefetch, Q
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from consult.comments.access import (
    consultations_coordinated_by_user,
    notifications_visible_to,
    user_department_ids,
)
from consult.consultations.models import Department
from consult.querystring import UsableLookupValues, is_number

from .delivery import EmailNotResendable, email_resend
from .health import emails_failed_recently, emails_long_pending
from .models import Notification, OutgoingEmail, Reminder
from .outbox import REDACTED, notification_publish


class NotificationInline(admin.TabularInline):
    model = Notification
    fields = ("kind", "key", "department", "comment", "status")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class DeliveryFilter(admin.SimpleListFilter):
    """The emails that need a person: given up on (lately or ever), or pending for too long."""

    title = _("投递情况")
    parameter_name = "delivery"

    def lookups(self, request, model_admin):
        return [
            ("failed_recently", _("最近一天发送失败")),
            ("failed", _("发送失败")),
            ("long_pending", _("长时间未发出")),
            ("retrying", _("等待重试")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "failed_recently":
            return emails_failed_recently(queryset)
        if value == "failed":
            return queryset.filter(status=OutgoingEmail.Status.FAILED)
        if value == "long_pending":
            return emails_long_pending(queryset)
        if value == "retrying":
            return queryset.filter(
                status=OutgoingEmail.Status.PENDING, next_attempt_at__isnull=False
            )
        return queryset


class DepartmentFilter(admin.SimpleListFilter):
    """The department an email was for; only departments whose mail the user may see."""

    title = _("部门")
    parameter_name = "department"

    def lookups(self, request, model_admin):
        visible = notifications_visible_to(request.user, Notification.objects.all())
        departments = Department.objects.filter(pk__in=visible.values("department")).order_by(
            "name"
        )
        return [(str(department.pk), department.name) for department in departments]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        if not is_number(self.value()):
            return queryset.none()
        return queryset.filter(
            pk__in=Notification.objects.filter(department_id=int(self.value())).values("email")
        )


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(UsableLookupValues, admin.ModelAdmin):
    list_display = (
        "subject",
        "recipients",
        "departments",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
        "error",
        "sent_at",
    )
    list_filter = (DeliveryFilter, DepartmentFilter, "status", "created_at")
    search_fields = ("subject", "message_id")
    exclude = ("body_html", "body_text")
    readonly_fields = ("body",)
    inlines = [NotificationInline]
    actions = ["resend"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        """An email's page is for reading, every field of it (the change permission keeps
        "send again" in the list). "Send again" resends it as it stands: an editable From or
        Reply-To header would let staff send official mail in another's name, and saving the
        page would write its status and lease, as they were read, over what a sending worker
        wrote meanwhile."""
        return obj is None and super().has_change_permission(request)

    @admin.display(description=_("收件人"))
    def recipients(self, obj):
        return ", ".join(obj.to)

    @admin.display(description=_("部门"))
    def departments(self, obj):
        names = {n.department.name for n in obj.notifications.all() if n.department_id}
        return gettext("、").join(sorted(names))

    @admin.display(description=_("正文"))
    def body(self, obj):
        # What the retention job leaves of a body is said in the reader's language.
        return gettext(REDACTED) if obj.body_text == REDACTED else obj.body_text

    @admin.display(description=_("最近错误"))
    def error(self, obj):
        return Truncator(obj.last_error).chars(120)

    def get_queryset(self, request):
        """Only emails carrying a notification the user may see (lists, change views and
        actions alike)."""
        visible = notifications_visible_to(request.user, Notification.objects.all())
        return (
            super()
            .get_queryset(request)
            .filter(pk__in=visible.values("email"))
            .prefetch_related(
                Prefetch(
                    "notifications",
                    queryset=Notification.objects.select_related("department"),
                )
            )
        )

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("重新发送所选邮件（失败的或未发出的）"), permissions=["change"])
    def resend(self, request, queryset):
        count = skipped = 0
        for email in queryset.exclude(status=OutgoingEmail.Status.SENT):
            try:
                ids = email_resend(email)
            except EmailNotResendable as refusal:
                self.message_user(
                    request,
                    _("邮件《%(subject)s》（%(message_id)s）未重新发送：%(reason)s。")
                    % {"subject": email.subject, "message_id": email.message_id, "reason": refusal},
                    messages.ERROR,
                )
                continue
            if not ids:  # being sent right now
                skipped += 1
                continue
            notification_publish(Notification.objects.get(pk=ids[0]))
            count += 1
        self.message_user(
            request,
            ngettext("已重新发送 %d 封邮件。", "已重新发送 %d 封邮件。", count) % count,
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%d 封邮件正在发送，未重复发送。", "%d 封邮件正在发送，未重复发送。", skipped
                )
                % skipped,
                messages.WARNING,
            )


@admin.register(Notification)
class NotificationAdmin(UsableLookupValues, admin.ModelAdmin):
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
        "published_at",
        "publications",
        "created_at",
    )
    show_full_result_count = False

    def get_queryset(self, request):
        return notifications_visible_to(request.user, super().get_queryset(request))

    def has_add_permission(self, request):
        return False


class DeliveryStatusFilter(admin.ChoicesFieldListFilter):
    title = _("邮件状态")


@admin.register(Reminder)
class ReminderAdmin(UsableLookupValues, admin.ModelAdmin):
    """What was reminded, to whom and when; written only by the due-jobs run."""

    list_display = (
        "due_at",
        "kind",
        "department",
        "consultation",
        "outstanding",
        "outcome",
        "delivery",
    )
    list_filter = (
        "kind",
        "outcome",
        ("notification__status", DeliveryStatusFilter),
        "consultation",
        "department",
    )
    list_select_related = ("department", "consultation", "notification")
    date_hierarchy = "due_at"
    readonly_fields = (
        "kind",
        "consultation",
        "department",
        "due_at",
        "outcome",
        "outstanding",
        "notification",
        "delivery",
        "created_at",
    )

    @admin.display(description=_("邮件状态"), ordering="notification__status")
    def delivery(self, obj):
        """Whether the reminder's email went out: queued is not sent (it may have failed, or
        found no address)."""
        if obj.notification is None:
            return "—"
        return obj.notification.get_status_display()

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
