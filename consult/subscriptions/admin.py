"""The email subscriptions in the admin: to look one up and delete it on request."""

from django.contrib import admin

from consult.querystring import UsableLookupValues

from .models import Subscription


@admin.register(Subscription)
class SubscriptionAdmin(UsableLookupValues, admin.ModelAdmin):
    list_display = ["email", "department", "language", "created_at", "confirmed_at"]
    list_filter = [("confirmed_at", admin.EmptyFieldListFilter), "department"]
    search_fields = ["email"]
    readonly_fields = ["email", "department", "language", "created_at", "confirmed_at"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False  # citizens subscribe themselves: double opt-in
