"""Public pages: the consultations, the draft clause by clause, the comment form, receipts
and status lookup. Views only translate HTTP; the rules live in consult.comments."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from consult.comments.lookup import comment_lookup
from consult.comments.models import Comment
from consult.comments.privacy import mask_email, mask_name, mask_phone
from consult.comments.services import (
    CommentPeriodClosed,
    comment_submit,
    comment_subscribe_to_report,
)
from consult.comments.status_links import status_token, tracking_number_from_token
from consult.consultations.models import Clause, Consultation
from consult.reports.models import AdoptionReport

from .forms import CommentForm, StatusLookupForm
from .limits import (
    client_ip,
    status_lookup_limited,
    submission_limited_by_contact,
    submission_limited_by_ip,
)
from .presenters import clause_tree_with_counts, consultations_in_order


def consultation_list(request):
    return render(
        request,
        "intake/consultation_list.html",
        {"consultations": consultations_in_order(timezone.now())},
    )


def consultation_detail(request, slug):
    consultation = get_object_or_404(Consultation.objects.select_related("issuer"), slug=slug)
    tree, total = clause_tree_with_counts(consultation)
    return render(
        request,
        "intake/consultation_detail.html",
        {
            "consultation": consultation,
            "tree": tree,
            "comment_total": total,
            "masked_contact_phone": mask_phone(consultation.contact_phone),
            "now": timezone.now(),
        },
    )


def consultation_report(request, slug):
    """The published adoption report: counts and summaries, no personal data."""
    consultation = get_object_or_404(
        Consultation.objects.select_related("issuer"), slug=slug, report_published_at__isnull=False
    )
    report = get_object_or_404(AdoptionReport, consultation=consultation)
    lines = report.lines.select_related("clause").order_by("position")
    return render(
        request,
        "intake/consultation_report.html",
        {"consultation": consultation, "report": report, "lines": lines},
    )


def too_many_requests(request, *, what):
    return render(request, "intake/too_many_requests.html", {"what": what}, status=429)


def _browser_session(request) -> str:
    """The repeat scope of this browser: its session, started on the form page if it has none,
    so that both posts of a double click carry the same one."""
    session = request.session
    if not session.get("commenting"):  # loads it: a key the store does not know is dropped
        session["commenting"] = True  # saved by the middleware, which sends the cookie
    if session.session_key is None:
        session.save()
    return f"session:{session.session_key}"


@require_http_methods(["GET", "POST"])
def comment_create(request, slug, clause_id=None):
    now = timezone.now()
    consultation = get_object_or_404(Consultation.objects.select_related("issuer"), slug=slug)
    clause = None
    if clause_id is not None:
        clause = get_object_or_404(Clause, pk=clause_id, consultation=consultation)
    if not consultation.accepts_comments_at(now):
        return comment_period_closed(request, consultation, now)

    form_options = {
        "consultation": consultation,
        "clause": clause,
        "with_captcha": settings.COMMENT_CAPTCHA,
    }
    if request.method == "POST":
        if submission_limited_by_ip(request):
            return too_many_requests(request, what="comment")
        form = CommentForm(request.POST, request.FILES, **form_options)
        if form.is_valid():
            data = form.submission()
            if submission_limited_by_contact(phone=data["phone"], email=data["email"]):
                return too_many_requests(request, what="comment")
            try:
                submission = comment_submit(
                    **data,
                    channel=Comment.Channel.WEB,
                    ip=client_ip(request),
                    user_agent=request.headers.get("user-agent", ""),
                    repeat_scope=_browser_session(request),
                    now=now,
                )
            except CommentPeriodClosed:
                return comment_period_closed(request, consultation, now)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                token = status_token(submission.comment)
                url = reverse("intake:comment_receipt", kwargs={"token": token})
                return redirect(url + ("" if submission.created else "?repeat=1"))
    else:
        form = CommentForm(**form_options)
        _browser_session(request)
    status = 400 if form.is_bound else 200
    return render(
        request,
        "intake/comment_form.html",
        {
            "consultation": consultation,
            "clause": clause,
            "form": form,
            "retention_days": settings.PERSONAL_DATA_RETENTION_DAYS,
        },
        status=status,
    )


def comment_period_closed(request, consultation, now):
    return render(
        request,
        "intake/comment_closed.html",
        {"consultation": consultation, "upcoming": now < consultation.opens_at},
        status=403,
    )


def _comment_for_token(token):
    number = tracking_number_from_token(token)
    if number is None:
        raise Http404
    return get_object_or_404(
        Comment.objects.select_related("consultation__issuer", "clause"), tracking_number=number
    )


def _comment_context(comment):
    routes = comment.routes.select_related("department").order_by("position")
    return {
        "comment": comment,
        "consultation": comment.consultation,
        "routes": routes,
        "masked": {
            "name": mask_name(comment.submitter_name),
            "phone": mask_phone(comment.phone),
            "email": mask_email(comment.email),
        },
        "status_url": reverse(
            "intake:comment_status_signed", kwargs={"token": status_token(comment)}
        ),
    }


@never_cache
def comment_receipt(request, token):
    comment = _comment_for_token(token)
    context = _comment_context(comment)
    context["repeat"] = request.GET.get("repeat") == "1"
    context["token"] = token
    return render(request, "intake/comment_receipt.html", context)


@never_cache
@require_POST
def comment_notify_on_report(request, token):
    comment = _comment_for_token(token)
    comment_subscribe_to_report(comment)
    return redirect("intake:comment_receipt", token=token)


@never_cache
def comment_status_signed(request, token):
    comment = _comment_for_token(token)
    return render(request, "intake/comment_status.html", _comment_context(comment))


@never_cache
@require_http_methods(["GET", "POST"])
def comment_status_lookup(request):
    if request.method == "POST":
        if status_lookup_limited(request):
            return too_many_requests(request, what="status")
        form = StatusLookupForm(request.POST)
        if form.is_valid():
            comment = comment_lookup(
                form.cleaned_data["tracking_number"], form.cleaned_data["proof"]
            )
            if comment is not None:
                return render(request, "intake/comment_status.html", _comment_context(comment))
            form.add_error(
                None,
                ValidationError(
                    _(
                        "未找到与此回执编号和联系方式相符的意见。"
                        "请核对回执编号和手机号后四位（或电子邮箱）。"
                    ),
                    code="not_found",
                ),
            )
    else:
        form = StatusLookupForm(initial={"tracking_number": request.GET.get("number", "")})
    return render(
        request,
        "intake/status_lookup.html",
        {"form": form},
        status=400 if form.is_bound else 200,
    )
