"""The records around the queue: campaigns, the user's exports and the comments' history."""

from django.contrib import admin
from django.db.models import Exists, OuterRef, Subquery
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from consult.comments.access import comments_visible_to, contact_visible_expression
from consult.comments.exports import exports_downloadable_by
from consult.comments.models import Campaign, Comment, CommentEvent, Export
from consult.comments.privacy import comment_text_masked
from consult.comments.workflow import event_in_words

from .filters import OfferedLookupsOnly


@admin.register(Campaign)
class CampaignAdmin(OfferedLookupsOnly, admin.ModelAdmin):
    list_display = ["__str__", "consultation", "size", "first_excerpt", "created_at", "open_link"]
    list_filter = ["consultation"]
    list_select_related = ["consultation"]
    readonly_fields = ["consultation", "first_excerpt", "size", "created_at"]
    fields = readonly_fields
    show_full_result_count = False

    def get_queryset(self, request):
        # A campaign spans clauses, so its first letter is often another department's: what
        # is shown of it is the first letter this user sees, as the queue shows it (masked
        # where the submitter is).
        visible = comments_visible_to(
            request.user, Comment.objects.filter(campaign=OuterRef("pk"))
        ).order_by("submitted_at", "pk")
        first_seen = visible.annotate(seen_whole=contact_visible_expression(request.user))
        return (
            super()
            .get_queryset(request)
            .filter(Exists(visible))
            .annotate(
                first_seen_body=Subquery(first_seen.values("body")[:1]),
                first_seen_name=Subquery(first_seen.values("submitter_name")[:1]),
                first_seen_organisation=Subquery(first_seen.values("organisation")[:1]),
                first_seen_whole=Subquery(first_seen.values("seen_whole")[:1]),
            )
        )

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("最早的一条"))
    def first_excerpt(self, campaign):
        letter = Comment(
            body=campaign.first_seen_body or "",
            submitter_name=campaign.first_seen_name or "",
            organisation=campaign.first_seen_organisation or "",
        )
        body = letter.body if campaign.first_seen_whole else comment_text_masked(letter)
        return body[:60] + ("…" if len(body) > 60 else "")

    @admin.display(description=_("意见"))
    def open_link(self, campaign):
        url = reverse("admin:comments_comment_changelist")
        return format_html(
            '<a href="{}?scope=all&campaign__id__exact={}">{}</a>',
            url,
            campaign.pk,
            _("查看并答复"),
        )


@admin.register(Export)
class ExportAdmin(OfferedLookupsOnly, admin.ModelAdmin):
    """The user's own exports, with progress while a task builds them."""

    list_display = [
        "__str__",
        "status",
        "progress_display",
        "total",
        "include_personal",
        "download",
    ]
    list_filter = ["status", "format"]
    readonly_fields = ["format", "status", "total", "rows_done", "include_personal", "error"]
    fields = readonly_fields

    def get_queryset(self, request):
        # Those still downloadable: an older one is gone from the download, and soon for good.
        return exports_downloadable_by(request.user, super().get_queryset(request))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    @admin.display(description=_("进度"))
    def progress_display(self, export):
        return format_html(
            '<progress max="100" value="{}"></progress> {}%', export.progress, export.progress
        )

    @admin.display(description=_("下载"))
    def download(self, export):
        if export.status != Export.Status.DONE:
            return ""
        return format_html(
            '<a href="{}">{}</a>', reverse("comments:export_download", args=[export.pk]), _("下载")
        )


@admin.register(CommentEvent)
class CommentEventAdmin(OfferedLookupsOnly, admin.ModelAdmin):
    """A list of history entries, without a page of each: an entry's text (a reply, a note
    about the submitter) is read on its comment's page, masked there for whoever sees the
    submitter masked; Django's read-only page of an entry showed it whole."""

    list_display = ["at", "comment_link", "kind", "actor", "department", "change"]
    list_display_links = None
    list_filter = ["kind"]
    list_select_related = ["comment", "actor", "department"]
    search_fields = ["=comment__tracking_number"]
    show_full_result_count = False

    def get_queryset(self, request):
        visible = comments_visible_to(request.user)
        return super().get_queryset(request).filter(comment__in=visible)

    @admin.display(description=_("意见"), ordering="comment")
    def comment_link(self, event):
        url = reverse("admin:comments_comment_change", args=[event.comment_id])
        return format_html('<a href="{}">{}</a>', url, event.comment)

    @admin.display(description=_("变化"))
    def change(self, event):
        return event_in_words(event)

    def has_view_permission(self, request, obj=None):
        return obj is None and super().has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
