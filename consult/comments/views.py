"""Staff-only downloads: the files citizens attach to their comments, and exports."""

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from consult.consultations.models import Consultation

from .access import comments_contact_visible_to
from .dashboard import dashboard
from .exports import CONTENT_TYPES, exports_downloadable_by
from .models import Attachment, Export


@staff_member_required
def attachment_download(request, pk):
    # Letters carry the submitter's name and address: like the contact details, they are for
    # the department that answers, the coordinators and superusers. Everybody else is told
    # "not found", as for another department's comment: the change page does not list the
    # letter to them either, so the answer confirms nothing about it.
    visible = comments_contact_visible_to(request.user)
    attachment = get_object_or_404(Attachment.objects.filter(comment__in=visible), pk=pk)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.download_name,
        content_type=attachment.content_type,
    )
    # Never rendered in the browser of staff: a sandbox in case a viewer ignores the download.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    return response


@staff_member_required
def export_download(request, pk):
    exports = exports_downloadable_by(request.user).filter(status=Export.Status.DONE)
    export = get_object_or_404(exports, pk=pk)
    try:
        handle = export.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=export.file.name.rsplit("/", 1)[-1],
        content_type=CONTENT_TYPES[export.format],
    )
    response["Cache-Control"] = "private, no-store"
    return response


@staff_member_required
def consultation_dashboard(request, slug):
    """The dashboard of every comment, or of one revision's (?revision=N, a published one)."""
    consultation = get_object_or_404(Consultation, slug=slug)
    revisions = list(consultation.revisions.published().order_by("number"))
    chosen = None
    if "revision" in request.GET:
        number = request.GET["revision"]
        chosen = next((r for r in revisions if str(r.number) == number), None)
        if chosen is None:
            raise Http404(_("没有这一稿。"))
    context = {
        **admin.site.each_context(request),
        "title": _("%(title)s · 办理看板") % {"title": consultation.title},
        "consultation": consultation,
        "revisions": revisions if len(revisions) > 1 else [],
        "chosen_revision": chosen,
        **dashboard(consultation, request.user, revision=chosen),
    }
    return render(request, "staff/dashboard.html", context)
