"""Publishing the adoption report: refused while comments are unanswered (with the count and a
link to them), counts that account for every comment, a preview first, and the email links to
the report (issue 18, item 6)."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from consult.reports.services import report_generate, report_publish, report_review

pytestmark = pytest.mark.django_db

REPORTS = "/admin/reports/adoptionreport/"


@pytest.fixture
def three(weifang_open):
    """3 comments received, 1 partly adopted; one still pending, one in progress."""
    comments = [
        comment_submit(
            consultation=weifang_open,
            clause=weifang_open.clauses.get(label="二(四)2"),
            body=f"第{n}条：建议公开海洋生态修复项目的资金使用情况。",
            channel="web",
            consent=True,
            email=f"p{n}@example.cn",
            notify_on_report=True,
        ).comment
        for n in range(3)
    ]
    Comment.objects.filter(pk=comments[0].pk).update(
        status="answered", decision="partly_adopted", reply="部分采纳。"
    )
    Comment.objects.filter(pk=comments[1].pk).update(status="in_progress")
    return weifang_open, comments


@pytest.fixture
def coordinator():
    user = User.objects.create_user("hyj", password="pw")
    staff_join(user, Department.objects.get(name="市海渔局"))
    user.user_permissions.add(Permission.objects.get(codename="publish_report"))
    return user


def after_close(consultation):
    return time_machine.travel(consultation.closes_at + datetime.timedelta(days=16))


def test_publishing_with_unanswered_comments_is_refused_with_their_count(three, coordinator):
    consultation, _comments = three
    report = report_generate(consultation)
    report_review(report, by=coordinator, counted_at=report.generated_at)
    with after_close(consultation), pytest.raises(ValidationError) as refused:
        report_publish(consultation)
    assert refused.value.code == "unanswered"
    assert "还有 2 条意见尚未答复（其中 1 条尚未处理）" in refused.value.messages[0]
    consultation.refresh_from_db()
    assert consultation.report_published_at is None


def test_the_admin_links_to_the_unanswered_comments(client, three, coordinator):
    consultation, comments = three
    report = report_generate(consultation)
    report_review(report, by=coordinator, counted_at=report.generated_at)
    with after_close(consultation):
        client.force_login(coordinator)
        response = client.post(
            REPORTS, {"action": "publish", "_selected_action": [report.pk]}, follow=True
        )
        page = response.content.decode()
        queue = client.get(
            "/admin/comments/comment/",
            {"scope": "open", "consultation__id__exact": consultation.pk},
        ).content.decode()
    link = f"?scope=open&amp;consultation__id__exact={consultation.pk}"
    assert "还有 2 条意见尚未答复" in page and link in page and "查看这 2 条意见" in page
    assert comments[1].tracking_number in queue and comments[2].tracking_number in queue
    assert comments[0].tracking_number not in queue


def test_counts_that_changed_since_the_recount_are_refused(three, coordinator):
    consultation, comments = three
    report = report_generate(consultation)
    report.unanswered_reason = "两条意见涉及其他部门职责，正在会商。"
    report.save()
    report_review(report, by=coordinator, counted_at=report.generated_at)
    Comment.objects.filter(pk=comments[2].pk).update(status="invalid", invalid_reason="广告")
    with after_close(consultation), pytest.raises(ValidationError) as refused:
        report_publish(consultation)
    assert refused.value.code == "stale"


def test_with_a_reason_the_unanswered_are_published_and_every_comment_is_accounted_for(
    client, three, coordinator, django_capture_on_commit_callbacks
):
    consultation, _comments = three
    report = report_generate(consultation)
    report.unanswered_reason = "两条意见涉及其他部门职责，正在会商。"
    report.save()
    report_review(report, by=coordinator, counted_at=report.generated_at)
    mail.outbox.clear()
    with after_close(consultation), django_capture_on_commit_callbacks(execute=True):
        assert report_publish(consultation) == 3
        page = client.get(reverse("intake:report", args=[consultation.slug])).content.decode()
    totals = page.split('class="report-totals"')[1].split("</table>")[0]
    assert "未答复" in totals and "两条意见涉及其他部门职责，正在会商。" in totals
    assert "无效意见" in totals
    assert "以上合计 3 条" in page
    # The draft's own report page: the consultation's shows a later draft's report once out.
    report_url = reverse("intake:revision_report", args=[consultation.slug, 1])
    assert all(report_url in message.body for message in mail.outbox)
    assert len(mail.outbox) == 3


def test_the_preview_shows_the_page_before_it_goes_out(client, three, coordinator):
    consultation, _comments = three
    report = report_generate(consultation)
    client.force_login(coordinator)
    change = client.get(f"{REPORTS}{report.pk}/change/").content.decode()
    preview_url = f"{REPORTS}{report.pk}/preview/"
    assert preview_url in change
    page = client.get(preview_url).content.decode()
    assert 'id="report-preview"' in page and "本页尚未公布" in page
    assert "还有 2 条意见尚未答复" in page and "尚未审阅" in page
    assert "意见采纳情况" in page
    consultation.refresh_from_db()
    assert consultation.report_published_at is None
    # Another department's staff cannot preview the bureau's report.
    other = User.objects.create_user("fgw", password="pw")
    staff_join(other, Department.objects.get(name="市发改委"))
    client.force_login(other)
    assert client.get(preview_url).status_code in (302, 403, 404)


def test_a_reason_for_the_unanswered_with_personal_data_is_refused(client, three, coordinator):
    consultation, _comments = three
    report = report_generate(consultation)
    report.unanswered_reason = "提交人张先生电话13812345678，待联系。"
    report.save()
    report_review(report, by=coordinator, counted_at=report.generated_at)
    with after_close(consultation), pytest.raises(ValidationError) as refused:
        report_publish(consultation)
    assert refused.value.code == "personal_data"
    assert "未答复的原因" in refused.value.messages[0]


def test_publishing_waits_for_the_whole_second_of_the_close(three):
    """Comments are taken until 23:59:59.999; the report could go out at 23:59:59.4, and a
    comment stored in that second was then left out of it."""
    consultation, _comments = three
    close = consultation.closes_at
    assert consultation.accepts_comments_at(close + datetime.timedelta(milliseconds=400))
    with pytest.raises(ValidationError) as refused:
        report_publish(consultation, now=close + datetime.timedelta(milliseconds=400))
    assert refused.value.code == "too_early"
    assert not consultation.accepts_comments_at(close + datetime.timedelta(seconds=1))
    with pytest.raises(ValidationError) as refused:  # on to the next rule: no report yet
        report_publish(consultation, now=close + datetime.timedelta(seconds=1))
    assert refused.value.code == "not_reviewed"


def test_the_introduction_is_written_in_the_sites_language_whatever_the_admins(three):
    from django.utils import translation

    consultation, _comments = three
    with after_close(consultation), translation.override("en"):
        report = report_generate(consultation)
    assert report.introduction.startswith(consultation.title + "公开征求意见期间")


@pytest.mark.django_db(transaction=True)
def test_reopening_an_answer_and_publishing_its_report_take_turns(weifang_open, coordinator):
    """A reopen that had checked "no report yet" committed after the report went out counting
    its answer: the published report counted an adoption no longer there, and the comment
    could be answered anew. Each now waits for the other (the draft's row lock)."""
    from django.db import OperationalError, connection, connections, transaction

    from consult.comments.workflow import CommentChange, comment_change_apply

    if connection.vendor != "postgresql":
        pytest.skip("SQLite locks the whole database instead")
    comment = comment_submit(
        consultation=weifang_open,
        clause=weifang_open.clauses.get(label="二(四)2"),
        body="建议公开海洋生态修复项目的资金使用情况。",
        channel="web",
        consent=True,
    ).comment
    answered = {"status": "answered", "decision": "adopted", "reply": "采纳。"}
    Comment.objects.filter(pk=comment.pk).update(**answered)
    revision = weifang_open.current_revision
    # What report_publish would take on the draft, from another connection, without waiting.
    publication_lock = "SELECT 1 FROM consultations_revision WHERE id = %s FOR NO KEY UPDATE NOWAIT"
    other = connections.create_connection("default")
    try:
        with after_close(weifang_open):
            report = report_generate(weifang_open)
            report_review(report, by=coordinator, counted_at=report.generated_at)
            with transaction.atomic():
                comment_change_apply(comment, coordinator, CommentChange(status="in_progress"))
                with other.cursor() as cursor, pytest.raises(OperationalError):
                    cursor.execute(publication_lock, [revision.pk])
            # Counted with the answer that was reopened: refused, not published.
            with pytest.raises(ValidationError):
                report_publish(weifang_open)

            Comment.objects.filter(pk=comment.pk).update(**answered)
            report = report_generate(weifang_open)
            report_review(report, by=coordinator, counted_at=report.generated_at)
            with transaction.atomic():
                report_publish(weifang_open)
                with other.cursor() as cursor, pytest.raises(OperationalError):
                    cursor.execute(publication_lock, [revision.pk])
    finally:
        other.close()
    with pytest.raises(ValidationError):
        comment_change_apply(comment, coordinator, CommentChange(status="in_progress"))
