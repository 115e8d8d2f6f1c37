"""Staff-only downloads of the files citizens attach to their comments."""

from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404

from .access import comments_visible_to
from .models import Attachment


@staff_member_required
def attachment_download(request, pk):
    attachment = get_object_or_404(
        Attachment.objects.filter(comment__in=comments_visible_to(request.user)), pk=pk
    )
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    # Never rendered in the browser of staff: a sandbox in case a viewer ignores the download.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    return response
