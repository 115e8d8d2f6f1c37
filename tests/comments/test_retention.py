"""Personal data leaves when the form says it will; the comment, its answer and history stay."""

import datetime
import io

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from consult.comments.models import Attachment, Comment, CommentEvent
from consult.comments.retention import comments_past_retention, personal_data_purge
from consult.comments.services import comment_submit
from consult.consultations.models import Department
from consult.notifications.models import Notification, OutgoingEmail
from consult.notifications.outbox import REDACTED

pytestmark = pytest.mark.django_db(transaction=True)

PDF = b"%PDF-1.7\n1 0 obj\n"


@pytest.fixture
def answered(weifang_open, settings, django_capture_on_commit_callbacks):
    """A comment with contact details and an attachment, answered, its mail sent; the report
    is published the day after the close."""
    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    with django_capture_on_commit_callbacks(execute=True):
        comment = comment_submit(
            consultation=weifang_open,
            clause=weifang_open.clauses.get(label="二(一)1"),
            body="建议明确集聚区的评价指标，并按年度公开评估结果。",
            channel="web",
            consent=True,
            submitter_name="张三",
            organisation="潍坊某海洋科技有限公司",
            phone="13812345678",
            email="zhang@example.cn",
            ip="203.0.113.9",
            user_agent="Mozilla/5.0",
            attachment=SimpleUploadedFile("意见.pdf", PDF),
            attachment_type="pdf",
        ).comment
    Comment.objects.filter(pk=comment.pk).update(
        status="answered", decision="adopted", reply="感谢您的意见，已采纳。"
    )
    # A receipt an SMTP server refused: its error names the address.
    OutgoingEmail.objects.update(
        last_error="{'zhang@example.cn': (550, b'5.1.1 mailbox unavailable')}"
    )
    weifang_open.report_published_at = weifang_open.closes_at + datetime.timedelta(days=1)
    weifang_open.save(update_fields=["report_published_at"])
    assert mail.outbox and OutgoingEmail.objects.filter(status="sent").exists()
    return comment


def days_after_report(consultation, days, settings):
    return consultation.report_published_at + datetime.timedelta(
        days=settings.PERSONAL_DATA_RETENTION_DAYS + days
    )


def test_nothing_is_removed_before_the_retention_ends(answered, settings):
    moment = days_after_report(answered.consultation, -1, settings)
    assert personal_data_purge(now=moment) == 0
    answered.refresh_from_db()
    assert (answered.phone, answered.email, answered.submitter_name) == (
        "13812345678",
        "zhang@example.cn",
        "张三",
    )


def test_after_it_the_person_goes_and_the_comment_stays(answered, settings):
    attachment = Attachment.objects.get(comment=answered)
    storage, stored_name = attachment.file.storage, attachment.file.name
    moment = days_after_report(answered.consultation, 1, settings)
    # As an email some of whose recipients refused it for now keeps those who took it.
    OutgoingEmail.objects.update(
        delivered_to=["zhang@example.cn"], refused_for_good={"li@example.cn": [550, "no"]}
    )
    with time_machine.travel(moment, tick=False):
        dry_run = io.StringIO()
        call_command("purge_personal_data", "--dry-run", stdout=dry_run)
        assert dry_run.getvalue().startswith("1 comments would")
        assert personal_data_purge() == 1
    answered.refresh_from_db()
    assert answered.personal_data_removed_at == moment
    for field in ("submitter_name", "organisation", "phone", "email", "ip_hash", "user_agent"):
        assert getattr(answered, field) == "", field
    assert answered.body.startswith("建议明确集聚区") and answered.reply == "感谢您的意见，已采纳。"
    assert (answered.status, answered.decision) == ("answered", "adopted")
    assert not Attachment.objects.filter(comment=answered).exists()
    assert not storage.exists(stored_name)
    for email in OutgoingEmail.objects.all():
        assert email.to == [] and email.body_text == REDACTED and email.last_error == ""
        assert email.delivered_to == [] and email.refused_for_good == {}
        assert "13812345678" not in email.body_html and "zhang@" not in email.subject
    assert not Notification.objects.exclude(to=[]).exists()
    [event] = CommentEvent.objects.filter(comment=answered, text__contains="保存期限")
    assert event.at == moment
    # Again: nothing more to do, no second history event.
    assert personal_data_purge(now=moment + datetime.timedelta(days=1)) == 0
    assert comments_past_retention(now=moment).count() == 0
    assert CommentEvent.objects.filter(comment=answered, text__contains="保存期限").count() == 1


def test_without_a_report_the_retention_counts_from_the_close(answered, settings):
    consultation = answered.consultation
    consultation.report_published_at = None
    consultation.save(update_fields=["report_published_at"])
    retention = datetime.timedelta(days=settings.PERSONAL_DATA_RETENTION_DAYS)
    assert personal_data_purge(now=consultation.closes_at + retention) == 1


def test_the_dry_run_counts_what_the_purge_then_does(answered, weifang_open, settings):
    # The fixture dates the report ahead (the day after the close); these comments came in
    # before it, while the draft still took comments.
    reported = weifang_open.report_published_at
    weifang_open.report_published_at = None
    for n in range(3):
        comment_submit(
            consultation=weifang_open,
            clause=None,
            body=f"第{n}条：建议明确集聚区的评价指标。",
            channel="web",
            consent=True,
            phone=f"1381234{n:04d}",
        )
    weifang_open.report_published_at = reported
    moment = days_after_report(weifang_open, 1, settings)
    expected = comments_past_retention(now=moment).count()
    assert expected == 4
    assert personal_data_purge(now=moment, batch=3) == expected
    assert timezone.is_aware(Comment.objects.first().personal_data_removed_at)


def test_each_draft_s_commenters_are_forgotten_on_that_draft_s_schedule(answered, settings):
    """A second draft out for comment does not keep the first draft's commenters' data past
    the retention counted from the first draft's report; its own commenters keep theirs."""
    from consult.consultations.models import Revision
    from tests.support.revisions import clause, weifang_second_draft

    consultation = answered.consultation
    first = consultation.current_revision
    reported = timezone.now() - datetime.timedelta(days=settings.PERSONAL_DATA_RETENTION_DAYS + 1)
    Revision.objects.filter(pk=first.pk).update(report_published_at=reported)
    second = weifang_second_draft(consultation)
    later = comment_submit(
        consultation=consultation,
        clause=clause(second, "二(四)1"),
        body="建议第二稿明确申报时间和评审标准。",
        channel="web",
        consent=True,
        phone="13912345678",
    ).comment
    assert list(comments_past_retention()) == [answered]
    personal_data_purge()
    later.refresh_from_db()
    assert later.phone == "13912345678"
    answered.refresh_from_db()
    assert answered.phone == ""


def test_the_personal_data_written_in_the_texts_is_masked_before_the_names_go(answered, settings):
    """The masking looks for the submitter's own name: once the purge had deleted it, a letter's
    "来信人：张三" was shown in full to cooperating departments and in exports — the purge made
    the name more visible than before."""
    from consult.comments.models import CooperatingOpinion

    Comment.objects.filter(pk=answered.pk).update(
        body="建议明确集聚区的评价指标。来信人：张三，电话13812345678。",
        reply="张三同志：感谢您的意见，已采纳。",
        # Staff's own reasons (found by a review: kept whole once the name had gone).
        invalid_reason="张三来电（13812345678）要求撤回",
        opinions_waived_reason="已与张三电话沟通，无需等待配合意见。",
        publication_reason="意见中含有张三的电话 13812345678 和邮箱 zhang@example.cn",
    )
    CooperatingOpinion.objects.create(
        comment=answered,
        department=Department.objects.get(name="市科技局"),
        text="同意张三的意见。",
    )
    CommentEvent.objects.create(
        comment=answered, kind=CommentEvent.Kind.NOTE, text="已电话联系张三。", at=timezone.now()
    )
    personal_data_purge(now=days_after_report(answered.consultation, 1, settings))
    answered.refresh_from_db()
    assert answered.body == "建议明确集聚区的评价指标。来信人：＊＊，电话138****5678。"
    assert answered.reply == "＊＊同志：感谢您的意见，已采纳。"
    assert answered.invalid_reason == "＊＊来电（138****5678）要求撤回"
    assert answered.opinions_waived_reason == "已与＊＊电话沟通，无需等待配合意见。"
    assert answered.publication_reason == "意见中含有＊＊的电话 138****5678 和邮箱 z***@example.cn"
    assert CooperatingOpinion.objects.get(comment=answered).text == "同意＊＊的意见。"
    texts = CommentEvent.objects.filter(comment=answered).values_list("text", flat=True)
    assert not any("张三" in text for text in texts)


def test_a_retention_of_zero_days_is_what_the_pages_promise(client, weifang_open, settings):
    """`|default:365` read 0 as missing: the privacy page and the form promised a year."""
    settings.PERSONAL_DATA_RETENTION_DAYS = 0
    page = client.get("/privacy/").content.decode()
    assert "保存 0 天" in page and "365" not in page
    clause = weifang_open.clauses.get(label="二(一)1")
    form = client.get(
        f"/consultations/{weifang_open.slug}/clauses/{clause.pk}/comment/"
    ).content.decode()
    assert "保存 0 天" in form
