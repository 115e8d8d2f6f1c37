"""The queue's forms: working a comment, typing in a received one, and the bulk actions' inputs."""

import json
import secrets

from django import forms
from django.contrib.admin import helpers
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from consult.comments.access import consultations_open_to_letters_from
from consult.comments.attachments import clean_attachment
from consult.comments.models import Comment
from consult.comments.services import received_check
from consult.comments.validation import clause_open_check, clean_body, clean_phone, clean_text
from consult.comments.workflow import (
    CHANGED_SINCE_OPENED,
    CLEARABLE,
    FORM_FIELDS,
    CommentChange,
    change_problems,
    comment_changes_since,
    comment_lock,
    comment_version,
    fields_open_to,
    standing,
    statuses_open_to,
    version_is_stale,
)
from consult.consultations.models import Clause, Department, commentable_revision_id
from consult.querystring import is_number

# A save from a page read before a colleague's change, shown again to be saved on purpose.
CHANGED_SINCE_SHOWN = _(
    "这条意见在您打开后已被他人修改，修改内容列在下方。您填写的内容已保留：请核对后再次保存。"
)


def _same(posted, shown) -> bool:
    """The same value, however the browser sent a textarea's line breaks."""
    return (
        str(posted or "").replace("\r\n", "\n").strip()
        == str(shown or "").replace("\r\n", "\n").strip()
    )


class CommentWorkForm(forms.ModelForm):
    """The change form's editable part: a request to `comment_change_apply`, not model fields."""

    # Not required: a standing that may not change the status is not shown the field.
    status = forms.ChoiceField(label=_("状态"), choices=Comment.Status.choices, required=False)
    decision = forms.ChoiceField(
        label=_("处理意见"), choices=[("", "—"), *Comment.Decision.choices], required=False
    )
    decision_reason = forms.CharField(
        label=_("理由"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    reply = forms.CharField(
        label=_("答复"),
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        help_text=_("给提交人的答复：答复后通过邮件发送（如留有邮箱），并在办理情况查询中显示。"),
    )
    invalid_reason = forms.CharField(label=_("无效原因"), required=False, max_length=300)
    opinion = forms.CharField(
        label=_("配合意见"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("配合单位填写，负责答复的单位可以看到。"),
    )
    # Shown only to a member of two or more of the comment's cooperating departments.
    opinion_department = forms.ModelChoiceField(
        label=_("提出意见的单位"), queryset=Department.objects.none(), required=False
    )
    waive_reason = forms.CharField(
        label=_("不等待配合意见的理由"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    route_to = forms.ModelChoiceField(
        label=_("转办或增加单位"), queryset=Department.objects.active(), required=False
    )
    make_owner = forms.BooleanField(label=_("由该单位负责答复（转办）"), required=False)
    route_reason = forms.CharField(label=_("转办理由"), required=False, max_length=500)
    note = forms.CharField(
        label=_("内部备注"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("仅工作人员可见。"),
    )
    # The comment as the page showed it (workflow.comment_version): a save from a page read
    # before a colleague's change is refused instead of putting back what the page showed.
    version = forms.CharField(
        widget=forms.HiddenInput,
        error_messages={"required": CHANGED_SINCE_OPENED},
    )
    # The worked fields' values as the page showed them (JSON): a stale page is shown again
    # with what the user typed, and the comment's current values where they typed nothing.
    values_shown = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Comment
        fields = []

    user = None  # set by CommentAdmin.get_form
    # What comment_change_apply refused after this form's checks let the change through: the
    # page is shown again with it (CommentAdmin.changeform_view); set by CommentAdmin.get_form.
    refused: ValidationError | None = None
    WORKED_FIELDS = ("status", "decision", "decision_reason", "reply", "invalid_reason")
    # Set when a stale save is refused: the history entries the page did not show, and what
    # the user typed into fields the page shown again no longer offers (label, text).
    changes_since = ()
    kept_aside = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # What the fields were, to see what changed. The admin builds this form with these
        # names as model fields; `_post_clean` keeps them off the instance.
        self.saved = {name: getattr(self.instance, name) for name in self.WORKED_FIELDS}
        for name, value in self.saved.items():
            self.fields[name].initial = value
        # A string: "0" (no history yet) is a value like any other.
        self.fields["version"].initial = str(comment_version(self.instance))
        # What the admin shows (CommentAdmin.get_fieldsets asks the same rule); a field the
        # user is not shown is still checked by the workflow if posted.
        me = standing(self.user, self.instance)
        self.shown = fields_open_to(me, self.instance)
        self.fields["values_shown"].initial = self._values_shown(self.instance)
        if "opinion_department" in self.shown:
            self.fields["opinion_department"].queryset = Department.objects.filter(
                pk__in=me.cooperating_departments
            )
        if "status" in self.shown:
            labels = dict(Comment.Status.choices)
            self.fields["status"].choices = [
                (value, labels[value]) for value in statuses_open_to(me, self.instance)
            ]

    def work(self) -> CommentChange:
        data = self.cleaned_data

        def changed(name):
            value = data.get(name) or ""
            return value if value != self.saved[name] else ""

        emptied = self._emptied()
        reason = changed("decision_reason")
        if changed("decision") and not reason and "decision_reason" not in emptied:
            # A new decision beside the reason the page showed: the user keeps that reason
            # (the workflow drops a replaced decision's reason unless it is given).
            reason = data.get("decision_reason") or ""
        return CommentChange(
            cleared=frozenset(emptied),
            status=changed("status"),
            decision=changed("decision"),
            decision_reason=reason,
            reply=changed("reply"),
            invalid_reason=changed("invalid_reason"),
            note=data.get("note", ""),
            opinion=data.get("opinion", ""),
            opinion_department=data.get("opinion_department"),
            waive_reason=data.get("waive_reason", ""),
            route_to=data.get("route_to"),
            make_owner=bool(data.get("make_owner")),
            route_reason=data.get("route_reason", ""),
            version=data.get("version"),
        )

    def _emptied(self) -> list[str]:
        """The answer's fields the page showed with a value and the user emptied: to be cleared
        (an empty field is otherwise "no change"). Only fields shown and posted count; a page
        from before `values_shown` is taken to have shown the comment as it is."""
        shown = self._shown_values()
        return [
            name
            for name in CLEARABLE
            if name in self.shown
            and name in self.data
            and not str(self.cleaned_data.get(name) or "").strip()
            and str(shown.get(name, self.saved[name]) or "").strip()
        ]

    def _shown_values(self) -> dict:
        """The worked fields' values as the page showed them (`values_shown`), {} if unreadable."""
        try:
            shown = json.loads(self.data.get("values_shown") or "{}")
        except ValueError:
            return {}
        return shown if isinstance(shown, dict) else {}

    def clean_version(self):
        version = self.cleaned_data["version"]
        if not is_number(version):  # str.isdigit takes "²", which int() refuses
            raise ValidationError(self.fields["version"].error_messages["required"], code="stale")
        return int(version)

    def clean(self):
        cleaned = super().clean()
        if (refused := self.refused) is not None:
            self._problems_add(
                refused.message_dict
                if hasattr(refused, "error_dict")
                else {NON_FIELD_ERRORS: refused.messages}
            )
        elif "version" in cleaned:
            # The admin's change view runs in one transaction: the row stays locked until
            # save_model has applied the change, so two saves at once are checked one after
            # the other, the second against what the first stored.
            comment = comment_lock(self.instance.pk)
            if version_is_stale(comment, cleaned["version"]):
                self._show_again(comment, cleaned["version"])
            elif not self.errors:
                self._problems_add(change_problems(comment, self.user, self.work()))
        # An error on a field the page does not show is shown above the form.
        for name in [name for name in self._errors if name in (*FORM_FIELDS, "version")]:
            if name not in self.shown:
                self.add_error(None, self._errors.pop(name))
        return cleaned

    def _values_shown(self, comment: Comment) -> str:
        return json.dumps(
            {name: getattr(comment, name) for name in self.WORKED_FIELDS if name in self.shown},
            ensure_ascii=False,
        )

    def _show_again(self, comment: Comment, version: int):
        """Refuse a save from a stale page, to be shown again as current: what the user typed,
        the comment's values where they typed nothing, the entries since, the current version.

        Saved again, it is a decision taken with the colleague's change in view. Its own field
        errors are not shown: the values they concern may be out of date.
        """
        self.changes_since = list(comment_changes_since(comment, version))
        before = self._shown_values()
        data = self.data.copy()
        for name in self.WORKED_FIELDS:
            # A page without the values it showed keeps what it posted.
            typed = name in data and (name not in before or not _same(data[name], before[name]))
            if name in self.shown and not typed:
                data[name] = getattr(comment, name)
        # Typed into a field the page no longer offers (the user's role changed): shown to
        # copy, not lost.
        self.kept_aside = [
            (self.fields[name].label, data[name])
            for name in FORM_FIELDS
            if name not in self.shown
            and isinstance(self.fields[name], forms.CharField)
            and not _same(data.get(name), before.get(name))
        ]
        data["version"] = str(comment_version(comment))
        data["values_shown"] = self._values_shown(comment)
        self.data = data
        self._errors.clear()
        self.add_error(None, ValidationError(CHANGED_SINCE_SHOWN, code="stale"))
        choices = dict(Comment.Status.choices)
        status = data.get("status")
        if "status" in self.shown and status not in dict(self.fields["status"].choices):
            # A select shows its first option for a value it lacks: keep the one the comment has.
            data["status"] = comment.status
        if status and data["status"] != status:
            message = gettext("您选择的“%(chosen)s”在他人修改后已不能选择，状态仍为“%(status)s”。")
            self.add_error(
                "status",
                ValidationError(
                    message
                    % {"chosen": choices.get(status, status), "status": choices[comment.status]},
                    code="stale",
                ),
            )

    def _problems_add(self, problems: dict[str, list[str]]):
        for field, messages in problems.items():
            self.add_error(field if field in self.fields else NON_FIELD_ERRORS, messages)

    def _post_clean(self):
        """Write nothing onto the comment: `comment_change_apply` is its only writer.

        ModelForm's `_post_clean` copies the cleaned fields onto the instance (construct_instance)
        before `save_model` runs, so a save of that instance would bypass the workflow's checks
        and its history.
        """


class ClauseSelect(forms.Select):
    """Clause options marked with their consultation, for letter_entry.js to show the chosen
    consultation's only."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.consultation_of: dict[str, int] = {}

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        if (consultation := self.consultation_of.get(str(value))) is not None:
            option["attrs"]["data-consultation"] = consultation
        return option


def typed_into(data, comment: Comment) -> list[tuple[str, str]]:
    """(label, text) of each text a change form posted for `comment` that is not what the
    comment holds: what the user typed, to be given back when the change cannot be made."""
    fields = CommentWorkForm.base_fields
    return [
        (str(fields[name].label), str(data[name]).strip())
        for name in FORM_FIELDS
        if isinstance(fields.get(name), forms.CharField)
        and str(data.get(name) or "").strip()
        and not _same(data[name], getattr(comment, name, ""))
    ]


class ReceivedCommentForm(forms.ModelForm):
    """A comment received by letter, email or at a meeting, typed in by staff."""

    attachment = forms.FileField(
        label=_("扫描件或原始邮件"),
        required=False,
        help_text=_("PDF、Word、JPG、PNG，或保存的邮件（.eml），不超过 10 MB。"),
    )

    class Meta:
        model = Comment
        fields = [
            "consultation",
            "clause",
            "channel",
            "received_on",
            "body",
            "submitter_name",
            "submitter_kind",
            "organisation",
            "phone",
            "email",
            "wants_reply",
        ]

    # This page, as far as repeats go: posted twice (a double click on 保存), the letter is
    # stored once (comment_record_received's repeat_scope). A page from before it had none.
    page_key = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    user = None

    class Media:
        js = ["consult/letter_entry.js"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["page_key"].initial = secrets.token_urlsafe(16)
        self.fields["channel"].choices = [
            (value, label)
            for value, label in Comment.Channel.choices
            if value in (Comment.Channel.LETTER, Comment.Channel.EMAIL, Comment.Channel.IMPORT)
        ]
        self.fields["received_on"].required = True
        # Only where this member of staff may record letters (comment_record_received checks
        # the same rule); another consultation is "not one of the choices".
        open_to_them = consultations_open_to_letters_from(self.user)
        self.fields["consultation"].queryset = open_to_them
        self._clause_choices(open_to_them)
        self.attachment_type = ""

    def _clause_choices(self, open_to_them):
        """The chosen consultation's clauses only; before one is chosen, each consultation's
        clauses under its own title (letter_entry.js then shows only the chosen one's)."""
        chosen = str(self["consultation"].value() or "")
        if not chosen and len(consultations := list(open_to_them[:2])) == 1:
            chosen = str(consultations[0].pk)
            self.initial["consultation"] = consultations[0].pk
        # Each consultation's text open to comment (the text as it now stands, or the last
        # draft once a final text is out): other revisions' clauses take no new comments
        # (comments.directory refuses them the same way).
        clauses = Clause.objects.filter(
            consultation__in=open_to_them, revision_id=commentable_revision_id("consultation")
        )
        if is_number(chosen) and open_to_them.filter(pk=chosen).exists():
            clauses = clauses.filter(consultation_id=chosen)
        field = self.fields["clause"]
        field.queryset = clauses.select_related("consultation").order_by("consultation_id", "path")
        field.empty_label = _("全文（不针对具体条款）")
        field.widget = ClauseSelect()
        groups: dict = {}
        for clause in field.queryset:
            groups.setdefault(clause.consultation, []).append((clause.pk, str(clause)))
            field.widget.consultation_of[str(clause.pk)] = clause.consultation_id
        if len(groups) == 1:
            field.choices = [("", field.empty_label), *next(iter(groups.values()))]
        else:
            field.choices = [
                ("", field.empty_label),
                *[(consultation.title, options) for consultation, options in groups.items()],
            ]

    def clean_body(self):
        return clean_body(self.cleaned_data["body"])

    def clean_submitter_name(self):
        return clean_text(self.cleaned_data.get("submitter_name", ""), field="submitter_name")

    def clean_organisation(self):
        return clean_text(self.cleaned_data.get("organisation", ""), field="organisation")

    def clean_phone(self):
        return clean_phone(self.cleaned_data.get("phone", ""))

    def clean_attachment(self):
        upload = self.cleaned_data.get("attachment")
        if upload:
            self.attachment_type = clean_attachment(upload, allow_email=True)
        return upload

    def clean(self):
        cleaned = super().clean()
        consultation, clause = cleaned.get("consultation"), cleaned.get("clause")
        if consultation:
            try:
                clause_open_check(consultation, clause)
            except ValidationError as error:
                self.add_error("clause", error)
        if consultation and cleaned.get("received_on"):
            try:
                received_check(consultation, cleaned["received_on"])
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned

    def _post_clean(self):
        """The comment is created by the service, not by saving this form's instance."""


class BulkActionForm(helpers.ActionForm):
    """What the bulk actions take beside the action; a refused action shows it again as typed."""

    decision = forms.ChoiceField(
        label=_("处理意见"), choices=[("", "—"), *Comment.Decision.choices], required=False
    )
    text = forms.CharField(
        label=_("答复或理由"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("答复、理由或原因")}),
    )
    waive_reason = forms.CharField(
        label=_("不等待配合意见的理由"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("配合单位尚未全部回复时填写")}),
    )
    department = forms.ModelChoiceField(
        label=_("单位"), queryset=Department.objects.active(), required=False
    )

    KEPT = ("action", "decision", "text", "waive_reason", "department")

    def kept(self) -> dict:
        """The typed inputs, as plain values to show again (in the session) after a refusal."""
        data = self.cleaned_data
        kept = {name: data.get(name) or "" for name in self.KEPT}
        kept["department"] = data["department"].pk if data.get("department") else ""
        return kept
