"""CSV and XLSX exports of the filtered queue, personal data only with the permission."""

import csv
import datetime
import io
import pickle
import zoneinfo
from unittest import mock

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.utils import timezone
from openpyxl import load_workbook

from consult.comments.models import Comment, Export, ExportedComment
from consult.comments.privacy import mask_email, mask_name
from consult.comments.services import comment_submit
from consult.consultations.models import Department
from consult.consultations.services import staff_join

pytestmark = pytest.mark.django_db

QUEUE = "/admin/comments/comment/"


@pytest.fixture
def comments(weifang_open):
    def submit(label, n, body):
        return comment_submit(
            consultation=weifang_open,
            clause=weifang_open.clauses.get(label=label),
            body=body,
            channel="web",
            consent=True,
            phone=f"1371234{n:04d}",
            email=f"p{n}@example.cn",
            submitter_name="孙八",
        ).comment

    return [
        submit("二(四)2", 1, "建议公开生态补偿标准。"),
        submit("二(四)2", 2, '=HYPERLINK("http://evil.example")建议加强监管。'),
        submit("二(三)4", 3, "建议明确中小企业数字化转型的补贴标准。"),
    ]


def member(username, department):
    user = User.objects.create_user(username, password="pw")
    staff_join(user, Department.objects.get(name=department))
    return user


def export(client, comments, action, **query):
    return client.post(
        QUEUE + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""),
        {"action": action, "_selected_action": [c.pk for c in comments]},
    )


def test_csv_without_personal_data_for_department_staff(client, comments):
    client.force_login(member("sthj", "市生态环境局"))
    response = export(client, comments, "export_csv", scope="all")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert "回执编号" in header and "电话" not in header and "姓名" not in header
    # Only the comments this department can see, whatever was posted.
    assert sorted(row[0] for row in body) == sorted(c.tracking_number for c in comments[:2])
    assert "1371234" not in response.content.decode("utf-8-sig")
    # A formula a citizen typed stays text.
    assert any(cell.startswith("'=HYPERLINK") for row in body for cell in row)


def test_xlsx_with_personal_data_for_those_allowed(client, comments):
    user = member("hyj", "市海渔局")  # the coordinator group may export personal data
    assert user.has_perm("comments.export_personal_data")
    client.force_login(user)
    response = export(client, comments, "export_xlsx", scope="all")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert {"姓名", "电话", "电子邮箱"} <= set(rows[0])
    assert len(rows) == 4
    phones = [row[rows[0].index("电话")] for row in rows[1:]]
    # As staff dial it, with no apostrophe before a "+86".
    assert "13712340001" in phones and not any(phone.startswith(("'", "+")) for phone in phones)
    # A formula a citizen typed is a text cell shown as typed, not run and not altered.
    raw = load_workbook(io.BytesIO(response.content)).active
    (typed,) = [c for row in raw.iter_rows() for c in row if str(c.value).startswith("=HYPERLINK")]
    assert typed.data_type == "s" and typed.value.endswith("建议加强监管。")


def test_a_large_export_runs_as_a_task_with_progress_and_a_download(
    client, comments, settings, django_capture_on_commit_callbacks
):
    settings.EXPORT_INLINE_ROWS = 1
    user = User.objects.create_superuser("root", password="pw")
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = export(client, comments, "export_csv", scope="all")
    assert response.status_code == 302
    job = Export.objects.get()
    assert (job.status, job.total, job.rows_done, job.progress) == ("done", 3, 3, 100)
    page = client.get("/admin/comments/export/").content.decode()
    assert 'value="100"' in page
    download = client.get(f"/staff/exports/{job.pk}/")
    assert download.status_code == 200
    content = b"".join(download.streaming_content).decode("utf-8-sig")
    assert all(c.tracking_number in content for c in comments)
    # Nobody else downloads it.
    client.force_login(member("sthj", "市生态环境局"))
    assert client.get(f"/staff/exports/{job.pk}/").status_code == 404


def test_personal_columns_are_masked_on_rows_the_exporter_only_cooperates_on(client, comments):
    """The permission says whether the sheet has personal columns; each row shows them as the
    admin shows that comment to the exporter. 市财政局 only cooperates on 二(三)4, which
    市工信局 answers: holding the permission (as the coordinators of a bureau that issues
    consultations of its own do) must not unmask what its admin masks."""
    comment = comments[2]

    def row_for(department):
        staff = member(f"export-{department}", department)
        staff.user_permissions.add(Permission.objects.get(codename="export_personal_data"))
        client.force_login(staff)
        response = export(client, comments, "export_csv", scope="all")
        assert response.status_code == 200
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        by_number = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
        return by_number[comment.tracking_number], response.content.decode("utf-8-sig")

    cooperating, content = row_for("市财政局")
    assert cooperating["电话"] == "137****0003"
    assert cooperating["电子邮箱"] == mask_email(comment.email) != comment.email
    assert cooperating["姓名"] == mask_name("孙八") != "孙八"
    assert "13712340003" not in content and "p3@example.cn" not in content

    owner, _content = row_for("市工信局")
    assert (owner["电话"], owner["电子邮箱"], owner["姓名"]) == (
        "13712340003",
        "p3@example.cn",
        "孙八",
    )


def test_personal_data_permission_is_explicit(comments):
    staff = member("fgw", "市发改委")
    assert not staff.has_perm("comments.export_personal_data")
    staff.user_permissions.add(Permission.objects.get(codename="export_personal_data"))
    staff = User.objects.get(pk=staff.pk)
    assert staff.has_perm("comments.export_personal_data")


def test_the_xlsx_is_a_sheet_to_work_in(client, comments):
    """Widths set, the header bold and frozen above a filter, times as real dates, the
    answering department in a column of its own and the cooperating departments' opinions."""
    from consult.comments.workflow import CommentChange, comment_change_apply

    industry = comments[2]  # 二(三)4: 市工信局 answers; 市财政局 and 市大数据局 cooperate
    comment_change_apply(industry, member("czj", "市财政局"), CommentChange(opinion="同意补贴。"))
    client.force_login(member("hyj", "市海渔局"))
    response = export(client, comments, "export_xlsx", scope="all")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}4"
    assert sheet["A1"].font.bold
    body = header.index("意见内容") + 1
    assert sheet.column_dimensions[sheet.cell(1, body).column_letter].width >= 40
    assert all(
        sheet.column_dimensions[sheet.cell(1, n).column_letter].width for n in range(1, len(header))
    )
    row = next(r for r in rows if r[0] == industry.tracking_number)
    values = dict(zip(header, row, strict=True))
    assert isinstance(values["提交时间（北京时间）"], datetime.datetime)
    assert values["负责答复单位"] == "市工信局"
    assert values["配合单位"] == "市财政局、市大数据局"
    assert values["配合意见"] == "市财政局：同意补贴。"


def test_the_csv_names_the_answering_department_and_writes_times_as_text(client, comments):
    client.force_login(member("sthj", "市生态环境局"))
    response = export(client, comments, "export_csv", scope="all")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    values = dict(zip(rows[0], rows[1], strict=True))
    assert values["负责答复单位"] == "市生态环境局" and values["配合单位"] == ""
    assert len(values["提交时间（北京时间）"]) == len("2026-12-02 12:00:00")
    comment = Comment.objects.get(tracking_number=values["回执编号"])
    beijing = comment.submitted_at.astimezone(zoneinfo.ZoneInfo("Asia/Shanghai"))
    assert values["提交时间（北京时间）"] == f"{beijing:%Y-%m-%d %H:%M:%S}"


def _built_by_a_task(client, comments, settings, capture):
    """A superuser's export of every comment, built by a task: (when it was asked, the row)."""
    settings.EXPORT_INLINE_ROWS = 1
    client.force_login(User.objects.create_superuser("root", password="pw"))
    start = timezone.now()
    with capture(execute=True):
        export(client, comments, "export_csv", scope="all")
    return start, Export.objects.get()


def test_an_export_file_is_kept_for_export_keep_days_then_deleted(
    client, comments, settings, django_capture_on_commit_callbacks
):
    """A file of names and phones lay in storage for good, out of reach of the comments'
    retention, downloadable by its maker whenever."""

    from consult.jobs.services import JOBS

    start, job = _built_by_a_task(client, comments, settings, django_capture_on_commit_callbacks)
    storage, name = job.file.storage, job.file.name
    assert storage.exists(name)
    kept = datetime.timedelta(days=settings.EXPORT_KEEP_DAYS)
    listed = f"/staff/exports/{job.pk}/"
    with time_machine.travel(start + kept - datetime.timedelta(minutes=1), tick=False):
        client.force_login(job.user)  # a sign-in lasts SESSION_HOURS, not days
        assert client.get(f"/staff/exports/{job.pk}/").status_code == 200
        assert listed in client.get("/admin/comments/export/").content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            assert "exports deleted: 0" in JOBS["personal-data-retention"].run(timezone.now())
    with time_machine.travel(start + kept + datetime.timedelta(minutes=1), tick=False):
        client.force_login(job.user)
        assert client.get(f"/staff/exports/{job.pk}/").status_code == 404
        assert listed not in client.get("/admin/comments/export/").content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            assert "exports deleted: 1" in JOBS["personal-data-retention"].run(timezone.now())
    assert not Export.objects.exists()
    assert not storage.exists(name)


def test_purge_personal_data_deletes_the_expired_exports_too(
    client, comments, settings, django_capture_on_commit_callbacks
):
    """The README's command after restoring a backup cleared the comments and left the files of
    names and phones that only the daily job deleted."""
    import io

    from django.core.management import call_command

    start, job = _built_by_a_task(client, comments, settings, django_capture_on_commit_callbacks)
    storage, name = job.file.storage, job.file.name
    later = start + datetime.timedelta(days=settings.EXPORT_KEEP_DAYS, minutes=1)
    with time_machine.travel(later, tick=False):
        said = io.StringIO()
        call_command("purge_personal_data", "--dry-run", stdout=said)
        assert "1 exports would be deleted" in said.getvalue()
        assert Export.objects.exists()
        with django_capture_on_commit_callbacks(execute=True):
            call_command("purge_personal_data", stdout=said)
    assert "1 exports were deleted" in said.getvalue()
    assert not Export.objects.exists()
    assert not storage.exists(name)


def test_a_large_export_is_written_in_the_language_of_whoever_asked(
    client, comments, settings, django_capture_on_commit_callbacks
):
    """Built by a task, it came out in the site's language (Chinese) for an English admin,
    while the same export under EXPORT_INLINE_ROWS came out in English."""
    settings.EXPORT_INLINE_ROWS = 1
    client.force_login(User.objects.create_superuser("root", password="pw"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with django_capture_on_commit_callbacks(execute=True):
        export(client, comments, "export_csv", scope="all")
    job = Export.objects.get()
    assert job.language == "en"
    content = b"".join(client.get(f"/staff/exports/{job.pk}/").streaming_content)
    header = next(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert "回执编号" not in header and "Tracking number" in header


@pytest.mark.parametrize(
    ("field", "stored", "exported"),
    [
        # A form feed pasted from a PDF, stored before control characters were refused.
        ("reply", "第一页\x0c第二页", "第一页第二页"),
        # U+FFFF, taken from citizens before noncharacters were refused.
        ("body", "建议明确评价指标\uffff并公开结果。", "建议明确评价指标并公开结果。"),
    ],
    ids=["control-character", "noncharacter"],
)
def test_a_character_the_sheet_cannot_hold_does_not_fail_the_xlsx(
    client, comments, field, stored, exported
):
    """The sheet's XML cannot hold it, and one such comment in a selection failed the whole
    export (a 500)."""
    Comment = type(comments[0])
    Comment.objects.filter(pk=comments[0].pk).update(**{field: stored})
    client.force_login(member("hyj", "市海渔局"))
    response = export(client, comments, "export_xlsx", scope="all")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert any(cell == exported for row in rows for cell in row)


def test_a_large_export_the_broker_refuses_is_kept_and_handed_on_by_the_sweep(
    client, comments, settings, django_capture_on_commit_callbacks, caplog
):
    """The task's publish ran after commit, unguarded: with Redis down the admin answered 500
    while the export stayed 'queued' until it expired, built by nobody."""
    from kombu.exceptions import OperationalError

    from consult.comments.tasks import build_export
    from consult.jobs.services import JOBS

    settings.EXPORT_INLINE_ROWS = 1
    client.force_login(User.objects.create_superuser("root", password="pw"))
    start = timezone.now()
    refused = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    with (
        time_machine.travel(start, tick=False),
        mock.patch.object(build_export, "apply_async", side_effect=refused),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = export(client, comments, "export_csv", scope="all")
    assert response.status_code == 302
    job = Export.objects.get()
    assert job.status == Export.Status.PENDING
    assert f"Could not enqueue export {job.pk}" in caplog.text
    sweep = JOBS["export-sweep"]
    after = datetime.timedelta(seconds=settings.NOTIFY_SWEEP_AFTER_SECONDS)
    # Its task may still be on its way: the sweep leaves a fresh export alone.
    with time_machine.travel(start + after - datetime.timedelta(seconds=1), tick=False):
        assert sweep.run(timezone.now()) == "exports handed to a worker again: 0"
    # Still refused: nothing is lost, the next sweep tries again.
    with (
        time_machine.travel(start + after, tick=False),
        mock.patch.object(build_export, "apply_async", side_effect=refused),
    ):
        assert sweep.run(timezone.now()) == "exports handed to a worker again: 0"
    assert Export.objects.get().status == Export.Status.PENDING
    with time_machine.travel(start + after + datetime.timedelta(minutes=1), tick=False):
        assert sweep.run(timezone.now()) == "exports handed to a worker again: 1"
    job.refresh_from_db()
    assert (job.status, job.rows_done) == (Export.Status.DONE, 3)
    content = b"".join(client.get(f"/staff/exports/{job.pk}/").streaming_content).decode()
    assert all(c.tracking_number in content for c in comments)


def _export():
    user = User.objects.create_superuser("root", password="pw")
    return Export.objects.create(
        user=user, format="csv", query=pickle.dumps(Comment.objects.all().query), total=3
    )


def test_one_worker_builds_an_export_and_a_silent_one_loses_it_to_the_sweep(comments, settings):
    """Handed on twice (the sweep and a late publish), an export is built once; a worker that
    died mid-build leaves it 'running', and after EXPORT_LEASE_SECONDS the sweep hands it on."""

    from consult.comments.exports import export_build, export_claim
    from consult.jobs.services import JOBS

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        job = _export()
        assert export_claim(job.pk) == 1  # a worker took it, then died
        assert export_build(job.pk) is None  # the other copy of its task leaves it alone
    lease = datetime.timedelta(seconds=settings.EXPORT_LEASE_SECONDS)
    sweep = JOBS["export-sweep"]
    with time_machine.travel(start + lease - datetime.timedelta(seconds=1), tick=False):
        assert sweep.run(timezone.now()) == "exports handed to a worker again: 0"
    assert Export.objects.get().status == Export.Status.RUNNING
    with time_machine.travel(start + lease, tick=False):
        assert sweep.run(timezone.now()) == "exports handed to a worker again: 1"
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.attempts) == (Export.Status.DONE, 3, 2)
    assert export_build(job.pk) is None  # built: a late copy does not build it again
    with time_machine.travel(start + lease * 2, tick=False):
        assert sweep.run(timezone.now()) == "exports handed to a worker again: 0"


def test_a_worker_whose_claim_lapsed_leaves_the_export_to_its_successor(comments, settings):
    """A worker silent past the lease (a slow upload, a stalled database) went on writing: its
    DONE replaced the successor's file, whose copy of personal data then belonged to no export
    and outlived the retention; or its failure marked FAILED an export being built."""

    from consult.comments import exports
    from consult.comments.exports import export_build
    from consult.comments.tasks import build_export
    from consult.jobs.services import JOBS

    job = _export()
    storage = Export._meta.get_field("file").storage
    start = timezone.now()
    lease = datetime.timedelta(seconds=settings.EXPORT_LEASE_SECONDS)
    saved, uploads = [], []
    real_save = exports.File

    def slow_upload(handle):
        if uploads:  # the successor's upload
            return real_save(handle)
        uploads.append(handle)
        # While this worker writes its file, its lease runs out and the sweep hands the export
        # to another worker, which builds it.
        with (
            time_machine.travel(start + lease, tick=False),
            mock.patch.object(build_export, "apply_async", lambda args, **kw: export_build(*args)),
        ):
            assert JOBS["export-sweep"].run(timezone.now()) == "exports handed to a worker again: 1"
        saved.append(Export.objects.get(pk=job.pk).file.name)
        return real_save(handle)

    with time_machine.travel(start, tick=False), mock.patch.object(exports, "File", slow_upload):
        assert export_build(job.pk) is None
    job.refresh_from_db()
    assert (job.status, job.attempts, job.file.name) == (Export.Status.DONE, 2, saved[0])
    assert storage.exists(job.file.name)
    kept = set(storage.listdir(job.file.name.rsplit("/", 1)[0])[1])
    assert kept == {job.file.name.rsplit("/", 1)[1]}  # the first worker's file is gone


def test_an_export_that_kills_its_worker_every_time_is_given_up_on(comments, settings):
    """Its task came back after each lost worker (reject_on_worker_lost) and the sweep handed it
    on after each lease, every ten minutes for the seven days the export is kept."""

    from consult.comments.exports import export_claim
    from consult.comments.tasks import build_export
    from consult.jobs.services import JOBS

    job = _export()
    lease = datetime.timedelta(seconds=settings.EXPORT_LEASE_SECONDS)
    moment = timezone.now()
    with mock.patch.object(build_export, "apply_async"):  # queued, and taken by each worker
        for attempt in range(1, settings.EXPORT_MAX_ATTEMPTS + 1):
            with time_machine.travel(moment, tick=False):
                assert export_claim(job.pk) == attempt  # and the worker dies
            moment += lease
            with time_machine.travel(moment, tick=False):
                JOBS["export-sweep"].run(timezone.now())
    job.refresh_from_db()
    assert job.status == Export.Status.FAILED
    assert f"生成中断 {settings.EXPORT_MAX_ATTEMPTS} 次" in job.error
    assert export_claim(job.pk) is None


def test_a_queued_export_is_left_to_its_task(comments, settings):
    """The sweep re-sent every waiting export each minute: one waiting behind a long build on
    the exports worker gathered a copy of its task per minute."""

    from consult.comments.exports import export_hand_off
    from consult.comments.tasks import build_export
    from consult.jobs.services import JOBS

    job = _export()
    start = timezone.now()
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    with mock.patch.object(build_export, "apply_async") as publish:
        with time_machine.travel(start, tick=False):
            assert export_hand_off(job.pk)
        for minutes in range(1, visibility // 60):
            with time_machine.travel(start + datetime.timedelta(minutes=minutes), tick=False):
                JOBS["export-sweep"].run(timezone.now())
        assert publish.call_count == 1
        # Past the visibility timeout, a task still not taken is taken for lost (a wiped broker).
        with time_machine.travel(start + datetime.timedelta(seconds=visibility), tick=False):
            JOBS["export-sweep"].run(timezone.now())
        assert publish.call_count == 2


def test_exports_have_a_queue_of_their_own():
    """Exports ran on the default queue beside the periodic jobs: a few large ones took every
    worker process for minutes and the outbox sweep, digests and reminders waited."""
    from consult.celery import app

    def queue_of(task):
        return app.amqp.router.route({}, task)["queue"].name

    assert queue_of("consult.comments.tasks.build_export") == "exports"
    assert queue_of("consult.jobs.tasks.run_job") == "celery"
    assert queue_of("consult.notifications.tasks.deliver_notifications") == "notifications"


def test_a_file_of_contact_details_does_not_outlive_the_comments_retention(
    client, comments, settings, django_capture_on_commit_callbacks
):
    """An export made the day before the comments' retention ended kept their names and phones
    downloadable for up to EXPORT_KEEP_DAYS more: the purge cleared the comments and left the
    file (found by a review)."""
    import io
    import pickle

    from django.core.management import call_command

    from consult.comments.retention import retention_apply
    from consult.testing.weifang import load_weifang

    start, job = _built_by_a_task(client, comments, settings, django_capture_on_commit_callbacks)
    storage, name = job.file.storage, job.file.name
    assert job.include_personal and storage.exists(name)
    weifang = comments[0].consultation
    # One of another consultation's comments, none of them cleared: it stays (a review found
    # every file of contact details deleted, whatever it held).
    other = load_weifang(slug="weifang-other")
    elsewhere = Export.objects.create(
        user=job.user,
        format="csv",
        include_personal=True,
        query=pickle.dumps(Comment.objects.filter(consultation=other).query),
        total=0,
        created_at=start,
    )
    # Files chosen by a name or a phone (the queue's contact search): after the purge they
    # find nothing, so they are found holding the comments before it (a review of the change).
    chosen_by_contact = [
        Export.objects.create(
            user=job.user,
            format="csv",
            include_personal=True,
            query=pickle.dumps(Comment.objects.filter(**lookup).query),
            total=1,
            created_at=start,
        )
        for lookup in ({"submitter_name": "孙八"}, {"phone__in": [comments[0].phone]})
    ]
    settings.PERSONAL_DATA_RETENTION_DAYS = 0
    weifang.report_published_at = start + datetime.timedelta(hours=1)
    weifang.save(update_fields=["report_published_at"])
    with time_machine.travel(start + datetime.timedelta(hours=2), tick=False):
        assert client.get(f"/staff/exports/{job.pk}/").status_code == 200  # kept for 7 days
        said = io.StringIO()
        call_command("purge_personal_data", "--dry-run", stdout=said)
        assert "3 comments would lose their personal data; 3 exports" in said.getvalue()
        with django_capture_on_commit_callbacks(execute=True):
            assert retention_apply() == (3, 3)
        assert not Export.objects.filter(pk__in=[e.pk for e in chosen_by_contact]).exists()
        assert client.get(f"/staff/exports/{job.pk}/").status_code == 404
    assert list(Export.objects.all()) == [elsewhere] and not storage.exists(name)


@pytest.mark.parametrize("moved_to_another_bureau", [False, True])
def test_staff_who_leave_the_bureau_keep_no_file_of_contact_details(
    client, weifang_open, moved_to_another_bureau
):
    """A coordinator's export of names and phones stayed theirs to download for up to
    EXPORT_KEEP_DAYS after they were removed from the bureau, or moved to another bureau that
    issues consultations too, whose coordinators may export (found by reviews)."""
    from django.core.files.base import ContentFile

    from consult.consultations.models import Membership
    from consult.consultations.services import staff_groups_set, staff_join
    from tests.factories import ConsultationFactory, DepartmentFactory

    leaver = User.objects.create_user("hyj-leaver", password="pw")
    staff_join(leaver, Department.objects.get(name="市海渔局"))  # issued the Weifang notice
    comment_submit(
        consultation=weifang_open,
        clause=weifang_open.clauses.get(label="二(四)2"),
        body="建议公开生态补偿标准。",
        channel="web",
        consent=True,
        phone="13712340001",
        submitter_name="孙八",
    )
    exports = []
    for personal in (True, False):
        export = Export.objects.create(
            user=leaver,
            format="csv",
            query=pickle.dumps(Comment.objects.filter(consultation=weifang_open).query),
            include_personal=personal,
            status=Export.Status.DONE,
            total=1,
        )
        export.file.save(
            f"export-{personal}.csv", ContentFile("姓名,电话\n孙八,13712340001\n".encode())
        )
        exports.append(export)
    client.force_login(leaver)
    for export in exports:
        assert client.get(f"/staff/exports/{export.pk}/").status_code == 200
    Membership.objects.filter(user=leaver).delete()
    if moved_to_another_bureau:
        archives = DepartmentFactory(name="市档案局")
        ConsultationFactory(issuer=archives)
        staff_join(leaver, archives)
        assert leaver.has_perm("comments.export_personal_data")
    else:
        staff_groups_set(leaver)
    with_contact_details, without = exports
    assert client.get(f"/staff/exports/{with_contact_details.pk}/").status_code == 404
    assert client.get(f"/staff/exports/{without.pk}/").status_code == 200
    listed = client.get("/admin/comments/export/").content.decode()
    assert f"/staff/exports/{without.pk}/" in listed
    assert f"/staff/exports/{with_contact_details.pk}/" not in listed


@pytest.mark.parametrize("kept_cooperating", [False, True])
def test_a_file_of_contact_details_goes_with_a_comment_passed_to_another_department(
    client, comments, settings, django_capture_on_commit_callbacks, kept_cooperating
):
    """The export is judged by the comments its file holds, recorded as it is built: judged by
    its query, a comment passed to another department since was no longer found, and its
    maker kept downloading its submitter's name and phone (noticed in a review). Passed on by
    the bureau, the department stays cooperating and sees the comment masked; passed on by
    the department itself, it no longer sees it."""
    from consult.comments.workflow import CommentChange, comment_change_apply

    settings.EXPORT_INLINE_ROWS = 0  # it sees one comment: built by a task
    owner = member("export-gxj", "市工信局")  # answers 二(三)4
    owner.user_permissions.add(Permission.objects.get(codename="export_personal_data"))
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        assert export(client, comments, "export_csv", scope="all").status_code == 302
    job = Export.objects.get()
    assert job.status == "done" and job.user == owner
    content = b"".join(client.get(f"/staff/exports/{job.pk}/").streaming_content).decode()
    assert "13712340003" in content  # the answering department's file: in full

    comment_change_apply(
        comments[2],
        member("hyj", "市海渔局") if kept_cooperating else owner,
        CommentChange(
            route_to=Department.objects.get(name="市发改委"),
            make_owner=True,
            route_reason="属市发改委职责。",
        ),
    )

    assert client.get(f"/staff/exports/{job.pk}/").status_code == 404
    assert f"/staff/exports/{job.pk}/" not in client.get("/admin/comments/export/").content.decode()


def test_a_file_of_masked_rows_stays_while_its_comments_stay_in_sight(
    client, comments, settings, django_capture_on_commit_callbacks
):
    """The recording withdraws no more than it must: a cooperating department's file, whose
    rows were masked, stays its to download while it still sees them."""
    settings.EXPORT_INLINE_ROWS = 0  # it sees one comment: built by a task
    cooperating = member("export-czj", "市财政局")  # cooperates on 二(三)4
    cooperating.user_permissions.add(Permission.objects.get(codename="export_personal_data"))
    client.force_login(cooperating)
    with django_capture_on_commit_callbacks(execute=True):
        assert export(client, comments, "export_csv", scope="all").status_code == 302
    job = Export.objects.get()
    assert list(job.held.values_list("comment_id", "contact_shown")) == [(comments[2].pk, False)]
    assert client.get(f"/staff/exports/{job.pk}/").status_code == 200


def _recorded_export(user, comment_ids):
    return Export.objects.create(
        user=user,
        format="csv",
        include_personal=True,
        query=pickle.dumps(Comment.objects.filter(pk__in=comment_ids).query),
        total=len(comment_ids),
    )


@pytest.mark.django_db(transaction=True)
def test_an_export_deleted_while_it_is_built_stops_its_build_quietly(comments):
    """The retention purge deletes an export being built, as it is meant to: recording the
    comments it holds then broke the foreign key and failed the task (a review)."""
    from consult.comments import exports
    from consult.comments.exports import export_build

    owner = member("export-gxj", "市工信局")
    owner.user_permissions.add(Permission.objects.get(codename="export_personal_data"))
    job = _recorded_export(owner, [c.pk for c in comments])
    write = exports.WRITERS["csv"]

    def written_then_purged(rows, handle, columns):
        count = write(rows, handle, columns)
        Export.objects.filter(pk=job.pk).delete()
        return count

    with mock.patch.dict(exports.WRITERS, {"csv": written_then_purged}):
        assert export_build(job.pk) is None
    assert not ExportedComment.objects.exists()


def test_a_build_tried_again_records_a_row_in_full_if_its_file_has_it_so(comments):
    """The first attempt wrote the comment masked and died; by the second the maker's
    department answered it and the file has the phone in full: the first attempt's record
    (masked) was kept, and the file stayed downloadable after the comment moved on (a review)."""
    from consult.comments.exports import export_build, exports_downloadable_by
    from consult.comments.workflow import CommentChange, comment_change_apply

    owner = member("export-gxj", "市工信局")  # answers 二(三)4
    owner.user_permissions.add(Permission.objects.get(codename="export_personal_data"))
    target = comments[2]
    job = _recorded_export(owner, [target.pk])
    ExportedComment.objects.create(export=job, comment=target, contact_shown=False)
    Export.objects.filter(pk=job.pk).update(attempts=1)  # the first attempt died

    assert export_build(job.pk) is not None
    job.refresh_from_db()
    assert "13712340003" in job.file.open("rb").read().decode("utf-8-sig")
    assert list(job.held.values_list("contact_shown", flat=True)) == [True]
    comment_change_apply(
        Comment.objects.get(pk=target.pk),
        member("hyj", "市海渔局"),
        CommentChange(
            route_to=Department.objects.get(name="市发改委"),
            make_owner=True,
            route_reason="属市发改委职责。",
        ),
    )
    assert not exports_downloadable_by(owner).filter(pk=job.pk).exists()
