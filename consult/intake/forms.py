"""The comment form: every rule of a citizen's submission, for the web page and the API alike."""

import copy
import unicodedata

from captcha.fields import CaptchaField, CaptchaTextInput
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.forms.boundfield import BoundField
from django.utils.translation import gettext_lazy as _

from consult.comments.attachments import clean_attachment
from consult.comments.models import Comment
from consult.comments.tracking import normalise_tracking_number
from consult.comments.validation import (
    BODY_MAX_LENGTH,
    PHONE_TYPED_MAX_LENGTH,
    clause_by_id,
    clean_body,
    clean_phone,
    clean_text,
    displayable,
    refuse_unstorable,
)
from consult.consultations.models import Consultation, Department
from consult.intake.presenters import imported_text_language

ORGANISATION_KINDS = {Comment.Kind.COMPANY, Comment.Kind.ORGANISATION}


class DepartmentSelect(forms.Select):
    """A list of departments, each name marked as the Chinese it is on an English page (the
    names come from the notice): a screen reader reads them as Chinese."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        language = imported_text_language()
        if value and language:
            option["attrs"]["lang"] = language
        return option


def _texts(value) -> list:
    """The text in what a widget read from the request: strings, lists of them, file names."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _texts(item)]
    name = getattr(value, "name", None)
    return [name] if isinstance(name, str) else []


class StorableInputForm(forms.Form):
    """Every field refuses text that cannot be stored (a lone surrogate), whatever its own rules.

    The rule is validation.refuse_unstorable, which clean_text applies too; here it also covers
    fields that never reach clean_text (an email, a choice, a file name), replaces whatever
    else the field said with that one message, and keeps such text out of the page shown back,
    which could not be encoded either.
    """

    # Fields the citizen must fill in although the form field is not `required` (its own
    # clean method words the message): the page marks them as required all the same.
    marked_required = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not isinstance(self.fields, SharedFields):  # those were prepared once
            self._fields_prepare(self.fields)

    def _fields_prepare(self, fields) -> None:
        """What each instance does to its copy of the fields."""
        for name, field in fields.items():
            field.marked_required = field.required or name in self.marked_required
            if name in self.marked_required:
                field.widget.attrs["aria-required"] = "true"

    def full_clean(self):
        super().full_clean()
        if not self.is_bound:
            return
        refused = {}
        for name, field in self.fields.items():
            key = self.add_prefix(name)
            value = field.widget.value_from_datadict(self.data, self.files, key)
            try:
                for text in _texts(value):
                    refuse_unstorable(text)
            except ValidationError as error:
                refused[name] = (key, error)
        if not refused:
            return
        data = self.data.copy()
        for name, (key, error) in refused.items():
            self._errors.pop(name, None)
            self.add_error(name, error)
            if hasattr(data, "setlist"):
                data.setlist(key, [_displayable(item) for item in data.getlist(key)])
            elif key in data:
                data[key] = _displayable(data[key])
        self.data = data


class SharedFields(dict):
    """A form's fields prepared once, which every instance shares instead of a deep copy of
    its own (Django's `BaseForm` deep-copies `base_fields` for each instance). Only for a form
    that no page renders and nothing changes after `__init__`: each instance gets its own
    dict, so it may add or drop a field, or replace one with a copy it then changes."""

    def __deepcopy__(self, memo):
        return SharedFields(self)


def fields_shared(form_class):
    """Give `form_class` fields prepared once and shared by all its instances."""
    form = form_class.__new__(form_class)
    fields = copy.deepcopy(dict(form_class.base_fields))
    form._fields_prepare(fields)
    form_class.base_fields = SharedFields(fields)
    return form_class


def _displayable(value):
    return displayable(value) if isinstance(value, str) else value


class AttachmentBoundField(BoundField):
    """The attachment's input, described also by the note that the file chosen was not kept."""

    @property
    def aria_describedby(self):
        described = super().aria_describedby
        if described is not None and self.form.unsaved_file_name:
            described = f"{described} {self.auto_id}_unsaved".strip()
        return described


class CaptchaInput(CaptchaTextInput):
    """The package's widget shown as one input under its label, not as a group of its own: so
    Django ties the help and the error to it, as to every other input. Those and `required`
    go on the input typed into only, not on the hidden key (ARIA allows none on it)."""

    use_fieldset = False

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        key = context["widget"]["subwidgets"][0]["attrs"]
        for attribute in [a for a in key if a.startswith("aria-") or a == "required"]:
            del key[attribute]
        return context


def _captcha_help(consultation) -> str:
    if consultation.contact_email:
        return _(
            "请输入图片中的字符，不区分大小写。无法辨认图片的，可以把意见发到电子邮箱"
            " %(email)s，或按征求意见通知中的其他联系方式提交。"
        ) % {"email": consultation.contact_email}
    return _(
        "请输入图片中的字符，不区分大小写。无法辨认图片的，可以按征求意见通知中的"
        "联系方式，通过电子邮件或信函提交意见。"
    )


class PlainEmailField(forms.EmailField):
    """An address as a Chinese input method types it ("ｏｆｆｉｃｅ＠example.org") is the
    plain one: made so (NFKC) before it is checked and stored, as the status lookup reads
    the one typed there (comments.lookup)."""

    def to_python(self, value):
        return unicodedata.normalize("NFKC", super().to_python(value))


def typed_comment_text(request) -> str:
    """What a refused post's citizen wrote, to show back to them: the page that refuses it (a
    period closed, a clause replaced, a form expired) is all they have left of it without
    JavaScript, or with the browser's storage refused along with its cookies."""
    if request.method != "POST":
        return ""
    # A comment is at most BODY_MAX_LENGTH characters: a post far longer is not one to keep.
    return request.POST.get("body", "").strip()[: 2 * BODY_MAX_LENGTH]


class CommentForm(StorableInputForm):
    """Field names are the API's; the web page shows the same form with labels and legends."""

    marked_required = ("body",)

    clause = forms.IntegerField(label=_("条款"), required=False, widget=forms.HiddenInput)
    body = forms.CharField(
        label=_("意见内容"),
        required=False,  # clean_body words the "required" message itself
        strip=False,
        widget=forms.Textarea(attrs={"rows": 10, "maxlength": 5000, "minlength": 10}),
        help_text=_("10 至 5000 字。请尽量写明理由和建议的修改内容。"),
    )
    name = forms.CharField(label=_("姓名"), required=False, strip=False, max_length=100)
    kind = forms.ChoiceField(
        label=_("身份"),
        choices=Comment.Kind.choices,
        initial=Comment.Kind.INDIVIDUAL,
        widget=forms.RadioSelect,
    )
    organisation = forms.CharField(
        label=_("单位名称"),
        required=False,
        strip=False,
        max_length=200,
        help_text=_("以企业或社会组织身份提交时必填。"),
    )
    phone = forms.CharField(
        label=_("联系电话"),
        required=False,
        strip=False,
        max_length=PHONE_TYPED_MAX_LENGTH,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
        help_text=_("手机或带区号的固定电话。"),
    )
    email = PlainEmailField(
        label=_("电子邮箱"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"invalid": _("请填写有效的电子邮箱地址，如 name@example.cn。")},
        help_text=_("填写后会收到回执邮件。"),
    )
    wants_reply = forms.BooleanField(label=_("希望收到答复"), required=False)
    notify_on_report = forms.BooleanField(
        label=_("意见采纳情况公布时发邮件通知我"),
        help_text=_("发布修改稿时，也会告诉您意见所涉条款的去向。每封邮件中都有停止接收的链接。"),
        required=False,
    )
    consent = forms.BooleanField(
        label=_("我已阅读并同意上述个人信息处理说明"),
        required=True,
        error_messages={"required": _("请阅读并同意个人信息处理说明后再提交。")},
    )
    # Apart from the consent above and never ticked for the citizen: publishing is their choice.
    publish_consent = forms.BooleanField(
        label=_("同意公开本条意见（不公开姓名、联系方式等个人信息）"),
        required=False,
        help_text=_(
            "可选，不勾选不影响意见的办理和答复。勾选后，发布单位审核通过的，将在本网站公开"
            "意见内容、提交日期、身份类别（公众、企业等）以及采纳情况公布后的答复；姓名、"
            "单位名称、电话和电子邮箱一律不公开，意见中的电话号码、邮箱地址和身份证号会被"
            "遮盖。附件不公开。"
        ),
    )
    attachment = forms.FileField(
        label=_("附件（可选）"),
        required=False,
        help_text=_("PDF、Word（doc、docx）、JPG 或 PNG，不超过 10 MB。"),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.doc,.docx,.jpg,.jpeg,.png"}),
        bound_field_class=AttachmentBoundField,
    )
    # A field people never see; software that fills in every field gives itself away.
    website = forms.CharField(label=_("网址（请勿填写）"), required=False)

    def __init__(self, *args, consultation, clause=None, with_captcha=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.consultation = consultation
        self.fixed_clause = clause
        self.attachment_type = ""
        if consultation.real_names_required:
            name = self.fields["name"] = copy.deepcopy(self.fields["name"])
            name.required = name.marked_required = True
            name.help_text = _("本次征求意见要求实名。")
        if clause is not None:
            self.initial.setdefault("clause", clause.pk)  # not on the field: it may be shared
        if with_captcha:
            self.fields["captcha"] = CaptchaField(
                label=_("验证码"),
                # The package's own says 认证码 / "Invalid CAPTCHA": another word than the
                # label's, and nothing of what to do.
                error_messages={
                    "invalid": _("验证码不正确，请输入新图片中的字符。"),
                    "required": _("请输入图片中的字符。"),
                },
                # An image alone shuts out whoever cannot see it: the way round is said
                # beside it, and read out with the input (Django's aria-describedby).
                help_text=_captcha_help(consultation),
                widget=CaptchaInput(),
            )
            self.fields["captcha"].marked_required = True

    @property
    def unsaved_file_name(self) -> str:
        """The name of the file this post carried, when the form is shown again: a browser
        cannot refill a file input, so the citizen must be told to choose it again. Empty when
        the attachment itself was refused, as its own error says so."""
        if not self.is_bound or "attachment" not in self.fields or "attachment" in self.errors:
            return ""
        upload = self.files.get(self.add_prefix("attachment"))
        return getattr(upload, "name", "") or ""

    def _fields_prepare(self, fields) -> None:
        super()._fields_prepare(fields)
        for field in fields.values():
            # Our own rule refuses NUL and every other control character with one message.
            field.validators = [
                v for v in field.validators if not isinstance(v, ProhibitNullCharactersValidator)
            ]

    def clean_clause(self):
        if self.fixed_clause is not None:
            return self.fixed_clause
        return clause_by_id(self.consultation, self.cleaned_data.get("clause"))

    def clean_body(self):
        return clean_body(self.cleaned_data.get("body", ""))

    def clean_name(self):
        return clean_text(
            self.cleaned_data.get("name", ""),
            field="name",
            required=self.fields["name"].required,
            max_length=100,
        )

    def clean_organisation(self):
        return clean_text(self.cleaned_data.get("organisation", ""), field="organisation")

    def clean_phone(self):
        return clean_phone(self.cleaned_data.get("phone", ""))

    def clean_email(self):
        return clean_text(self.cleaned_data.get("email") or "", field="email")

    def clean_attachment(self):
        upload = self.cleaned_data.get("attachment")
        if not upload:
            return None
        self.attachment_type = clean_attachment(upload)
        return upload

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("website"):
            raise ValidationError(
                _("提交未被接受。如果您是通过浏览器正常填写的，请刷新页面后重试。"),
                code="honeypot",
            )
        if (
            cleaned.get("kind") in ORGANISATION_KINDS
            and not cleaned.get("organisation")
            and "organisation" not in self.errors  # filled in, and refused for what it holds
        ):
            self.add_error(
                "organisation",
                ValidationError(_("以企业或社会组织身份提交时，请填写单位名称。"), code="required"),
            )
        if (
            cleaned.get("wants_reply")
            and not cleaned.get("phone")
            and not cleaned.get("email")
            and "phone" not in self.errors
            and "email" not in self.errors
        ):
            self.add_error(
                "email",
                ValidationError(
                    _("希望收到答复时，请至少填写联系电话或电子邮箱中的一项。"), code="contact"
                ),
            )
        if (
            cleaned.get("notify_on_report")
            and not cleaned.get("email")
            and "email" not in self.errors
        ):
            self.add_error(
                "email",
                ValidationError(
                    _("需要填写电子邮箱，才能在采纳情况公布时通知您。"), code="contact"
                ),
            )
        return cleaned

    def submission(self) -> dict:
        """The cleaned data as `comment_submit` takes it."""
        data = self.cleaned_data
        return {
            "consultation": self.consultation,
            "clause": data["clause"],
            "body": data["body"],
            "submitter_name": data["name"],
            "submitter_kind": data["kind"],
            "organisation": data["organisation"],
            "phone": data["phone"],
            "email": data["email"],
            "wants_reply": data["wants_reply"],
            "notify_on_report": data["notify_on_report"],
            "consent": data["consent"],
            "publish_consent": data["publish_consent"],
            "attachment": data.get("attachment"),
            "attachment_type": self.attachment_type,
        }


@fields_shared
class ApiCommentForm(CommentForm):
    """The API's comment form: the same rules, without the page's attachment and honeypot.

    Nothing renders it and nothing changes its fields after `__init__`, so they are prepared
    once per process and shared (`SharedFields`): a copy for each of the many submissions of
    a busy day was a tenth of the CPU of one."""

    attachment = None
    website = None


class StatusLookupForm(StorableInputForm):
    tracking_number = forms.CharField(
        label=_("回执编号"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    proof = forms.CharField(
        label=_("手机号后四位或电子邮箱"),
        max_length=254,
        help_text=_("提交意见时填写的电话号码的后四位，或电子邮箱地址。"),
    )

    def clean_tracking_number(self):
        number = clean_text(self.cleaned_data["tracking_number"], field="tracking_number")
        return normalise_tracking_number(number)

    def clean_proof(self):
        return clean_text(self.cleaned_data["proof"], field="proof")


class ConsultationFilterForm(forms.Form):
    """The list's search: words, open or closed, issuer and year; each one optional."""

    STATUS_CHOICES = [
        ("", _("全部")),
        ("open", _("征求意见中")),
        ("upcoming", _("未开始")),
        ("closed", _("已截止")),
    ]

    q = forms.CharField(label=_("关键词"), required=False, max_length=100, strip=True)
    status = forms.ChoiceField(label=_("状态"), choices=STATUS_CHOICES, required=False)
    issuer = forms.ModelChoiceField(
        label=_("发布单位"),
        queryset=Department.objects.none(),
        required=False,
        empty_label=_("全部"),
        widget=DepartmentSelect,
    )
    year = forms.TypedChoiceField(label=_("年份"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["issuer"].queryset = Department.objects.filter(
            pk__in=Consultation.objects.values("issuer")
        ).order_by("name")
        years = sorted(
            {moment.year for moment in Consultation.objects.dates("opens_at", "year")},
            reverse=True,
        )
        self.fields["year"].choices = [("", _("全部"))] + [(y, str(y)) for y in years]

    def clean_q(self):
        return displayable(self.cleaned_data.get("q", ""))

    def filters(self) -> dict:
        """What `consultations_found` takes; an invalid value is left out, not an error page."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "words": data.get("q") or "",
            "status": data.get("status") or "",
            "issuer": data.get("issuer"),
            "year": data.get("year"),
        }
