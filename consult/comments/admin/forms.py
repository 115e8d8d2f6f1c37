"""The queue's forms: working a comment, typing in a received one, and the bulk actions' inputs."""

from django import forms
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from consult.comments.access import consultations_open_to_letters_from
from consult.comments.attachments import clean_attachment
from consult.comments.models import Comment
from consult.comments.services import received_check
from consult.comments.validation import clause_check, clean_body, clean_phone
from consult.comments.workflow import CommentChange, change_problems
from consult.consultations.models import Clause, Department


class CommentWorkForm(forms.ModelForm):
    """The change form's editable part: a request to `comment_change_apply`, not model fields."""

    status = forms.ChoiceField(label=_("状态"), choices=Comment.Status.choices)
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

    class Meta:
        model = Comment
        fields = []

    user = None  # set by CommentAdmin.get_form
    WORKED_FIELDS = ("status", "decision", "decision_reason", "reply", "invalid_reason")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # What the fields were, to see what changed. The admin builds this form with these
        # names as model fields; `_post_clean` keeps them off the instance.
        self.saved = {name: getattr(self.instance, name) for name in self.WORKED_FIELDS}
        for name, value in self.saved.items():
            self.fields[name].initial = value

    def work(self) -> CommentChange:
        data = self.cleaned_data

        def changed(name):
            value = data.get(name) or ""
            return value if value != self.saved[name] else ""

        return CommentChange(
            status=changed("status"),
            decision=changed("decision"),
            decision_reason=changed("decision_reason"),
            reply=changed("reply"),
            invalid_reason=changed("invalid_reason"),
            note=data.get("note", ""),
            opinion=data.get("opinion", ""),
            waive_reason=data.get("waive_reason", ""),
            route_to=data.get("route_to"),
            make_owner=bool(data.get("make_owner")),
            route_reason=data.get("route_reason", ""),
        )

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            comment = Comment.objects.get(pk=self.instance.pk)
            for field, problems in change_problems(comment, self.user, self.work()).items():
                self.add_error(field, problems)
        return cleaned

    def _post_clean(self):
        """Write nothing onto the comment: `comment_change_apply` is its only writer.

        ModelForm's `_post_clean` copies the cleaned fields onto the instance (construct_instance)
        before `save_model` runs, so a save of that instance would bypass the workflow's checks
        and its history.
        """


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

    user = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
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
        self.fields["clause"].queryset = (
            Clause.objects.filter(consultation__in=open_to_them)
            .select_related("consultation")
            .order_by("consultation", "path")
        )
        self.attachment_type = ""

    def clean_body(self):
        return clean_body(self.cleaned_data["body"])

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
                clause_check(consultation, clause)
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
    decision = forms.ChoiceField(
        label=_("处理意见"), choices=[("", "—"), *Comment.Decision.choices], required=False
    )
    text = forms.CharField(label=_("答复或理由"), required=False)
    department = forms.ModelChoiceField(
        label=_("单位"), queryset=Department.objects.active(), required=False
    )
