"""Public pages: the consultations and the draft clause by clause."""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from consult.consultations.models import Clause, ClauseResponsibility, Consultation


def consultation_list(request):
    now = timezone.now()
    consultations = list(Consultation.objects.select_related("issuer"))
    order = {
        Consultation.Status.OPEN: 0,
        Consultation.Status.UPCOMING: 1,
        Consultation.Status.CLOSED: 2,
        Consultation.Status.REPORT_PUBLISHED: 2,
    }
    consultations.sort(key=lambda c: (order[c.status_at(now)], c.closes_at))
    return render(request, "intake/consultation_list.html", {"consultations": consultations})


def consultation_detail(request, slug):
    consultation = get_object_or_404(Consultation.objects.select_related("issuer"), slug=slug)
    clauses = consultation.clauses.prefetch_related(
        Prefetch("responsibilities", queryset=ClauseResponsibility.objects.order_by("position"))
    ).order_by("path")
    return render(
        request,
        "intake/consultation_detail.html",
        {"consultation": consultation, "clauses": clauses, "roles": Clause},
    )
