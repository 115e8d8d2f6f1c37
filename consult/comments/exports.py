"""CSV and XLSX exports of a list of comments, in the request when small, by a task when large.

Personal data (name, phone, email, organisation) is exported only for users holding
`comments.export_personal_data`; everybody else gets the same sheet without those columns.
Even then a row shows them in full only where the exporter sees them in full in the admin
(`access.contact_visible_expression`: the answering department, the issuing bureau): a
coordinator of one bureau exporting comments on which it only cooperates gets them masked.
The text is masked (`privacy.comment_text_masked`) on every row whose columns are not shown in
full, or left out.
"""

import csv
import dataclasses
import datetime
import io
import logging
import pickle
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from consult.text import NONCHARACTERS

from .access import comments_contact_visible_to, comments_visible_to, contact_visible_expression
from .models import Comment, Export, ExportedComment
from .phones import phone_display
from .privacy import comment_text_masked, mask_email, mask_name, mask_phone

logger = logging.getLogger(__name__)

PERSONAL = ("submitter_name", "organisation", "phone", "email")


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    label: str
    width: int  # in the spreadsheet's character widths (a Chinese character takes two)


def export_columns(include_personal: bool) -> list[Column]:
    columns = [
        Column("tracking_number", _("回执编号"), 13),
        Column("consultation", _("征求意见"), 30),
        Column("clause", _("条款"), 22),
        Column("body", _("意见内容"), 60),
        Column("submitter_kind", _("身份"), 8),
        Column("channel", _("渠道"), 8),
        Column("wants_reply", _("希望答复"), 8),
        Column("submitted_at", _("提交时间（北京时间）"), 20),
        # A letter's: what counts for the period, typed in days later.
        Column("received_on", _("收到日期"), 12),
        Column("status", _("状态"), 8),
        Column("owner", _("负责答复单位"), 16),
        Column("cooperating", _("配合单位"), 28),
        Column("opinions", _("配合意见"), 50),
        Column("decision", _("处理意见"), 10),
        Column("decision_reason", _("理由"), 30),
        Column("reply", _("答复"), 50),
        Column("replied_at", _("答复时间（北京时间）"), 20),
        Column("campaign", _("模板意见"), 10),
    ]
    if include_personal:
        columns[4:4] = [
            Column("submitter_name", _("姓名"), 10),
            Column("organisation", _("单位名称"), 20),
            Column("phone", _("电话"), 15),
            Column("email", _("电子邮箱"), 24),
        ]
    return columns


def may_export_personal(user) -> bool:
    return user.has_perm("comments.export_personal_data")


def _local(moment):
    """A time as the reader's spreadsheet takes it: Beijing time, without a zone."""
    return timezone.localtime(moment).replace(tzinfo=None, microsecond=0) if moment else None


def export_rows(comments, include_personal: bool, user, *, chunk=2000, written=None):
    """Header, then one row per comment (text, and times as datetimes), reading the database
    in chunks. The department that answers has a column of its own; the cooperating
    departments' opinions another. The personal columns are masked on the rows whose
    submitter `user` sees masked in the admin. `written`, when given, is told of each comment
    as its row is made: its primary key and whether its contact details are in full."""
    columns = export_columns(include_personal)
    yield [column.label for column in columns]
    comments = (
        comments.select_related("consultation", "clause")
        .prefetch_related("routes__department", "opinions__department")
        .order_by("pk")
    )
    if include_personal:
        comments = comments.annotate(contact_shown=contact_visible_expression(user))
    for comment in _by_primary_key(comments, chunk):
        # The text's own signature ("王五，13812340007") masked wherever the columns are.
        shown = include_personal and comment.contact_shown

        def as_seen(text, comment=comment, shown=shown):
            return text if shown else comment_text_masked(comment, text)

        routes = sorted(comment.routes.all(), key=lambda route: route.position)
        values = {
            "tracking_number": comment.tracking_number,
            "consultation": comment.consultation.title,
            "clause": str(comment.clause_label),
            "body": as_seen(comment.body),
            "submitter_kind": comment.get_submitter_kind_display(),
            "channel": comment.get_channel_display(),
            "wants_reply": _("是") if comment.wants_reply else _("否"),
            "submitted_at": _local(comment.submitted_at),
            "received_on": comment.received_on,
            "status": comment.get_status_display(),
            "owner": _("、").join(r.department.name for r in routes if r.is_owner),
            "cooperating": _("、").join(r.department.name for r in routes if not r.is_owner),
            "opinions": "\n".join(
                f"{opinion.department.name}{_('：')}{as_seen(opinion.text)}"
                for opinion in comment.opinions.all()
            ),
            "decision": comment.get_decision_display(),
            "decision_reason": as_seen(comment.decision_reason),
            "reply": as_seen(comment.reply),
            "replied_at": _local(comment.replied_at),
            "campaign": f"#{comment.campaign_id}" if comment.campaign_id else "",
        }
        if include_personal:
            values.update(_personal(comment, shown=shown))
        if written is not None:
            written(comment.pk, bool(shown))
        yield [values[column.name] for column in columns]


def _by_primary_key(comments, chunk: int):
    """The comments in primary-key order, each chunk a query of its own that starts after the
    last key read. Not `.iterator()`: outside a transaction that is a server-side cursor WITH
    HOLD, which must outlive its statement, and behind PgBouncer's transaction pooling the
    next fetch may reach another server connection, where the cursor does not exist. Nor one
    transaction around the reading: a task's export reads for minutes, and a transaction held
    that long keeps vacuum back (and would hide the progress it reports from the sweep)."""
    last = None
    while True:
        page = list((comments if last is None else comments.filter(pk__gt=last))[:chunk])
        yield from page
        if len(page) < chunk:
            return
        last = page[-1].pk


def _personal(comment, *, shown: bool) -> dict:
    if shown:
        values = {name: getattr(comment, name) for name in PERSONAL}
        return {**values, "phone": phone_display(values["phone"])}
    # As the admin shows a cooperating department the submitter (and the routed email leaves
    # the organisation out).
    return {
        "submitter_name": mask_name(comment.submitter_name),
        "organisation": "",
        "phone": mask_phone(comment.phone),
        "email": mask_email(comment.email),
    }


def _spreadsheet_safe(value):
    """A CSV cell a citizen wrote must never run as a formula in the reader's spreadsheet: CSV
    has no way to say "text", so such a cell starts with an apostrophe (an XLSX cell is typed
    a string instead, `write_xlsx`)."""
    if isinstance(value, datetime.datetime):
        return value
    value = "" if value is None else str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_text(value):
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value


def write_csv(rows, handle, columns=None) -> int:
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")  # Excel reads the BOM
    writer = csv.writer(text)
    count = -1
    for count, row in enumerate(rows):  # noqa: B007 - the count is the point
        writer.writerow([_spreadsheet_safe(_csv_text(value)) for value in row])
    text.flush()
    text.detach()
    return max(count, 0)


def write_xlsx(rows, handle, columns=None) -> int:
    """A sheet to work in: bold header frozen above a filter, set widths, real dates."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("意见"))
    for number, column in enumerate(columns or [], start=1):
        sheet.column_dimensions[get_column_letter(number)].width = column.width
    sheet.freeze_panes = "A2"
    bold, top = Font(bold=True), Alignment(vertical="top")
    count, width = -1, 0
    for count, row in enumerate(rows):
        if count == 0:
            width = len(row)
            header = []
            for value in row:
                cell = WriteOnlyCell(sheet, value=value)
                cell.font = bold
                header.append(cell)
            sheet.append(header)
            continue
        cells = []
        for value in row:
            if isinstance(value, str):
                # A control character or noncharacter the sheet's XML cannot hold (a form feed
                # pasted from a PDF, stored before such text was refused) would fail the whole
                # export.
                value = NONCHARACTERS.sub("", ILLEGAL_CHARACTERS_RE.sub("", value))
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str) and cell.data_type == "f":
                # Text that starts with "=" (a citizen's, or a phone's "+"): a string cell,
                # shown as typed, never run as a formula, with no apostrophe added to it.
                cell.data_type = "s"
            cell.alignment = top
            if isinstance(value, datetime.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            elif isinstance(value, datetime.date):
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)
    if width:
        sheet.auto_filter.ref = f"A1:{get_column_letter(width)}{count + 1}"
    workbook.save(handle)
    return max(count, 0)


WRITERS = {"csv": write_csv, "xlsx": write_xlsx}


def export_write(fmt: str, comments, user, handle) -> int:
    """Write the comments to `handle` as CSV or XLSX, as `user` may see them; returns how
    many rows."""
    include_personal = may_export_personal(user)
    return WRITERS[fmt](
        export_rows(comments, include_personal, user), handle, export_columns(include_personal)
    )


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def exports_kept(exports=None, *, now=None):
    """The exports still kept at `now`: built less than EXPORT_KEEP_DAYS ago. A file of
    personal data is a copy outside the comments, out of reach of their retention; it lives
    only as long as it is needed to be downloaded."""
    now = now or timezone.now()
    exports = Export.objects.all() if exports is None else exports
    return exports.filter(created_at__gt=now - datetime.timedelta(days=settings.EXPORT_KEEP_DAYS))


def exports_downloadable_by(user, exports=None):
    """The exports `user` may list and download: their own still kept, and of those with contact
    details only while they may still export them and still see every comment the file holds
    (staff who left the department, or moved to another bureau, keep no file of names and
    phones); a superuser every one still kept."""
    exports = exports_kept(exports)
    if user.is_superuser:
        return exports
    exports = exports.filter(user=user)
    if not may_export_personal(user):
        return exports.filter(include_personal=False)
    personal = exports.filter(include_personal=True)
    # The comments the file holds, as recorded when it was built: one since transferred to a
    # department of another is no longer found by the export's own query.
    held = ExportedComment.objects.filter(export__in=personal.filter(comments_recorded=True))
    visible = comments_visible_to(user)
    withdrawn = set(
        held.filter(
            ~_seen_by(visible, "comment_id")
            | Q(contact_shown=True) & ~_seen_by(comments_contact_visible_to(user), "comment_id")
        ).values_list("export_id", flat=True)
    )
    # Built before the comments were recorded: what its query finds now.
    for export in personal.filter(comments_recorded=False).only("pk", "query"):
        selection = _selection(export)
        if selection is None or selection.exclude(_seen_by(visible)).exists():
            withdrawn.add(export.pk)
    return exports.exclude(pk__in=withdrawn)


def _seen_by(visible, comment_id="pk"):
    """Whether the row's comment is among `visible`: asked per row by its primary key, so the
    cost follows the file's size. NOT IN the comments a user sees would be hashed only while
    they fit in work_mem; past a few hundred thousand PostgreSQL compares every row with the
    whole list (found by a review: two minutes, and the statement timeout)."""
    return Exists(visible.filter(pk=OuterRef(comment_id)))


def _selection(export):
    """The comments the export was asked for, as its own query finds them now; None for a
    query another release wrote that this one cannot read."""
    try:
        selection = Comment.objects.all()
        selection.query = pickle.loads(export.query)  # noqa: S301 - written by us, never a user
        return selection
    except Exception:
        return None


def exports_expired(*, now=None, also=()):
    """The exports past EXPORT_KEEP_DAYS, and those of `also`: due for deletion, files and all
    (one being built is stopped, `export_build`)."""
    return Export.objects.filter(~Q(pk__in=exports_kept(now=now).values("pk")) | Q(pk__in=also))


def exports_holding(comments, *, made_before) -> list[int]:
    """The exports with contact details made before `made_before` whose comments include any
    of these, each export's own query asked of them alone: what the retention purge must take
    with the comments it clears, asked before it clears them (a file chosen by a name or a
    phone would find nothing after)."""
    exports = Export.objects.filter(include_personal=True, created_at__lt=made_before)
    holding = list(
        exports.filter(held__comment__in=comments.values("pk"))
        .values_list("pk", flat=True)
        .distinct()
    )
    # Those whose comments are not all recorded (being built, or built before the recording)
    # are asked their own query too.
    unrecorded = exports.exclude(pk__in=holding).exclude(
        status=Export.Status.DONE, comments_recorded=True
    )
    for export in unrecorded.only("pk", "query"):
        selection = _selection(export)
        try:
            # A query another release wrote may hold them: it goes.
            holds = selection is None or selection.filter(pk__in=comments.values("pk")).exists()
        except Exception:
            holds = True
        if holds:
            holding.append(export.pk)
    return holding


def exports_expire(*, now=None, also=()) -> int:
    """Delete the exports `exports_expired` names, and their files; returns how many."""
    return _exports_delete(exports_expired(now=now, also=also))


def _exports_delete(expired) -> int:
    with transaction.atomic():
        files = [export.file for export in expired.select_for_update() if export.file]
        _total, deleted = expired.delete()  # the total counts the rows recorded as held too
        count = deleted.get(Export._meta.label, 0)
        # Files are not part of the transaction: they go once the rows are gone for good.
        for file in files:
            transaction.on_commit(lambda file=file: file.delete(save=False), robust=True)
    return count


def export_start(comments, user, fmt: str) -> Export:
    """Record a large export and hand it to a worker after commit."""
    export = Export.objects.create(
        user=user,
        format=fmt,
        include_personal=may_export_personal(user),
        language=translation.get_language() or settings.LANGUAGE_CODE,
        query=pickle.dumps(comments.query),
        total=comments.count(),
    )
    transaction.on_commit(lambda: export_hand_off(export.pk), robust=True)
    return export


def export_hand_off(export_id: int, *, now=None) -> bool:
    """Queue the export's task and note when; False when the broker refused it. Never raises:
    the export is recorded already, and the export-sweep job hands it on once the broker is
    back."""
    from .tasks import build_export

    try:
        build_export.apply_async(args=[export_id], retry=False)
    except Exception:
        logger.warning(
            "Could not enqueue export %s; the export sweep will hand it on.",
            export_id,
            exc_info=True,
        )
        return False
    Export.objects.filter(pk=export_id).update(handed_at=now or timezone.now())
    return True


class ExportTakenOver(Exception):
    """This worker's claim on the export lapsed and the sweep gave it to another."""


def exports_sweep(*, now=None) -> int:
    """Hand on the exports no worker will build, and give up on those that keep dying. Returns
    how many were handed to the broker.

    - A build silent for EXPORT_LEASE_SECONDS died with its worker: the export waits again
      (PENDING), or, taken EXPORT_MAX_ATTEMPTS times already, is given up on as failed. A
      worker still building it after all finds it gone and stops (`export_build`).
    - A waiting export whose task the broker refused (never handed on) is handed on once it is
      NOTIFY_SWEEP_AFTER_SECONDS old; one handed on is left to its task in the queue, however
      long the exports before it take, for the broker's visibility timeout (after which a
      wiped broker's loss is made good).
    """
    now = now or timezone.now()
    lease_expired = now - datetime.timedelta(seconds=settings.EXPORT_LEASE_SECONDS)
    silent = exports_kept(now=now).filter(
        status=Export.Status.RUNNING, claimed_at__lte=lease_expired
    )
    for export in silent.filter(attempts__gte=settings.EXPORT_MAX_ATTEMPTS):
        with translation.override(export.language):
            error = ngettext(
                "生成中断 %(count)d 次（处理进程退出或超时），已放弃。",
                "生成中断 %(count)d 次（处理进程退出或超时），已放弃。",
                export.attempts,
            ) % {"count": export.attempts}
        Export.objects.filter(pk=export.pk, attempts=export.attempts).update(
            status=Export.Status.FAILED, error=error, finished_at=now
        )
    silent.filter(attempts__lt=settings.EXPORT_MAX_ATTEMPTS).update(
        status=Export.Status.PENDING, handed_at=None
    )
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    waiting = exports_kept(now=now).filter(status=Export.Status.PENDING)
    unqueued = waiting.filter(
        Q(
            handed_at__isnull=True,
            created_at__lte=now - datetime.timedelta(seconds=settings.NOTIFY_SWEEP_AFTER_SECONDS),
        )
        | Q(handed_at__lte=now - datetime.timedelta(seconds=visibility))
    )
    handed = 0
    for export_id in unqueued.values_list("pk", flat=True).order_by("created_at"):
        if not export_hand_off(export_id, now=now):
            break  # the broker is down: the next sweep tries again
        handed += 1
    return handed


def export_claim(export_id: int, *, now=None) -> int | None:
    """Take a waiting export for this worker, unless it was taken EXPORT_MAX_ATTEMPTS times
    already. Returns the claim (the attempt's number), which the worker's every later write
    names; None when another worker has it, it is finished, or it has been given up on."""
    now = now or timezone.now()
    claimed = Export.objects.filter(
        pk=export_id, status=Export.Status.PENDING, attempts__lt=settings.EXPORT_MAX_ATTEMPTS
    ).update(status=Export.Status.RUNNING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return None
    return Export.objects.values_list("attempts", flat=True).get(pk=export_id)


def export_build(export_id: int) -> Export | None:
    """Run by the task: write the file, reporting progress on the row as it goes. Returns None
    when the export is not built here: another worker has it, or it is finished (see
    `export_claim`), or this worker's claim lapsed meanwhile (its file is then deleted)."""
    claim = export_claim(export_id)
    if claim is None:
        return None
    mine = Export.objects.filter(pk=export_id, status=Export.Status.RUNNING, attempts=claim)
    # Set by the build that records, not when the export is asked for: one a worker of an
    # earlier release builds during a deploy records nothing, and is judged by its query.
    mine.filter(include_personal=True).update(comments_recorded=True)
    export = Export.objects.get(pk=export_id)
    comments = Comment.objects.all()
    comments.query = pickle.loads(export.query)  # noqa: S301 - written by us, never by a user

    def still_mine(**progress) -> None:
        # Reported progress renews the claim; a claim the sweep took back stops the build.
        if not mine.update(claimed_at=timezone.now(), **progress):
            raise ExportTakenOver

    held = []

    def hold(comment_id, contact_shown):
        held.append(
            ExportedComment(export_id=export_id, comment_id=comment_id, contact_shown=contact_shown)
        )

    def record_held():
        try:
            with transaction.atomic():
                # An earlier attempt's rows may be there already: the same comments, recorded
                # once, and in full wherever either attempt wrote them so.
                ExportedComment.objects.bulk_create(held, ignore_conflicts=True)
                ExportedComment.objects.filter(
                    export_id=export_id,
                    comment_id__in=[row.comment_id for row in held if row.contact_shown],
                    contact_shown=False,
                ).update(contact_shown=True)
        except IntegrityError:
            # The export deleted meanwhile (past EXPORT_KEEP_DAYS, or purged with the comments
            # it holds): as a claim taken back. Otherwise a comment was: the error stands.
            still_mine()
            raise
        held.clear()

    def counted(rows):
        for number, row in enumerate(rows):
            if number and number % 1000 == 0:
                still_mine(rows_done=number)
                record_held()
            yield row

    try:
        # The file holds personal data while it is built: it goes to VAR_DIR, this site's own
        # disk (by default beside the private storage it is copied into, so as large as that),
        # rather than a /tmp other services share, which may be a small tmpfs. Only `make run`
        # creates VAR_DIR, so it is created here when missing; the file itself is private to
        # this process (mode 0600, on Linux without a name) and gone once closed.
        Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
        with (
            translation.override(export.language),
            tempfile.TemporaryFile(dir=settings.VAR_DIR) as handle,
        ):
            written = WRITERS[export.format](
                counted(
                    export_rows(
                        comments,
                        export.include_personal,
                        export.user,
                        # Only a file of contact details is withdrawn or purged for what it holds.
                        written=hold
                        if export.include_personal and export.comments_recorded
                        else None,
                    )
                ),
                handle,
                export_columns(export.include_personal),
            )
            handle.seek(0)
            still_mine()  # the file's upload may take a while of its own
            record_held()
            name = f"comments-{timezone.localtime():%Y%m%d-%H%M%S}.{export.format}"
            export.file.save(name, File(handle), save=False)
    except ExportTakenOver:
        return None
    except Exception as error:
        mine.update(status=Export.Status.FAILED, error=str(error))
        raise
    finished_at = timezone.now()
    done = mine.update(
        file=export.file.name,
        status=Export.Status.DONE,
        rows_done=written,
        total=written,
        finished_at=finished_at,
    )
    if not done:
        # Taken over, or past EXPORT_KEEP_DAYS and deleted, while the file was written: this
        # copy of personal data belongs to no export, so it goes.
        export.file.delete(save=False)
        return None
    export.status = Export.Status.DONE
    export.rows_done = export.total = written
    export.finished_at = finished_at
    return export
