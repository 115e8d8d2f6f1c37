"""The draft as published, to download or print: the notice's original text, a .docx, a PDF
and a printable page. Anonymous visitors share one cached copy of each (intake.caching)."""

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from consult.consultations.models import Consultation

from .caching import shared_with_anonymous_visitors
from .drafts import (
    PdfUnavailable,
    draft_docx,
    draft_facts,
    draft_filename,
    draft_outline,
    draft_pdf,
    in_brackets,
    responsibility_line,
)
from .presenters import imported_html

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _consultation(slug) -> Consultation:
    return get_object_or_404(Consultation.objects.select_related("issuer"), slug=slug)


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
@shared_with_anonymous_visitors
def draft_source(request, slug):
    """The notice exactly as it was published and imported (`Consultation.source_text`)."""
    consultation = _consultation(slug)
    if not consultation.source_text:
        raise Http404
    return _download(
        consultation.source_text.encode("utf-8"),
        "text/plain; charset=utf-8",
        draft_filename(consultation, "txt"),
    )


@require_safe
@shared_with_anonymous_visitors
def draft_word(request, slug):
    consultation = _consultation(slug)
    return _download(draft_docx(consultation), DOCX, draft_filename(consultation, "docx"))


@require_safe
@shared_with_anonymous_visitors
def draft_pdf_file(request, slug):
    """The PDF; where the server has no Chinese font, the printable page instead."""
    consultation = _consultation(slug)
    try:
        content = draft_pdf(consultation)
    except PdfUnavailable:
        return redirect("intake:draft_print", slug=slug)
    return _download(content, "application/pdf", draft_filename(consultation, "pdf"))


def _responsibilities_html(clause) -> str:
    """The clause's departments as the Word document and the PDF give them, in brackets, with
    their names escaped and marked as Chinese (`imported_html`); the rest is the site's words."""
    line = responsibility_line(clause, names=lambda names: imported_html(_("、").join(names)))
    return mark_safe(in_brackets(line)) if line else ""  # noqa: S308 - the names are escaped


@require_safe
@shared_with_anonymous_visitors
def draft_print(request, slug):
    consultation = _consultation(slug)
    outline = [(clause, _responsibilities_html(clause)) for clause in draft_outline(consultation)]
    return render(
        request,
        "intake/downloads/draft_print.html",
        {"consultation": consultation, "facts": draft_facts(consultation), "outline": outline},
    )
