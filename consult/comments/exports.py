"""CSV and XLSX exports of a list of comments, in the request when small, by a task when large.

Personal data (name, phone, email, organisation) is exported only for users holding
`comments.export_personal_data`; everybody else gets the same sheet without those columns.
"""

import csv
import io
import pickle
import tempfile

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Comment, Export

PERSONAL = ("submitter_name", "organisation", "phone", "email")


def export_columns(include_personal: bool) -> list[tuple[str, str]]:
    columns = [
        ("tracking_number", _("回执编号")),
        ("consultation", _("征求意见")),
        ("clause", _("条款")),
        ("body", _("意见内容")),
        ("submitter_kind", _("身份")),
        ("channel", _("渠道")),
        ("submitted_at", _("提交时间")),
        ("status", _("状态")),
        ("decision", _("处理意见")),
        ("decision_reason", _("理由")),
        ("reply", _("答复")),
        ("departments", _("分办单位")),
        ("campaign", _("模板意见")),
    ]
    if include_personal:
        columns[4:4] = [
            ("submitter_name", _("姓名")),
            ("organisation", _("单位名称")),
            ("phone", _("电话")),
            ("email", _("电子邮箱")),
        ]
    return columns


def may_export_personal(user) -> bool:
    return user.has_perm("comments.export_personal_data")


def export_rows(comments, include_personal: bool, *, chunk=2000):
    """Header, then one row of plain strings per comment, reading the database in chunks."""
    columns = export_columns(include_personal)
    yield [label for _name, label in columns]
    comments = (
        comments.select_related("consultation", "clause")
        .prefetch_related("routes__department")
        .order_by("pk")
    )
    for comment in comments.iterator(chunk_size=chunk):
        values = {
            "tracking_number": comment.tracking_number,
            "consultation": comment.consultation.title,
            "clause": str(comment.clause_label),
            "body": comment.body,
            "submitter_kind": comment.get_submitter_kind_display(),
            "channel": comment.get_channel_display(),
            "submitted_at": timezone.localtime(comment.submitted_at).strftime("%Y-%m-%d %H:%M:%S"),
            "status": comment.get_status_display(),
            "decision": comment.get_decision_display(),
            "decision_reason": comment.decision_reason,
            "reply": comment.reply,
            "departments": "、".join(
                f"{r.department.name}（{r.get_role_display()}）" for r in comment.routes.all()
            ),
            "campaign": f"#{comment.campaign_id}" if comment.campaign_id else "",
            "submitter_name": comment.submitter_name,
            "organisation": comment.organisation,
            "phone": comment.phone,
            "email": comment.email,
        }
        yield [_spreadsheet_safe(values[name]) for name, _label in columns]


def _spreadsheet_safe(value: str) -> str:
    """A cell a citizen wrote must never run as a formula in the reader's spreadsheet."""
    value = "" if value is None else str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def write_csv(rows, handle) -> int:
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")  # Excel reads the BOM
    writer = csv.writer(text)
    count = -1
    for count, row in enumerate(rows):  # noqa: B007 - the count is the point
        writer.writerow(row)
    text.flush()
    text.detach()
    return max(count, 0)


def write_xlsx(rows, handle) -> int:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("意见"))
    count = -1
    for count, row in enumerate(rows):  # noqa: B007
        sheet.append(row)
    workbook.save(handle)
    return max(count, 0)


WRITERS = {"csv": write_csv, "xlsx": write_xlsx}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export_start(comments, user, fmt: str) -> Export:
    """Record a large export and hand it to the task after commit."""
    from .tasks import build_export

    export = Export.objects.create(
        user=user,
        format=fmt,
        include_personal=may_export_personal(user),
        query=pickle.dumps(comments.query),
        total=comments.count(),
    )
    transaction.on_commit(lambda: build_export.delay(export.pk))
    return export


def export_build(export_id: int) -> Export:
    """Run by the task: write the file, reporting progress on the row as it goes."""
    export = Export.objects.get(pk=export_id)
    if export.status == Export.Status.DONE:
        return export
    Export.objects.filter(pk=export.pk).update(status=Export.Status.RUNNING)
    comments = Comment.objects.all()
    comments.query = pickle.loads(export.query)  # noqa: S301 - written by us, never by a user

    def counted(rows):
        for number, row in enumerate(rows):
            if number and number % 1000 == 0:
                Export.objects.filter(pk=export.pk).update(rows_done=number)
            yield row

    try:
        with tempfile.TemporaryFile(dir=settings.VAR_DIR) as handle:
            written = WRITERS[export.format](
                counted(export_rows(comments, export.include_personal)), handle
            )
            handle.seek(0)
            name = f"comments-{timezone.localtime():%Y%m%d-%H%M%S}.{export.format}"
            export.file.save(name, File(handle), save=False)
    except Exception as error:
        Export.objects.filter(pk=export.pk).update(status=Export.Status.FAILED, error=str(error))
        raise
    export.status = Export.Status.DONE
    export.rows_done = export.total = written
    export.finished_at = timezone.now()
    export.save(update_fields=["file", "status", "rows_done", "total", "finished_at"])
    return export
