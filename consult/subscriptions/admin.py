"""The email subscriptions in the admin: to look one up and delete it on request."""

from django.contrib import admin

from consult.querystring import UsableLookupValues

from .models import Subscription
from .services import subscription_cancel


@admin.register(Subscription)
class SubscriptionAdmin(UsableLookupValues, admin.ModelAdmin):
    list_display = ["email", "department", "language", "created_at", "confirmed_at"]
    list_filter = [("confirmed_at", admin.EmptyFieldListFilter), "department"]
    search_fields = ["email"]
    readonly_fields = ["email", "department", "language", "created_at", "confirmed_at"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False  # citizens subscribe themselves: double opt-in

    # Deleted on request as the unsubscribe link deletes: every subscription of the address,
    # its mail not yet built, and the address in every outbox row and email (a plain delete
    # left it there, and mail waiting for a retry still went out).
    def delete_model(self, request, obj):
        subscription_cancel(obj)

    def delete_queryset(self, request, queryset):
        for subscription in {row.email: row for row in queryset}.values():
            subscription_cancel(subscription)
