"""Public pages: the consultations, the draft clause by clause, the comment form, receipts
and status lookup. Views only translate HTTP; the rules live in consult.comments."""

import functools
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language

from consult.comments.lookup import comment_lookup
from consult.comments.models import Comment
from consult.comments.privacy import (
    comment_texts_found_by_proof,
    mask_email,
    mask_name,
    mask_phone,
)
from consult.comments.publication import (
    comment_as_published,
    comments_published,
    publication_for_submitter,
    report_published_on_its_draft,
)
from consult.comments.revision_outcomes import (
    clause_outcomes,
    comment_answer_draft,
    comment_outcomes,
)
from consult.comments.services import (
    CommentPeriodClosed,
    SubmissionLimited,
    comment_submit,
    comment_subscribe_to_report,
    report_emails_stop,
    submission_repeated,
)
from consult.comments.status_links import (
    comment_id_from_stop_token,
    status_token,
    tracking_number_from_token,
    tracking_number_of_expired_token,
)
from consult.consultations.models import Clause, Consultation
from consult.reports.models import AdoptionReport
from consult.reports.services import report_path

from .caching import shared_with_anonymous_visitors
from .forms import CommentForm, ConsultationFilterForm, StatusLookupForm, typed_comment_text
from .limits import (
    client_ip,
    status_lookup_limited,
    submission_limited,
)
from .presenters import (
    clause_tree_with_tallies,
    clause_url,
    consultations_found,
    published_page_of,
    status_timeline,
    wait_in_words,
)

CONSULTATIONS_PER_PAGE = 10


@shared_with_anonymous_visitors
def consultation_list(request):
    """The consultations, searched and filtered by the query string, a page at a time."""
    form = ConsultationFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else {}
    found = consultations_found(timezone.now(), **filters)
    page = Paginator(found, CONSULTATIONS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "intake/consultation_list.html",
        {
            "form": form,
            "page": page,
            "consultations": page.object_list,
            "filtered": any(filters.values()),
            "query": query.urlencode(),
        },
    )


@shared_with_anonymous_visitors
def consultation_detail(request, slug):
    consultation = get_object_or_404(Consultation.objects.select_related("issuer"), slug=slug)
    tree, tallies = clause_tree_with_tallies(consultation)
    return render(
        request,
        "intake/consultation_detail.html",
        {
            "consultation": consultation,
            "tree": tree,
            "comment_total": tallies.total,
            "published_total": tallies.published_total,
            "revisions": consultation.revisions.published().order_by("number"),
            "now": timezone.now(),
        },
    )


def _report_page(request, report):
    """A published adoption report: counts and summaries, no personal data; with links to the
    reports on the consultation's other revisions."""
    published = list(
        AdoptionReport.objects.filter(consultation=report.consultation, published_at__isnull=False)
        .select_related("consultation", "revision")
        .order_by("revision__number")
    )
    return render(
        request,
        "intake/consultation_report.html",
        {
            "consultation": report.consultation,
            "report": report,
            "revision": report.revision,
            "lines": report.lines.select_related("clause").order_by("position"),
            # Each revision's report, this one marked; shown when there is more than one.
            "revision_reports": [
                (other.revision, report_path(other), other == report) for other in published
            ]
            if len(published) > 1
            else [],
        },
    )


@shared_with_anonymous_visitors
def consultation_report(request, slug):
    """The latest published adoption report of the consultation."""
    report = (
        AdoptionReport.objects.filter(consultation__slug=slug, published_at__isnull=False)
        .select_related("consultation__issuer", "revision")
        .order_by("-revision__number")
        .first()
    )
    if report is None:
        raise Http404
    return _report_page(request, report)


@shared_with_anonymous_visitors
def revision_report(request, slug, number):
    """The published adoption report on one revision of the draft."""
    report = get_object_or_404(
        AdoptionReport.objects.select_related("consultation__issuer", "revision"),
        consultation__slug=slug,
        revision__number=number,
        published_at__isnull=False,
    )
    return _report_page(request, report)


PUBLISHED_COMMENTS_PER_PAGE = 20


@shared_with_anonymous_visitors
def published_comments(request, slug, clause_id=None):
    """The comments published on one clause, or on the whole consultation, newest first: no
    tracking numbers, no personal data (comments.publication)."""
    consultation = get_object_or_404(Consultation.objects.select_related("issuer"), slug=slug)
    clause = None
    if clause_id is not None:
        clause = get_object_or_404(Clause.objects.public(), pk=clause_id, consultation=consultation)
    comments = comments_published(consultation, clause, whole_consultation=clause is None)
    page = Paginator(
        comments.select_related("consultation", "clause"), PUBLISHED_COMMENTS_PER_PAGE
    ).get_page(request.GET.get("page"))
    drafts = list(consultation.revisions.published().order_by("number"))
    return render(
        request,
        "intake/published_comments.html",
        {
            "consultation": consultation,
            "clause": clause,
            "page": page,
            # Where the answers shown come from: each draft's report once out, not only the
            # current draft's (a later draft clears the consultation's own report date).
            "reported_drafts": [draft for draft in drafts if draft.report_published_at],
            "several_drafts": len(drafts) > 1,
            "published": [comment_as_published(comment) for comment in page.object_list],
        },
    )


def too_many_requests(request, template, context, *, wait):
    """The page the citizen was on, with what they typed and how long to wait (429)."""
    context = {**context, "retry_after": wait, "wait_words": wait_in_words(wait)}
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(wait)
    return response


def _browser_session(request) -> str:
    """The repeat scope of this browser: its session, started on the form page if it has none,
    so that both posts of a double click carry the same one."""
    session = request.session
    if not session.get("commenting"):  # loads it: a key the store does not know is dropped
        session["commenting"] = True  # saved by the middleware, which sends the cookie
    if session.session_key is None:
        session.save()
    return f"session:{session.session_key}"


# Its CSRF token and single-use CAPTCHA are this visitor's: no copy anywhere, said outright
# rather than left to `Vary: Cookie`.
@never_cache
@require_http_methods(["GET", "POST"])
def comment_create(request, slug, clause_id=None):
    now = timezone.now()
    consultation = get_object_or_404(Consultation.objects.select_related("issuer"), slug=slug)
    clause = None
    if clause_id is not None:
        # Only the text open to comment takes comments; earlier revisions are for reading.
        clause = consultation.commentable_clauses().filter(pk=clause_id).first()
        if clause is None:
            other = get_object_or_404(
                Clause.objects.public().select_related("revision"),
                consultation=consultation,
                pk=clause_id,
            )
            if other.revision.is_final:
                return comment_period_closed(request, consultation, now)
            return comment_clause_superseded(request, consultation, other, now)
    if request.method != "POST" and not consultation.accepts_comments_at(now):
        return comment_period_closed(request, consultation, now)

    form_options = {
        "consultation": consultation,
        "clause": clause,
        "with_captcha": settings.COMMENT_CAPTCHA,
    }
    context = {
        "consultation": consultation,
        "clause": clause,
        "retention_days": settings.PERSONAL_DATA_RETENTION_DAYS,
    }
    if request.method == "POST":
        form = CommentForm(request.POST, request.FILES, **form_options)
        if form.is_valid():
            data = form.submission()
            try:
                # The period and the rate limit are comment_submit's to check, after it has
                # looked for a repeat: a double click gets its receipt across the close or
                # the limit. A page of errors costs no budget.
                submission = comment_submit(
                    **data,
                    channel=Comment.Channel.WEB,
                    ip=client_ip(request),
                    user_agent=request.headers.get("user-agent", ""),
                    repeat_scope=_browser_session(request),
                    rate_limit=lambda: submission_limited(
                        request, phone=data["phone"], email=data["email"]
                    ),
                    now=now,
                )
            except CommentPeriodClosed:
                return comment_period_closed(request, consultation, now)
            except SubmissionLimited as limited:
                context["form"] = form
                return too_many_requests(
                    request, "intake/comment_form.html", context, wait=limited.wait
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                token = status_token(submission.comment)
                url = reverse("intake:comment_receipt", kwargs={"token": token})
                return redirect(url + ("" if submission.created else "?repeat=1"))
        elif set(form.errors) == {"captcha"} and (
            repeat := submission_repeated(
                **form.submission(), repeat_scope=_browser_session(request), now=now
            )
        ):
            # A double click: the first post used the CAPTCHA's code up, and was stored.
            url = reverse("intake:comment_receipt", kwargs={"token": status_token(repeat)})
            return redirect(url + "?repeat=1")
        elif not consultation.accepts_comments_at(now):
            # Closed: correcting the fields would not help. (A valid post may be a repeat.)
            return comment_period_closed(request, consultation, now)
    else:
        form = CommentForm(**form_options)
        _browser_session(request)
    context["form"] = form
    return render(
        request, "intake/comment_form.html", context, status=400 if form.is_bound else 200
    )


def comment_period_closed(request, consultation, now):
    return render(
        request,
        "intake/comment_closed.html",
        {
            "consultation": consultation,
            "upcoming": now < consultation.opens_at,
            "typed": typed_comment_text(request),
        },
        status=403,
    )


def comment_clause_superseded(request, consultation, earlier, now):
    """The form of a clause a later draft has replaced: opened before that draft came out (or
    followed from an old link). The citizen is shown where the clause went and, for a post,
    what they typed, which is not stored: the comment belongs on the text now consulted on."""
    open_now = consultation.accepts_comments_at(now)
    # Split and merged again on the way, a clause may reach one clause twice: listed once.
    now_clauses = {
        clause.pk: clause
        for outcome in clause_outcomes(earlier)
        if outcome.revision.pk == consultation.current_revision_id
        for clause in outcome.clauses
    }
    successors = [
        {
            "clause": clause,
            "url": (
                reverse("intake:clause_comment_create", args=[consultation.slug, clause.pk])
                if open_now
                else clause_url(consultation, clause)
            ),
        }
        for clause in now_clauses.values()
    ]
    return render(
        request,
        "intake/comment_clause_superseded.html",
        {
            "consultation": consultation,
            "earlier": earlier,
            "successors": successors,
            "open_now": open_now,
            "typed": typed_comment_text(request),
        },
        status=410,
    )


class _StatusLinkExpired(Exception):
    def __init__(self, number):
        super().__init__(number)
        self.number = number


def _comment_for_token(token):
    number = tracking_number_from_token(token)
    if number is None:
        if (expired := tracking_number_of_expired_token(token)) is not None:
            raise _StatusLinkExpired(expired)
        raise Http404
    return get_object_or_404(
        Comment.objects.select_related("consultation__issuer", "clause"), tracking_number=number
    )


def in_the_language_of_the_email(request, language: str) -> None:
    """A signed link comes from an email written in the citizen's language (the one they
    commented or subscribed in); a browser that never chose a language here (a phone's mail
    app, another computer) gets that language rather than its own Accept-Language guess. A
    choice made on the site still wins."""
    if settings.LANGUAGE_COOKIE_NAME in request.COOKIES:
        return
    if language in dict(settings.LANGUAGES):
        translation.activate(language)
        request.LANGUAGE_CODE = language


def _published_url(comment) -> str:
    """Where the submitter finds their own published comment: the page of the list it is on."""
    if comment.clause_id:
        args = [comment.consultation.slug, comment.clause_id]
        url = reverse("intake:clause_published_comments", args=args)
    else:
        url = reverse("intake:published_comments", args=[comment.consultation.slug])
    page = published_page_of(comment, per_page=PUBLISHED_COMMENTS_PER_PAGE)
    return f"{url}{f'?page={page}' if page > 1 else ''}#comment-{comment.pk}"


def _comment_context(comment, *, by_proof=False):
    """What the receipt and status pages show. Found by number and proof rather than by the
    signed link the submitter was given, the page masks the organisation and the personal data
    in the texts, and gives the attachments by count: the proof's last four digits are what
    the masked number shows every member of staff of the comment's departments."""
    routes = list(comment.routes.select_related("department").order_by("position"))
    publication = publication_for_submitter(comment)
    # The deadline of the draft the comment was written on: a later draft opening for comment
    # does not move it.
    draft = comment_answer_draft(comment)
    return {
        "comment": comment,
        "outcomes": comment_outcomes(comment),
        "consultation": comment.consultation,
        "routes": routes,
        "timeline": status_timeline(comment, routes),
        "masked": {
            "name": mask_name(comment.submitter_name),
            "phone": mask_phone(comment.phone),
            "email": mask_email(comment.email),
            "organisation": mask_name(comment.organisation) if by_proof else comment.organisation,
        },
        "texts": (
            comment_texts_found_by_proof(comment)
            if by_proof
            else {field: getattr(comment, field) for field in ("body", "decision_reason", "reply")}
        ),
        "attachments_by_count": by_proof,
        "answer_deadline": comment.consultation.answer_deadline_of(draft),
        # Past it, "expected by <date>" would send the citizen to wait for a day gone by.
        "answer_overdue": comment.consultation.is_past_answer_deadline(timezone.now(), draft),
        "publication": publication,
        "published_url": _published_url(comment) if publication[0] == "published" else "",
        "status_url": reverse(
            "intake:comment_status_signed", kwargs={"token": status_token(comment)}
        ),
    }


def _expired_link_explained(view):
    """A signed link past its year says so, and how to look the comment up instead, rather
    than "page not found" to a citizen who kept it as the receipt advised (410 Gone)."""

    @functools.wraps(view)
    def answered(request, token, *args, **kwargs):
        try:
            return view(request, token, *args, **kwargs)
        except _StatusLinkExpired as expired:
            context = {"number": expired.number, "lookup_url": _lookup_with_number(expired.number)}
            return render(request, "intake/status_link_expired.html", context, status=410)

    return answered


@never_cache
@_expired_link_explained
def comment_receipt(request, token):
    comment = _comment_for_token(token)
    in_the_language_of_the_email(request, comment.language)
    context = _comment_context(comment)
    context["repeat"] = request.GET.get("repeat") == "1"
    context["token"] = token
    context["report_published"] = report_published_on_its_draft(comment)
    return render(request, "intake/comment_receipt.html", context)


@never_cache
@require_POST
@_expired_link_explained
def comment_notify_on_report(request, token):
    comment = _comment_for_token(token)
    comment_subscribe_to_report(comment)
    return redirect("intake:comment_receipt", token=token)


@csrf_exempt  # RFC 8058 one-click: the mail provider posts without our cookie; the link is signed
@never_cache
@require_http_methods(["GET", "POST"])
def comment_report_emails_stop(request, token):
    """The link in the report and revision emails: GET shows a button (a mail scanner following
    links stops nothing), POST (the button, or a mail client's one-click) stops them."""
    comment_id = comment_id_from_stop_token(token)
    comment = Comment.objects.filter(pk=comment_id).select_related("consultation").first()
    if comment is None:
        raise Http404
    in_the_language_of_the_email(request, comment.language)
    stopped = request.method == "POST"
    if stopped:
        report_emails_stop(comment)
    return render(
        request,
        "intake/report_emails_stop.html",
        {"consultation": comment.consultation, "stopped": stopped},
    )


@never_cache
@_expired_link_explained
def comment_status_signed(request, token):
    comment = _comment_for_token(token)
    in_the_language_of_the_email(request, comment.language)
    return render(request, "intake/comment_status.html", _comment_context(comment))


def _lookup_with_number(number: str) -> str:
    """The lookup page with the tracking number filled in, never the proof: where switching
    language leads from an answer to a lookup, a POST the browser cannot fetch again."""
    url = reverse("intake:comment_status_lookup")
    return f"{url}?{urlencode({'number': number})}" if number else url


@never_cache
@require_http_methods(["GET", "POST"])
def comment_status_lookup(request):
    if request.method == "POST":
        form = StatusLookupForm(request.POST)
        valid = form.is_valid()
        # The number as cleaned, if it is one: what was typed may not even be encodable.
        number = form.cleaned_data.get("tracking_number", "")
        context = {"form": form, "language_next": _lookup_with_number(number)}
        wait = status_lookup_limited(request, number)
        if wait:
            return too_many_requests(request, "intake/status_lookup.html", context, wait=wait)
        if valid:
            comment = comment_lookup(number, form.cleaned_data["proof"])
            if comment is not None:
                return render(
                    request,
                    "intake/comment_status.html",
                    {
                        **_comment_context(comment, by_proof=True),
                        "language_next": _lookup_with_number(comment.tracking_number),
                    },
                )
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
        context = {"form": form}
    return render(
        request,
        "intake/status_lookup.html",
        context,
        status=400 if form.is_bound else 200,
    )


# Choosing a language only sets the language cookie, so a forged request can do no harm; without
# a CSRF token in the header's form, the public pages carry nothing per visitor and a shared
# cache may serve them (intake.caching).
language_switch = csrf_exempt(set_language)


@shared_with_anonymous_visitors
def site_page(request, *, template):
    """A page of the site's own: privacy, accessibility, terms of use."""
    return render(
        request,
        template,
        {"retention_days": settings.PERSONAL_DATA_RETENTION_DAYS},
    )


@shared_with_anonymous_visitors
def robots_txt(request):
    sitemap = request.build_absolute_uri(reverse("sitemap"))
    lines = [
        "User-agent: *",
        # Receipts and status pages are reached by a citizen's own link; forms are not content.
        "Disallow: /comments/",
        "Disallow: /admin/",
        "Disallow: /staff/",
        "Disallow: /api/",
        "Disallow: /consultations/*/comment/",
        "Disallow: /consultations/*/clauses/",
        # The published comments are content, the forms under /clauses/ are not.
        "Allow: /consultations/*/clauses/*/published-comments/",
        f"Sitemap: {sitemap}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
