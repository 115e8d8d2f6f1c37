"""The comment queue: department-scoped lists; comments are worked via `comment_change_apply`."""

import io
import unicodedata

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import construct_change_message
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, Q, Subquery, Value
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import smart_split, unescape_string_literal
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from consult.comments.access import (
    acts_as_staff,
    comment_visible_to,
    comments_contact_visible_to,
    comments_visible_to,
    contact_visible_expression,
    routes_of_departments,
    user_department_ids,
)
from consult.comments.exports import (
    CONTENT_TYPES,
    export_start,
    export_write,
)
from consult.comments.models import (
    Attachment,
    Comment,
    CommentRouting,
    CooperatingOpinion,
)
from consult.comments.phones import phone_spellings
from consult.comments.privacy import comment_text_masked, mask_email, mask_name, mask_phone
from consult.comments.revision_outcomes import comments_answer_drafts
from consult.comments.services import comment_record_received
from consult.comments.tracking import is_well_formed, normalise_tracking_number
from consult.comments.workflow import (
    CommentChange,
    answer_duty,
    comment_change_apply,
    comment_version,
    event_in_words,
    fields_open_to,
    standing,
)
from consult.querystring import is_number, usable_search_term

from .filters import (
    ClauseFilter,
    ContactFilter,
    DepartmentFilter,
    OfferedLookupsOnly,
    RevisionFilter,
    RoleFilter,
    ScopeFilter,
)
from .forms import BulkActionForm, CommentWorkForm, ReceivedCommentForm, typed_into
from .paginator import CappedCountPaginator
from .references import ClauseReferencesAdmin


class ReadOnlyInline(admin.TabularInline):
    # A plain table: no empty "original" and "delete" headers, no inlines.js.
    template = "admin/edit_inline/tabular_readonly.html"
    fk_name = "comment"
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CommentRoutingInline(ReadOnlyInline):
    model = CommentRouting
    fields = readonly_fields = ["department", "role", "is_owner", "created_at"]


class CooperatingOpinionInline(ReadOnlyInline):
    model = CooperatingOpinion
    fields = readonly_fields = ["department", "text_as_seen", "author", "updated_at"]
    # The comment of the page, with its `contact_visible` (`CommentAdmin.get_inline_instances`).
    comment = None

    @admin.display(description=_("配合意见"))
    def text_as_seen(self, opinion):
        """An opinion ("已电话联系张三 139…") masked where the comment's submitter is, as the
        history's texts are (`history_table`)."""
        if self.comment is None or not getattr(self.comment, "contact_visible", False):
            return comment_text_masked(self.comment or opinion.comment, opinion.text)
        return opinion.text


class AttachmentInline(ReadOnlyInline):
    """Letters carry names and addresses: listed only where the contact details are shown
    (see `CommentAdmin.get_inlines`)."""

    model = Attachment
    fields = readonly_fields = ["download", "content_type", "size", "uploaded_at"]

    @admin.display(description=_("文件"))
    def download(self, attachment):
        if attachment.pk is None:
            return "—"
        url = reverse("comments:attachment_download", args=[attachment.pk])
        return format_html('<a href="{}">{}</a>', url, attachment.original_name)


class ChangeRefused(Exception):
    """`comment_change_apply` refused a change the change form's own checks let through."""

    def __init__(self, error: ValidationError):
        super().__init__(error)
        self.error = error


# The session key holding a refused bulk action's inputs until the queue is shown again.
KEPT_ACTION = "comments_bulk_action_kept"


def sentences(messages) -> str:
    """Messages that are each a sentence, one after the other: "。" needs nothing after it, "."
    a space (a separator after their own full stops read "。；" and ".; ")."""
    text = ""
    for message in messages:
        if text and not text.endswith(("。", "！", "？")):
            text += " "
        text += str(message)
    return text


def contact_search(term: str) -> Q | None:
    """A whole search term as a phone number, an email address or a name; None when blank."""
    term = term.strip()
    if not term:
        return None
    return Q(phone__in=phone_spellings(term)) | Q(email__iexact=term) | Q(submitter_name=term)


def body_as_seen(comment) -> str:
    """The text with the personal data in it masked where the contact fields are."""
    if getattr(comment, "contact_visible", False):
        return comment.body
    return comment_text_masked(comment)


def _latin(char: str) -> bool:
    """A Latin letter, full-width ones ("ｗａｎｇ") included."""
    return unicodedata.normalize("NFKC", char).isascii() and char.isalpha()


def history_table(events, comment):
    """History entries as the change page lists them: who did what and when, in words
    (workflow.event_in_words), every value escaped; the texts (a reply, a note: "已电话联系王五
    138…") masked where the comment's submitter is (`body_as_seen`)."""
    shown = getattr(comment, "contact_visible", False)
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                timezone.localtime(event.at).strftime("%Y-%m-%d %H:%M:%S"),
                event.actor or "—",
                event.get_kind_display(),
                event.department or "",
                event_in_words(event),
                event.text if shown else comment_text_masked(comment, event.text),
            )
            for event in events
        ),
    )
    if not rows:
        return "—"
    head = format_html(
        "<tr>" + "<th>{}</th>" * 6 + "</tr>",
        _("时间"),
        _("操作人"),
        _("类型"),
        _("部门"),
        _("变化"),
        _("说明"),
    )
    return format_html('<table class="comment-history">{}{}</table>', head, rows)


@admin.register(Comment)
class CommentAdmin(ClauseReferencesAdmin, OfferedLookupsOnly, admin.ModelAdmin):
    form = CommentWorkForm
    action_form = BulkActionForm
    paginator = CappedCountPaginator
    list_display = [
        "tracking_number",
        "clause_display",
        "excerpt",
        "status",
        "decision",
        "my_role",
        "campaign_display",
        "submitted_display",
        "age",
    ]
    list_filter = [
        ScopeFilter,
        "status",
        "decision",
        "consultation",
        RevisionFilter,
        ClauseFilter,
        DepartmentFilter,
        RoleFilter,
        ContactFilter,
        ("campaign", admin.EmptyFieldListFilter),
        "channel",
        ("submitted_at", admin.DateFieldListFilter),
    ]
    search_fields = ["=tracking_number", "body"]
    # A clause's revision: the answer deadline of the draft each comment was written on (`age`).
    list_select_related = ["consultation", "clause__revision", "campaign"]
    date_hierarchy = "submitted_at"
    list_per_page = 50
    show_full_result_count = False
    # The campaign column's link; the reminder emails' and the dashboard's links
    # (consultation__id__exact, status__exact) are the filters' own parameters.
    link_lookups = ("campaign__id__exact",)
    inlines = [
        CommentRoutingInline,
        CooperatingOpinionInline,
        AttachmentInline,
    ]
    actions = [
        "export_csv",
        "export_xlsx",
        "bulk_start",
        "bulk_decide",
        "bulk_answer",
        "bulk_mark_invalid",
        "bulk_add_department",
    ]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (
                    _("收到的意见"),
                    {"fields": ["consultation", "clause", "channel", "received_on", "body"]},
                ),
                (
                    _("提交人"),
                    {
                        "fields": [
                            "submitter_name",
                            "submitter_kind",
                            "organisation",
                            "phone",
                            "email",
                            "wants_reply",
                        ]
                    },
                ),
                (_("附件"), {"fields": ["attachment", "page_key"]}),
            ]
        # Only the fields this user's standing allows (workflow.fields_open_to).
        shown = fields_open_to(obj.standing, obj) if hasattr(obj, "standing") else []

        def only(*names):
            return [name for name in names if name in shown]

        fieldsets = [
            (
                _("意见"),
                {
                    "fields": [
                        "tracking_number",
                        "consultation",
                        "clause",
                        "body_shown",
                        "channel",
                        "submitted_at",
                        *(["received_on"] if getattr(obj, "received_on", None) else []),
                    ]
                },
            ),
            (
                _("提交人"),
                {
                    "fields": [
                        "submitter",
                        "contact",
                        # With the contact details it is about: who answers sees both.
                        *(["reply_wish"] if getattr(obj, "contact_visible", False) else []),
                        "submitter_kind",
                        "consent_at",
                    ]
                },
            ),
            (
                _("办理"),
                {
                    "fields": [
                        "answer_duty",
                        *only("status", "decision", "decision_reason", "reply", "invalid_reason"),
                        # Hidden: the comment's version and values the page shows
                        # (CommentWorkForm).
                        "version",
                        "values_shown",
                    ]
                },
            ),
            (_("配合意见"), {"fields": only("opinion", "opinion_department", "waive_reason")}),
            (_("转办"), {"fields": only("route_to", "make_owner", "route_reason")}),
            (_("备注"), {"fields": only("note")}),
            (_("办理记录"), {"fields": ["history"]}),
        ]
        return [(name, options) for name, options in fieldsets if options["fields"]]

    readonly_fields = [
        "tracking_number",
        "consultation",
        "clause",
        "body_shown",
        "channel",
        "submitted_at",
        "received_on",
        "submitter",
        "contact",
        "reply_wish",
        "submitter_kind",
        "consent_at",
        "answer_duty",
        "history",
    ]

    def has_add_permission(self, request):
        return request.user.has_perm("comments.add_comment")

    def get_inlines(self, request, obj):
        if obj is None:
            return []
        if getattr(obj, "contact_visible", False):
            return self.inlines
        return [inline for inline in self.inlines if inline is not AttachmentInline]

    def get_inline_instances(self, request, obj=None):
        # Made anew for each request: each knows whose comment it lists, as shown to this user.
        instances = super().get_inline_instances(request, obj)
        for inline in instances:
            inline.comment = obj
        return instances

    def has_delete_permission(self, request, obj=None):
        # Comments are records of public participation: they are marked invalid, not deleted,
        # and their personal data goes by the retention purge. A superuser's delete left the
        # emails that carried the submitter's details (their outbox rows went, so no purge
        # could reach them), the attached file in storage, and the public counts one too high.
        return False

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ReceivedCommentForm
        form = super().get_form(request, obj, change=change, **kwargs)
        attributes = {"user": request.user}
        if obj is not None:
            attributes["refused"] = getattr(request, "comment_change_refused", None)
        return type(form.__name__, (form,), attributes)

    def get_queryset(self, request):
        queryset = comments_visible_to(request.user, super().get_queryset(request))
        mine = routes_of_departments(user_department_ids(request.user)).order_by(
            "-is_owner", "position"
        )
        # The list reads its clauses' revisions for their periods (`age`), never their texts.
        queryset = queryset.defer("clause__revision__preamble", "clause__revision__source_text")
        return queryset.annotate(
            my_role_value=Subquery(mine.values("role")[:1]),
            my_ownership=Subquery(mine.values("is_owner")[:1]),
            # Whose submitter the user sees in full (`excerpt`), in the page's own query.
            contact_visible=contact_visible_expression(request.user),
        )

    def get_search_results(self, request, queryset, search_term):
        """Tracking number and text for all; the submitter's phone, email or name (the whole
        term) only among the comments whose contact details the user sees in full.

        A tracking number (any case, with or without dashes or spaces) finds its comment from
        whatever view the search starts in (my open comments, a status ...), among all the
        comments the user may see.
        """
        # Its own search runs before UsableLookupValues' (which strips NUL for Django's part).
        search_term = usable_search_term(search_term)
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        found = self._text_found_only_where_shown(request, found, search_term)
        number = normalise_tracking_number(search_term)
        if is_well_formed(number):
            found = found | self.get_queryset(request).filter(tracking_number=number)
        contact = contact_search(search_term)
        if contact is None:
            return found, may_have_duplicates
        by_contact = comments_contact_visible_to(request.user, queryset.filter(contact))
        return found | by_contact, may_have_duplicates

    def _text_found_only_where_shown(self, request, found, search_term):
        """Django's search reads the text as stored, personal data and all: a department that
        sees a submitter masked could search "1381", "13812", … and learn the number by which
        comments come back. For a term that may be personal data — with a digit or an @, or
        one that holds or is held by the submitter's own name or organisation — a comment whose
        submitter the user sees masked is found only if its text, masked as the user reads it,
        holds the term. So is a term with Latin letters, in a text with an @: an email
        address's local part ("wangwu.secret", masked "w***@…") has no digit or @ in it."""
        # The words as Django's search reads them ("a phrase" in quotes is one).
        words = [
            unescape_string_literal(bit) if bit[:1] in "\"'" and bit[-1:] == bit[:1] else bit
            for bit in smart_split(search_term)
        ]
        if not words:
            return found
        hidden = found.exclude(pk__in=comments_contact_visible_to(request.user, found).values("pk"))
        if any(char.isdigit() or char in "@＠" for char in search_term):
            risky = hidden
        else:
            named = Q()
            for word in words:
                for field in ("submitter_name", "organisation"):
                    # The name in the word ("渔民王五" holds "王五"), or the word in the name.
                    named |= Q(**{f"{field}__icontains": word}) | (
                        ~Q(**{field: ""}) & Q(GreaterThan(StrIndex(Value(word), F(field)), 0))
                    )
            if any(_latin(char) for char in search_term):
                # An email address's local part, which only a text with an @ holds: the cost
                # of reading the text masked stays with those ("GDP" searches the rest as is).
                named |= Q(body__contains="@") | Q(body__contains="＠")
            risky = hidden.filter(named)
        candidates = risky.select_related(None).only(
            "pk", "tracking_number", "body", "submitter_name", "organisation"
        )
        kept = []
        for comment in candidates.order_by().iterator(chunk_size=500):
            masked = body_as_seen(comment).lower()
            # Each word in the text as the user reads it, or the comment's tracking number
            # (search_fields: one word may name it, the others its text).
            if all(
                word.lower() in masked or normalise_tracking_number(word) == comment.tracking_number
                for word in words
            ):
                kept.append(comment.pk)
        return found.exclude(pk__in=risky.values("pk")) | found.filter(pk__in=kept)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """A change the workflow refuses after the form's checks passed (they share the row
        lock, so only if the two ever disagree): the page again, with the refusal as the form's
        errors and what was typed, not a server error."""
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ChangeRefused as refused:
            # Its transaction is rolled back; this time the form is refused before saving.
            request.comment_change_refused = refused.error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        """A comment the user may not open (passed on by a colleague, or moved to a clause
        another department answers, while their page was open): said so, and what they typed
        given back to copy — not "may have been deleted", their reply lost."""
        # Only for a page being saved: opening a comment one may not see reads as any missing
        # one, which does not tell staff which comments exist and are another's (a review).
        comment = (
            Comment.objects.filter(pk=object_id).first()
            if request.method == "POST" and is_number(object_id)
            else None
        )
        if comment is None or not acts_as_staff(request.user):
            return super()._get_obj_does_not_exist_redirect(request, opts, object_id)
        self.message_user(
            request,
            _("您无法打开这条意见：它不由您的单位办理（可能刚被转办，或移至其他单位负责的条款）。"),
            messages.WARNING,
        )
        for label, text in typed_into(request.POST, comment):
            self.message_user(
                request,
                _("您填写的“%(field)s”未保存：%(text)s") % {"field": label, "text": text},
                messages.WARNING,
            )
        return HttpResponseRedirect(reverse("admin:comments_comment_changelist"))

    def get_formset_kwargs(self, request, obj, inline, prefix):
        """The inlines are read-only: a page shown again (a stale save's among them) lists
        their rows as they are now, not as many as the page posted."""
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if "data" in kwargs and obj is not None:
            # Each row bound to a row of this comment's as it is now, in the formset's order: a
            # row added since the page was opened (a colleague's opinion) is posted without its
            # id, and a posted id may name anything.
            rows = kwargs["queryset"].filter(**{inline.fk_name: obj})
            if not rows.ordered:
                rows = rows.order_by("pk")
            pks = list(rows.values_list("pk", flat=True))
            data = kwargs["data"]
            data[f"{prefix}-TOTAL_FORMS"] = data[f"{prefix}-INITIAL_FORMS"] = str(len(pks))
            for index, pk in enumerate(pks):
                data[f"{prefix}-{index}-id"] = str(pk)
        return kwargs

    def save_model(self, request, obj, form, change):
        if change:
            try:
                comment_change_apply(obj, request.user, form.work())
            except ValidationError as error:
                raise ChangeRefused(error) from error
            return
        data = form.cleaned_data
        submission = comment_record_received(
            consultation=data["consultation"],
            clause=data.get("clause"),
            body=data["body"],
            channel=data["channel"],
            received_on=data["received_on"],
            recorded_by=request.user,
            submitter_name=data.get("submitter_name", ""),
            submitter_kind=data.get("submitter_kind") or Comment.Kind.INDIVIDUAL,
            organisation=data.get("organisation", ""),
            phone=data.get("phone", ""),
            email=data.get("email", ""),
            wants_reply=bool(data.get("wants_reply")),
            attachment=data.get("attachment"),
            attachment_type=form.attachment_type,
            repeat_scope=f"letter:{request.user.pk}:{data['page_key']}" if data["page_key"] else "",
        )
        comment = submission.comment
        # The admin's redirect and its log entry ("added …") refer to this object.
        obj.pk, obj.tracking_number = comment.pk, comment.tracking_number

    def save_related(self, request, form, formsets, change):
        """Inlines are read-only; nothing to save."""

    def construct_change_message(self, request, form, formsets, add=False):
        # The history page names the fields changed, by their labels; the inlines saved
        # nothing (their formsets were never saved, so they have nothing to report).
        return construct_change_message(form, [], add)

    # Columns: short, each readable in one or two lines (static/consult/queue.css) -----------
    @admin.display(description=_("条款"), ordering="clause__path")
    def clause_display(self, comment):
        if comment.clause_id is None:
            return comment.clause_label
        # The label alone ("二(三)4"); the heading as its tooltip.
        return format_html('<span title="{}">{}</span>', comment.clause_label, comment.clause.label)

    @admin.display(description=_("摘要"))
    def excerpt(self, comment):
        body = body_as_seen(comment)
        text = body[:40] + ("…" if len(body) > 40 else "")
        return format_html('<span title="{}">{}</span>', body[:300], text)

    @admin.display(description=_("意见内容"))
    def body_shown(self, comment):
        # A plain string: the admin escapes it and keeps its line breaks, as for the field.
        return body_as_seen(comment)

    @admin.display(description=_("提交时间"), ordering="submitted_at")
    def submitted_display(self, comment):
        moment = timezone.localtime(comment.submitted_at)
        return format_html(
            '<time datetime="{}" title="{}">{}</time>',
            moment.isoformat(),
            moment.strftime("%Y-%m-%d %H:%M:%S"),
            moment.strftime("%m-%d %H:%M"),
        )

    @admin.display(description=_("我的职责"))
    def my_role(self, comment):
        label = dict(CommentRouting.Role.choices).get(comment.my_role_value, "—")
        # The department that answers sees its role in bold.
        return format_html("<strong>{}</strong>", label) if comment.my_ownership else label

    @admin.display(description=_("模板意见"))
    def campaign_display(self, comment):
        if comment.campaign is None:
            return ""
        url = reverse("admin:comments_comment_changelist")
        mine = getattr(comment, "campaign_visible", comment.campaign.size)
        if mine >= comment.campaign.size:
            size, title = str(comment.campaign.size), _("打开这组模板意见，可全选后一并答复")
        else:
            # The group's other letters are other departments' to answer: opening it lists
            # these alone.
            size = f"{mine}/{comment.campaign.size}"
            title = _(
                "这组模板意见共 %(size)d 条，其中 %(mine)d 条由您办理或配合；其余由其他单位办理。"
            ) % {
                "size": comment.campaign.size,
                "mine": mine,
            }
        return format_html(
            '<a href="{}?scope=all&campaign__id__exact={}" title="{}">#{} · {}</a>',
            url,
            comment.campaign_id,
            title,
            comment.campaign_id,
            size,
        )

    def get_changelist_instance(self, request):
        """The page's comments, each with the draft whose answer deadline it has (`age`): at
        most one query for the page, whatever its size (`comments_answer_drafts`)."""
        changelist = super().get_changelist_instance(request)
        drafts = comments_answer_drafts(changelist.result_list)
        # Of each campaign on the page, how many letters the user may open (one query).
        campaigns = {c.campaign_id for c in changelist.result_list if c.campaign_id}
        visible = (
            dict(
                comments_visible_to(request.user, Comment.objects.filter(campaign_id__in=campaigns))
                .values("campaign_id")
                .annotate(count=Count("pk"))
                .values_list("campaign_id", "count")
            )
            if campaigns
            else {}
        )
        for comment in changelist.result_list:
            comment.answer_draft = drafts[comment.pk]
            if comment.campaign_id:
                comment.campaign_visible = visible.get(comment.campaign_id, 0)
        return changelist

    # Ascending age is the newest first.
    @admin.display(description=_("已过天数"), ordering="-submitted_at")
    def age(self, comment):
        # Beijing calendar days, as the change page counts them: a comment of 23:30 yesterday
        # is a day old this morning, not 0 (whole 24 hours).
        days = (timezone.localdate() - timezone.localdate(comment.submitted_at)).days
        # Past the answer deadline of the draft it was written on, not of the one now consulted.
        overdue = comment.status in Comment.OPEN_STATUSES and (
            comment.consultation.is_past_answer_deadline(
                timezone.now(), getattr(comment, "answer_draft", None)
            )
        )
        if overdue:
            # Coloured by queue.css: the CSP refuses inline style attributes.
            return format_html(
                '<span class="overdue">{}</span>', _("%(days)d（逾期）") % {"days": days}
            )
        return days

    # Personal data: in full for the owner, coordinators and superusers; masked otherwise.
    def get_object(self, request, object_id, from_field=None):
        # Read through get_queryset, whose `contact_visible` says whether its submitter is shown.
        comment = super().get_object(request, object_id, from_field)
        if comment is not None:
            comment.standing = standing(request.user, comment)
        return comment

    @admin.display(description=_("负责答复"))
    def answer_duty(self, comment):
        return answer_duty(comment, getattr(comment, "standing", None))

    @admin.display(description=_("办理记录"))
    def history(self, comment):
        """Who did what and when, in words (workflow.event_in_words), oldest first."""
        return history_table(
            comment.events.select_related("actor", "department").order_by("at", "pk"), comment
        )

    def render_change_form(self, request, context, *args, **kwargs):
        """A stale save's page: what changed since it was opened, as the history shows it (so
        nothing the page does not show anyway), and what was typed where it may not be saved."""
        form = context["adminform"].form if "adminform" in context else None
        if getattr(form, "changes_since", None):
            context["changes_since"] = history_table(form.changes_since, form.instance)
        context["kept_aside"] = getattr(form, "kept_aside", ())
        return super().render_change_form(request, context, *args, **kwargs)

    @admin.display(description=_("提交人"))
    def submitter(self, comment):
        if not getattr(comment, "contact_visible", False):
            # Masked as in the routed email and the export: without the organisation either.
            return mask_name(comment.submitter_name) or "—"
        name = comment.submitter_name or "—"
        if not comment.organisation:
            return name
        return name + gettext("（%(label)s）") % {"label": comment.organisation}

    @admin.display(description=_("联系方式"))
    def contact(self, comment):
        phone, email = comment.phone, comment.email
        if not getattr(comment, "contact_visible", False):
            phone, email = mask_phone(phone), mask_email(email)
        return " · ".join(value for value in (phone, email) if value) or "—"

    @admin.display(description=_("希望得到答复"))
    def reply_wish(self, comment):
        """Shown only with the contact details in full (get_fieldsets); the reply is emailed,
        so a wish without an address is answered by telephone."""
        if not getattr(comment, "contact_visible", False):
            return "—"
        if not comment.wants_reply:
            return _("否")
        if comment.email:
            return _("是")
        return format_html(
            "<strong>{}</strong>", _("提交人希望收到答复，但没有留电子邮箱：请电话答复。")
        )

    # After saving: where the user may still go -------------------------------------------
    def response_add(self, request, obj, post_url_continue=None):
        """A letter recorded for a clause another department answers is not the recorder's to
        open: the queue (or a new letter), told where it went, not a page it may not see."""
        if comment_visible_to(request.user, obj):
            return super().response_add(request, obj, post_url_continue)
        comment = Comment.objects.get(pk=obj.pk)
        routes = comment.routes.select_related("department").order_by("-is_owner", "position")
        self.message_user(
            request,
            _(
                "已登记，查询码 %(number)s，已分办给%(departments)s。"
                "这条意见不由您的单位办理，您无法再打开它。"
            )
            % {
                "number": comment.tracking_number,
                "departments": _("、").join(route.department.name for route in routes) or "—",
            },
            messages.SUCCESS,
        )
        if "_addanother" in request.POST:
            return HttpResponseRedirect(request.path)
        return HttpResponseRedirect(reverse("admin:comments_comment_changelist"))

    def response_change(self, request, obj):
        return self.passed_on_response(request, obj) or super().response_change(request, obj)

    def passed_on_response(self, request, obj):
        """A comment its department has passed on (workflow: it leaves it; or moved to a clause
        another department answers) is no longer the user's to open: the queue, told who
        answers it now. None while it is still theirs."""
        if comment_visible_to(request.user, obj):
            return None
        owner = obj.routes.filter(is_owner=True).select_related("department").first()
        self.message_user(
            request,
            _("意见 %(number)s 已转由%(department)s负责答复，您的单位不再办理这条意见。")
            % {
                "number": obj.tracking_number,
                "department": owner.department.name if owner else "—",
            },
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:comments_comment_changelist"))

    # Bulk actions ------------------------------------------------------------------------
    @staticmethod
    def _selected_gone(request, listed) -> int:
        """How many of the comments ticked on the page the action's queryset no longer holds:
        passed on by a colleague, or changed out of the list's filter, since it was shown."""
        if request.POST.get("select_across") == "1":
            return 0
        ticked = {int(pk) for pk in request.POST.getlist(ACTION_CHECKBOX_NAME) if is_number(pk)}
        return len(ticked - listed)

    def _bulk(self, request, queryset, work: CommentChange, done_message, only=None):
        """Apply one change to each selected comment on its own. Counted as done only where it
        changed something (wrote history); those it left as they were are named, with why; the
        refused ones are named with their reasons, stay selected, and what was typed is shown
        again. `only`: the comments the action is for; the others are left as they are."""
        done, unchanged, refused = 0, [], []
        statuses = dict(Comment.Status.choices)
        listed = set()
        for comment in queryset:
            listed.add(comment.pk)
            if only is not None and not only(comment):
                # An invalid comment goes back to 待处理, an answered one to 处理中 (TRANSITIONS).
                back = (
                    Comment.Status.PENDING
                    if comment.status == Comment.Status.INVALID
                    else Comment.Status.IN_PROGRESS
                )
                why = _("已是“%(status)s”；如需重新办理，请在意见页面改回“%(back)s”。") % {
                    "status": statuses[comment.status],
                    "back": statuses[back],
                }
                unchanged.append(f"{comment.tracking_number}{_('：')}{why}")
                continue
            before = comment_version(comment)
            try:
                comment_change_apply(comment, request.user, work)
            except (ValidationError, PermissionDenied) as error:
                reason = sentences(getattr(error, "messages", None) or [_("无权处理这条意见。")])
                refused.append((comment.pk, f"{comment.tracking_number}{_('：')}{reason}"))
                continue
            if comment_version(comment) != before:
                done += 1
            else:
                if work.status and comment.status == work.status:
                    why = _("已是“%(status)s”。") % {"status": statuses[comment.status]}
                else:
                    why = _("已是所选的处理意见。")
                unchanged.append(f"{comment.tracking_number}{_('：')}{why}")
        if done:
            self.message_user(request, done_message(done), messages.SUCCESS)
        if gone := self._selected_gone(request, listed):
            self.message_user(
                request,
                ngettext(
                    "%(count)d 条所选意见已不在此列表中（可能刚被他人转办或修改），未作处理。",
                    "%(count)d 条所选意见已不在此列表中（可能刚被他人转办或修改），未作处理。",
                    gone,
                )
                % {"count": gone},
                messages.WARNING,
            )
        if unchanged:
            self.message_user(
                request,
                ngettext(
                    "%(count)d 条意见无需改动，未作修改：",
                    "%(count)d 条意见无需改动，未作修改：",
                    len(unchanged),
                )
                % {"count": len(unchanged)},
                messages.INFO,
            )
            for line in unchanged[:20]:
                self.message_user(request, line, messages.INFO)
            if len(unchanged) > 20:
                self.message_user(
                    request,
                    _("另有 %(count)d 条无需改动。") % {"count": len(unchanged) - 20},
                    messages.INFO,
                )
        if not refused:
            return
        self.message_user(
            request,
            ngettext(
                "%(count)d 条意见未能处理（仍为选中状态，填写的内容已保留）：",
                "%(count)d 条意见未能处理（仍为选中状态，填写的内容已保留）：",
                len(refused),
            )
            % {"count": len(refused)},
            messages.WARNING,
        )
        for _pk, line in refused[:20]:
            self.message_user(request, line, messages.WARNING)
        if len(refused) > 20:
            self.message_user(
                request,
                _("另有 %(count)d 条未能处理。") % {"count": len(refused) - 20},
                messages.WARNING,
            )
        request.session[KEPT_ACTION] = {
            **self._action_form(request).kept(),
            "selected": [pk for pk, _line in refused],
        }

    def _input_missing(self, request, message) -> None:
        """An action without the choice it needs: said, with what was typed beside it and the
        ticked comments kept for the second try, as for comments refused one by one."""
        self.message_user(request, message, messages.ERROR)
        request.session[KEPT_ACTION] = {
            **self._action_form(request).kept(),
            "selected": [
                int(pk) for pk in request.POST.getlist(ACTION_CHECKBOX_NAME) if pk.isdigit()
            ],
        }

    def _action_form(self, request) -> BulkActionForm:
        form = self.action_form(request.POST)
        form.fields["action"].choices = self.get_action_choices(request)
        form.is_valid()
        return form

    def _action_inputs(self, request) -> dict:
        """The decision, texts and department typed beside the action, validated once."""
        inputs = getattr(self._action_form(request), "cleaned_data", {})
        return {
            "decision": inputs.get("decision") or "",
            "text": inputs.get("text") or "",
            "waive_reason": inputs.get("waive_reason") or "",
            "department": inputs.get("department"),
        }

    def changelist_view(self, request, extra_context=None):
        """After a refused bulk action: its inputs as typed, its refused comments selected."""
        kept = request.session.pop(KEPT_ACTION, None) if request.method == "GET" else None
        extra_context = {**(extra_context or {}), "kept_selection": (kept or {}).get("selected")}
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None) or {}
        if kept and context.get("action_form") is not None:
            context["action_form"].initial = kept
        return response

    def _export(self, request, queryset, fmt):
        total = queryset.count()
        if total > settings.EXPORT_INLINE_ROWS:
            export_start(queryset, request.user, fmt)
            url = reverse("admin:comments_export_changelist")
            self.message_user(
                request,
                format_html(
                    _('共 {} 条，正在后台生成导出文件；完成后可在<a href="{}">导出</a>中下载。'),
                    total,
                    url,
                ),
                messages.INFO,
            )
            return None
        buffer = io.BytesIO()
        export_write(fmt, queryset, request.user, buffer)
        response = HttpResponse(buffer.getvalue(), content_type=CONTENT_TYPES[fmt])
        name = f"comments-{timezone.localtime():%Y%m%d-%H%M%S}.{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "private, no-store"
        return response

    @admin.action(description=_("导出为 CSV"))
    def export_csv(self, request, queryset):
        return self._export(request, queryset, "csv")

    @admin.action(description=_("导出为 Excel（XLSX）"))
    def export_xlsx(self, request, queryset):
        return self._export(request, queryset, "xlsx")

    @admin.action(description=_("开始处理（改为处理中）"))
    def bulk_start(self, request, queryset):
        # Only what is waiting: reopening an answered comment is a decision taken on its page.
        self._bulk(
            request,
            queryset,
            CommentChange(status=Comment.Status.IN_PROGRESS),
            lambda n: ngettext("%d 条意见改为处理中。", "%d 条意见改为处理中。", n) % n,
            only=lambda comment: (
                comment.status in (Comment.Status.PENDING, Comment.Status.IN_PROGRESS)
            ),
        )

    @admin.action(description=_("设置处理意见（选择处理意见，理由填入文本框）"))
    def bulk_decide(self, request, queryset):
        inputs = self._action_inputs(request)
        if not inputs["decision"]:
            return self._input_missing(request, _("请先选择处理意见。"))
        self._bulk(
            request,
            queryset,
            CommentChange(decision=inputs["decision"], decision_reason=inputs["text"]),
            lambda n: (
                ngettext("已为 %d 条意见设置处理意见。", "已为 %d 条意见设置处理意见。", n) % n
            ),
        )

    @admin.action(
        description=_(
            "以同一答复答复所选意见（答复填入文本框；配合单位未回复的，填写不等待的理由；"
            "不予采纳的，先用“设置处理意见”填写理由）"
        )
    )
    def bulk_answer(self, request, queryset):
        inputs = self._action_inputs(request)
        self._bulk(
            request,
            queryset,
            CommentChange(
                status=Comment.Status.ANSWERED,
                reply=inputs["text"],
                decision=inputs["decision"],
                waive_reason=inputs["waive_reason"],
            ),
            lambda n: ngettext("已答复 %d 条意见。", "已答复 %d 条意见。", n) % n,
        )

    @admin.action(description=_("标记为无效（原因填入文本框）"))
    def bulk_mark_invalid(self, request, queryset):
        text = self._action_inputs(request)["text"]
        self._bulk(
            request,
            queryset,
            CommentChange(status=Comment.Status.INVALID, invalid_reason=text),
            lambda n: ngettext("已将 %d 条意见标记为无效。", "已将 %d 条意见标记为无效。", n) % n,
            only=lambda comment: comment.status != Comment.Status.INVALID,
        )

    @admin.action(description=_("增加配合单位（选择单位，理由填入文本框）"))
    def bulk_add_department(self, request, queryset):
        inputs = self._action_inputs(request)
        if inputs["department"] is None:
            return self._input_missing(request, _("请先选择单位。"))
        self._bulk(
            request,
            queryset,
            CommentChange(route_to=inputs["department"], route_reason=inputs["text"]),
            lambda n: (
                ngettext("已为 %d 条意见增加配合单位。", "已为 %d 条意见增加配合单位。", n) % n
            ),
        )
