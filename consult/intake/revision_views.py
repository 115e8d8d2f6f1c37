"""Public pages of a consultation's revisions: an earlier (or the current) text as published,
and what changed clause by clause from the revision before."""

from django.http import Http404
from django.shortcuts import get_object_or_404, render

from consult.consultations.models import Revision

from .caching import shared_with_anonymous_visitors
from .presenters import clause_tree_with_tallies
from .revision_pages import revision_changes


def _published_revision(slug, number) -> Revision:
    """Unpublished revisions are the coordinator's work in progress: not found."""
    return get_object_or_404(
        Revision.objects.published().select_related("consultation__issuer"),
        consultation__slug=slug,
        number=number,
    )


@shared_with_anonymous_visitors
def revision_detail(request, slug, number):
    revision = _published_revision(slug, number)
    consultation = revision.consultation
    tree, _tallies = clause_tree_with_tallies(consultation, revision)
    return render(
        request,
        "intake/revision_detail.html",
        {
            "consultation": consultation,
            "revision": revision,
            "revisions": consultation.revisions.published().order_by("number"),
            "is_current": consultation.current_revision_id == revision.pk,
            "tree": tree,
        },
    )


@shared_with_anonymous_visitors
def revision_changes_page(request, slug, number):
    revision = _published_revision(slug, number)
    previous, changes = revision_changes(revision)
    if previous is None:
        raise Http404
    return render(
        request,
        "intake/revision_changes.html",
        {
            "consultation": revision.consultation,
            "revision": revision,
            "previous": previous,
            "changes": changes,
        },
    )
