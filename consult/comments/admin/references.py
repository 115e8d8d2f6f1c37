"""The clauses a whole-draft comment cites, on its change form, each accepted with one click.

Hooked into the comment admin by putting `ClauseReferencesAdmin` first among its bases. The
change form then lists the suggestions (comments.references.clause_suggestions) above the
fieldsets; to those who may triage the comment, each has a button that posts the change
form's CSRF token to `move-to-clause/`, which calls `comment_move_to_clause` — that function
holds every rule (who may, which clause, open comments only).
"""

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext as _

from consult.comments.models import Comment
from consult.comments.references import (
    clause_suggestions,
    comment_move_to_clause,
    may_move,
    still_movable,
)

# The POSTed field naming the clause; the button sits inside the change form, so the form's
# own fields come along: not saved by a move, so a move is refused while any holds new text.
CLAUSE_FIELD = "move_to_clause"
TYPED_FIELDS = (
    "decision_reason",
    "reply",
    "invalid_reason",
    "opinion",
    "waive_reason",
    "route_reason",
    "note",
)


class ClauseReferencesAdmin:
    """Mixin for the comment admin: the suggestions on the change form and the accept view."""

    change_form_template = "admin/comments/comment/change_form_clause_references.html"

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_move_to_clause"
        return [
            path(
                "<path:object_id>/move-to-clause/",
                self.admin_site.admin_view(self.move_to_clause_view),
                name=name,
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        comment = self.get_object(request, unquote(object_id)) if object_id else None
        if comment is not None:
            extra_context = {**(extra_context or {}), **self._suggestions_context(request, comment)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _typed_unsaved(self, request, comment: Comment) -> list[tuple[str, str]]:
        """(label, text) of each text field of the posted change form that holds something the
        comment does not."""
        fields = self.get_form(request, comment).base_fields
        typed = []
        for name in TYPED_FIELDS:
            text = request.POST.get(name, "").strip()
            if name in fields and text and text != (getattr(comment, name, "") or "").strip():
                typed.append((str(fields[name].label), text))
        return typed

    def _suggestions_context(self, request, comment: Comment) -> dict:
        suggestions = clause_suggestions(comment)
        if not suggestions:
            return {}
        movable = still_movable(comment) and may_move(request.user, comment)
        return {
            "clause_suggestions": suggestions,
            "clause_suggestions_movable": movable,
            "clause_move_url": reverse(
                f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}"
                "_move_to_clause",
                args=[comment.pk],
            ),
            "clause_move_field": CLAUSE_FIELD,
        }

    def move_to_clause_view(self, request, object_id):
        """Accept one suggestion: POST only, the clause one of the comment's suggestions."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        # get_object goes through get_queryset: a comment this user may not see is a 404.
        comment = self.get_object(request, unquote(object_id))
        if comment is None:
            raise Http404
        change_url = reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_change",
            args=[comment.pk],
        )
        if typed := self._typed_unsaved(request, comment):
            # Moving would drop it without a word: said, and given back to copy or to save.
            messages.error(
                request,
                _("您在页面上填写的内容尚未保存，未改为对条款的意见：请先保存，或清空后再改。"),
            )
            for label, text in typed:
                messages.info(request, f"{label}{_('：')}{text}")
            return HttpResponseRedirect(change_url)
        suggested = {str(s.clause.pk): s.clause for s in clause_suggestions(comment)}
        clause = suggested.get(request.POST.get(CLAUSE_FIELD, "").strip())
        if clause is None:
            messages.error(request, _("所选条款不是这条意见中提到的条款。"))
            return HttpResponseRedirect(change_url)
        try:
            comment_move_to_clause(comment, clause, by=request.user)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return HttpResponseRedirect(change_url)
        messages.success(
            request,
            _("已改为对“%(clause)s”的意见，并分办给该条款的责任单位。") % {"clause": clause},
        )
        return self.passed_on_response(request, comment) or HttpResponseRedirect(change_url)
