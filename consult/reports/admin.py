"""The adoption report in the admin: the coordinator edits, reviews, previews and publishes it."""

import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from consult.comments.access import user_department_ids
from consult.consultations.models import Consultation, Revision
from consult.querystring import UsableLookupValues
from consult.web.admin_site import InvisibleCharactersRefused
from consult.web.stale_edits import ShownValuesAdmin, ShownValuesForm

from .models import AdoptionReport, ReportClause
from .services import (
    introduction_total_errors,
    introduction_where,
    line_where,
    personal_data_errors,
    report_generate,
    report_lock_for_review,
    report_publish,
    report_publish_refusals,
    report_review,
    unanswered_reason_where,
)

COUNTS = ["comments", "adopted", "partly_adopted", "not_adopted", "explained", "campaign_letters"]


def unanswered_comments_url(consultation, revision=None) -> str:
    """The queue of this consultation's comments still to be answered (on one revision's text
    when the consultation has several)."""
    url = (
        reverse("admin:comments_comment_changelist")
        + f"?scope=open&consultation__id__exact={consultation.pk}"
    )
    if revision is not None and consultation.revisions.published().count() > 1:
        url += f"&revision={revision.number}"
    return url


def refusal_line(error: ValidationError, consultation, revision=None):
    """A refusal to publish as staff read it; unanswered comments come with a link to them."""
    message = error.messages[0]
    if getattr(error, "code", None) != "unanswered":
        return message
    count = error.params["count"]
    return format_html(
        '{} <a href="{}">{}</a>',
        message,
        unanswered_comments_url(consultation, revision),
        ngettext("查看这 %(count)d 条意见", "查看这 %(count)d 条意见", count) % {"count": count},
    )


def publish_problems(report: AdoptionReport) -> list:
    """What stops the report going out now, one line each, for the preview: the refusals of
    `report_publish` itself (`report_publish_refusals`), as staff read them."""
    return [
        _("尚未审阅：保存本报告即为审阅。")
        if error.code == "not_reviewed"
        else refusal_line(error, report.consultation, report.revision)
        for error in report_publish_refusals(report)
    ]


class ReportClauseForm(ShownValuesForm):
    """A line's gist: a page opened before a colleague's save keeps their gist where this one
    left it as shown (consult.web.stale_edits)."""

    def clean_gist(self):
        gist = self.cleaned_data["gist"]
        if errors := personal_data_errors(gist, line_where(self.instance)):
            raise ValidationError(errors)
        return gist


class CountedAtField(forms.DateTimeField):
    """A moment carried through a page unchanged: to the microsecond, with its UTC offset."""

    widget = forms.HiddenInput

    def prepare_value(self, value):
        return value.isoformat() if isinstance(value, datetime.datetime) else value


class AdoptionReportForm(ShownValuesForm):
    # When the counts the page shows were made (the report's generated_at as it was opened).
    counted_at = CountedAtField(label=_("统计时间"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("counted_at", self.instance.generated_at)

    def clean(self):
        # Refused, the text kept in the form, if the page was opened before a publication or a
        # recount that has happened since: the saved text would change a published report, or
        # put the earlier count's introduction back and pass for its review. The lines' gists
        # are saved only with a valid report form, so they are refused with it. Locked until
        # this save commits.
        try:
            report_lock_for_review(self.instance, counted_at=self.cleaned_data.get("counted_at"))
        except ValidationError as error:
            if error.code != "recounted" or self.instance.generated_at is None:
                raise
            # Shown again with what was typed and the count the report holds now, which the
            # page then shows: saved again once read, it is taken (it was refused for good,
            # the page carrying the earlier count's time however often it was saved).
            self.data = self.data.copy()
            self.data[self.add_prefix("counted_at")] = self.instance.generated_at.isoformat()
            raise ValidationError(
                _(
                    "统计已于 %(time)s 重新生成：页面已显示新的统计，所填内容已保留，"
                    "请核对后再次保存。"
                )
                % {
                    "time": timezone.localtime(self.instance.generated_at).strftime(
                        "%Y-%m-%d %H:%M:%S"
                    )
                },
                code="recounted",
            ) from None
        return super().clean()

    def clean_introduction(self):
        introduction = self.cleaned_data["introduction"]
        errors = personal_data_errors(introduction, introduction_where())
        # Against the count the report holds now: an introduction edited before a recount
        # still states the earlier total.
        errors += [
            ValidationError(message, code="introduction_total")
            for message in introduction_total_errors(introduction, self.instance)
        ]
        if errors:
            raise ValidationError(errors)
        return introduction

    def clean_unanswered_reason(self):
        reason = self.cleaned_data["unanswered_reason"]
        if errors := personal_data_errors(reason, unanswered_reason_where()):
            raise ValidationError(errors)
        return reason


class ReportGenerateForm(forms.Form):
    revision = forms.ModelChoiceField(
        label=_("征求意见稿"),
        queryset=Revision.objects.none(),
        help_text=_("已发布、征求过意见的各稿；已有报告的，重新统计并保留已填写的说明和要点。"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        consultations = Consultation.objects.all()
        if not user.is_superuser:
            consultations = consultations.coordinated_by(user_department_ids(user))
        field = self.fields["revision"]
        field.queryset = (
            Revision.objects.published()
            .filter(consultation__in=consultations, opens_at__isnull=False)
            .select_related("consultation")
            .order_by("-consultation__opens_at", "consultation_id", "number")
        )
        field.label_from_instance = lambda revision: (
            _("《%(title)s》%(label)s")
            % {
                "title": revision.consultation,
                "label": revision.label,
            }
        )


class ReportClauseInline(InvisibleCharactersRefused, admin.TabularInline):
    model = ReportClause
    form = ReportClauseForm
    fields = ["clause", *COUNTS, "gist", "values_shown"]
    readonly_fields = ["clause", *COUNTS]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return report_editable(obj) and super().has_change_permission(request, obj)

    def get_fields(self, request, obj=None):
        return _shown_fields(super().get_fields(request, obj), obj)

    def get_queryset(self, request):
        # Each line names its clause: one query for them all, not one per line.
        return super().get_queryset(request).select_related("clause")


def _shown_fields(fields, report) -> list:
    """A published report's page is read only: nothing to carry for a save."""
    return list(fields) if report_editable(report) else [f for f in fields if f != "values_shown"]


def report_editable(report) -> bool:
    """A published report is what the public read: it is shown, never changed."""
    return report is None or report.published_at is None


def reports_editable_by(user, reports):
    """Superusers, and staff of the bureau that issued the consultation."""
    if user.is_superuser:
        return reports
    coordinated = Consultation.objects.coordinated_by(user_department_ids(user))
    return reports.filter(consultation__in=coordinated)


@admin.register(AdoptionReport)
class AdoptionReportAdmin(
    InvisibleCharactersRefused, ShownValuesAdmin, UsableLookupValues, admin.ModelAdmin
):
    list_display = [
        "consultation",
        "revision_label",
        "total",
        "adopted",
        "partly_adopted",
        "not_adopted",
        "unanswered",
        "generated_at",
        "reviewed_at",
        "published_at",
        "preview_link",
    ]
    list_select_related = ["consultation", "revision"]
    readonly_fields = [
        "consultation",
        "revision_label",
        "preview_link",
        "total",
        "invalid",
        "adopted",
        "partly_adopted",
        "not_adopted",
        "explained",
        "unanswered",
        "campaigns",
        "campaign_letters",
        "generated_at",
        "reviewed_at",
        "reviewed_by",
        "published_at",
    ]
    fields = [
        "consultation",
        "revision_label",
        "preview_link",
        "introduction",
        "unanswered_reason",
        "counted_at",
        "values_shown",
        *readonly_fields[3:],
    ]
    form = AdoptionReportForm
    inlines = [ReportClauseInline]
    actions = ["regenerate", "publish"]

    def get_queryset(self, request):
        return reports_editable_by(request.user, super().get_queryset(request))

    def get_fields(self, request, obj=None):
        return _shown_fields(super().get_fields(request, obj), obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return report_editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return report_editable(obj) and super().has_delete_permission(request, obj)

    def get_actions(self, request):
        # Deleting a selection would take published reports with it: a report is not deleted.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_publish_report_permission(self, request):
        return request.user.has_perm("consultations.publish_report")

    def save_related(self, request, form, formsets, change):
        """Saving the report, its text checked for personal data, is the coordinator's review of
        the counts the page showed."""
        super().save_related(request, form, formsets, change)
        report_review(form.instance, by=request.user, counted_at=form.cleaned_data["counted_at"])

    @admin.display(description=_("所属文本"), ordering="revision__number")
    def revision_label(self, report):
        return report.revision.label

    def get_urls(self):
        preview = path(
            "<int:object_id>/preview/",
            self.admin_site.admin_view(self.preview_view),
            name="reports_adoptionreport_preview",
        )
        generate = path(
            "generate/",
            self.admin_site.admin_view(self.generate_view),
            name="reports_adoptionreport_generate",
        )
        return [preview, generate, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_generate": self.has_publish_report_permission(request),
        }
        return super().changelist_view(request, extra_context)

    def generate_view(self, request):
        """Make (or count again) the report on one revision of a consultation the user's bureau
        issued: after a second draft, the first draft's report is made here."""
        if not self.has_publish_report_permission(request):
            raise PermissionDenied
        form = ReportGenerateForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            revision = form.cleaned_data["revision"]
            try:
                report = report_generate(revision.consultation, revision=revision)
            except ValidationError as error:
                form.add_error("revision", error)
            else:
                self.message_user(
                    request,
                    _("已生成意见采纳情况草稿，请审阅、修改，然后公布。"),
                    messages.SUCCESS,
                )
                return redirect("admin:reports_adoptionreport_change", report.pk)
        return TemplateResponse(
            request,
            "admin/reports/adoptionreport/generate.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("生成某一稿的意见采纳情况"),
                "form": form,
            },
        )

    def preview_view(self, request, object_id):
        """The public page as it would go out, with what still stops it from going out."""
        report = get_object_or_404(self.get_queryset(request), pk=object_id)
        return TemplateResponse(
            request,
            "intake/consultation_report.html",
            {
                "consultation": report.consultation,
                "report": report,
                "revision": report.revision,
                "lines": report.lines.select_related("clause").order_by("position"),
                "preview": True,
                "problems": publish_problems(report),
                "change_url": reverse("admin:reports_adoptionreport_change", args=[report.pk]),
            },
        )

    @admin.display(description=_("预览"))
    def preview_link(self, report):
        if report.pk is None:
            return ""
        url = reverse("admin:reports_adoptionreport_preview", args=[report.pk])
        return format_html('<a href="{}">{}</a>', url, _("预览公布后的页面"))

    @admin.action(description=_("重新统计（保留已填写的说明和要点）"))
    def regenerate(self, request, queryset):
        counted = 0
        for report in queryset.select_related("consultation", "revision"):
            try:
                report_generate(report.consultation, revision=report.revision)
            except ValidationError as error:
                self.message_user(
                    request,
                    format_html("{}{}{}", report.consultation, _("："), error.messages[0]),
                    messages.ERROR,
                )
                continue
            counted += 1
        if counted:
            self.message_user(
                request, _("已重新统计。统计有变化，请再次审阅并保存后公布。"), messages.SUCCESS
            )

    @admin.action(description=_("公布意见采纳情况"), permissions=["publish_report"])
    def publish(self, request, queryset):
        """Publish each report, or say what stops it, with a link to the unanswered comments."""
        for report in queryset.select_related("consultation", "revision"):
            consultation = report.consultation
            try:
                notified = report_publish(consultation, revision=report.revision)
            except ValidationError as error:
                line = refusal_line(error, consultation, report.revision)
                self.message_user(
                    request, format_html("{}{}{}", consultation, _("："), line), messages.ERROR
                )
                continue
            self.message_user(
                request,
                ngettext(
                    "《%(title)s》的意见采纳情况已公布，将通知 %(count)d 位提交人。",
                    "《%(title)s》的意见采纳情况已公布，将通知 %(count)d 位提交人。",
                    notified,
                )
                % {"title": consultation.title, "count": notified},
                messages.SUCCESS,
            )
