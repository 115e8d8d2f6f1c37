"""公开意见审核: the issuing bureau reviews the comments their submitters agreed to publish.

The list shows each comment as it would be published (comments.publication), never the
submitter's details; the actions call `comment_publish` and `comment_withhold`, which hold
the rules (who may decide, consent, invalid comments, the public counts).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.defaultfilters import linebreaksbr
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from consult.comments.access import acts_as_staff, user_department_ids
from consult.comments.models import Comment, CommentForPublication
from consult.comments.publication import (
    WITHHOLD_REASON_MAX_LENGTH,
    comment_as_published,
    comment_publish,
    comment_withhold,
    comments_moderated_by,
    with_published_revisions,
    withhold_reason_clean,
)

from .filters import OfferedLookupsOnly

Publication = Comment.Publication


class PublicationActionForm(helpers.ActionForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Not even Django's own refusal of NUL: any error here is "no action selected".
        self.fields["reason"].validators = []

    reason = forms.CharField(
        label=_("不予公开的理由"),
        required=False,
        # Checked by the action (withhold_reason_clean): a form error here would only say
        # "no action selected".
        widget=forms.TextInput(
            attrs={
                "placeholder": _("不予公开时必填，只有工作人员能看到"),
                "maxlength": WITHHOLD_REASON_MAX_LENGTH,
            }
        ),
    )


class PublicationStateFilter(admin.SimpleListFilter):
    """Awaiting review unless another state is chosen: the list is a to-do list."""

    title = _("公开状态")
    parameter_name = "publication"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [
            (Publication.AWAITING, Publication.AWAITING.label),
            (Publication.PUBLISHED, Publication.PUBLISHED.label),
            (Publication.WITHHELD, Publication.WITHHELD.label),
            (self.ALL, _("全部")),
        ]

    def choices(self, changelist):
        for value, label in self.lookup_choices:
            yield {
                "selected": (self.value() or Publication.AWAITING) == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value() or Publication.AWAITING
        if value == self.ALL:
            return queryset
        if value not in {Publication.AWAITING, Publication.PUBLISHED, Publication.WITHHELD}:
            return queryset.none()
        return queryset.filter(publication=value)


@admin.register(CommentForPublication)
class PublicationReviewAdmin(OfferedLookupsOnly, admin.ModelAdmin):
    action_form = PublicationActionForm
    actions = ["publish", "withhold"]
    change_list_template = "admin/comments/publication_review_change_list.html"
    list_display = [
        "public_number",
        "clause_display",
        "text_as_published",
        "submitted_at",
        "status",
        "publication",
        "publication_reason",
    ]
    list_display_links = None
    list_filter = [PublicationStateFilter, "consultation"]
    list_select_related = ["consultation", "clause"]
    list_per_page = 20
    ordering = ["submitted_at", "pk"]
    show_full_result_count = False

    def get_queryset(self, request):
        comments = super().get_queryset(request).filter(publish_consent=True)
        return with_published_revisions(comments_moderated_by(request.user, comments))

    def _moderates_any(self, request) -> bool:
        # Staff with a department may open the list; it holds only what their bureau issued
        # (get_queryset) and the services refuse the rest. Asking here which departments issued
        # a consultation would cost every admin page a query (the sidebar asks each admin).
        user = request.user
        return acts_as_staff(user) and (user.is_superuser or bool(user_department_ids(user)))

    def has_module_permission(self, request):
        return self._moderates_any(request)

    def has_view_permission(self, request, obj=None):
        # The list only: a comment's own page here would show every field, the submitter's
        # name, phone and email among them, which this review never needs.
        return obj is None and self._moderates_any(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        # Not Django's bulk delete: a comment is never deleted here.
        return {
            name: action
            for name, action in super().get_actions(request).items()
            if name in self.actions
        }

    @admin.display(description=_("公开编号"), ordering="pk")
    def public_number(self, comment):
        return f"#{comment.pk}"

    @admin.display(description=_("条款"))
    def clause_display(self, comment):
        # The label alone (二(一)1): the text column needs the width; the filter names the draft.
        return comment.clause.label if comment.clause_id else _("全文")

    @admin.display(description=_("公开的内容（个人信息已遮盖）"))
    def text_as_published(self, comment):
        published = comment_as_published(comment)
        return linebreaksbr(f"[{published.kind}] {published.body}", autoescape=True)

    def _decide(self, request, queryset, decide, done_message):
        done, refused = 0, []
        for comment in queryset.select_related("consultation"):
            try:
                decide(comment)
            except PermissionDenied:
                refused.append(f"#{comment.pk}: " + _("您的单位不是发布单位，不能审核。"))
            except ValidationError as error:
                refused.append(f"#{comment.pk}: {' '.join(error.messages)}")
            else:
                done += 1
        if done:
            self.message_user(request, done_message(done), messages.SUCCESS)
        if refused:
            self.message_user(request, gettext("；").join(refused), messages.ERROR)

    @admin.action(description=_("公开"))
    def publish(self, request, queryset):
        """Publish the selected comments; each one in its own transaction."""
        self._decide(
            request,
            queryset,
            lambda comment: comment_publish(comment=comment, user=request.user),
            lambda n: ngettext("已公开 %(n)d 条意见。", "已公开 %(n)d 条意见。", n) % {"n": n},
        )

    @admin.action(description=_("不予公开（须填写理由）"))
    def withhold(self, request, queryset):
        """Withhold the selected comments with the reason typed beside the action."""
        try:
            reason = withhold_reason_clean(request.POST.get("reason", ""))
        except ValidationError as error:
            if error.code == "required":
                message = _("请在“不予公开的理由”中填写理由后再执行。")
            else:
                message = format_html("{}{}{}", _("不予公开的理由"), _("："), error.messages[0])
            self.message_user(request, message, messages.ERROR)
            return
        self._decide(
            request,
            queryset,
            lambda comment: comment_withhold(comment=comment, user=request.user, reason=reason),
            lambda n: ngettext("%(n)d 条意见不予公开。", "%(n)d 条意见不予公开。", n) % {"n": n},
        )
