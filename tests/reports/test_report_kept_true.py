"""The published report says what the comments say, and stays as the public read it.

Found by a review of the report's checks: a comment moved to another clause after the review
changed two lines and no total, and went out unnoticed; an untouched introduction kept the
total of its first count; a published report could be recounted and edited in place, the
public page changing without review; invalid form letters were counted in the totals' groups;
the submitters of invalid comments were emailed about the report.
"""

import datetime
from unittest import mock

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from consult.comments.campaigns import campaigns_assign
from consult.comments.models import Comment
from consult.comments.references import comment_move_to_clause
from consult.comments.services import comment_submit
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from consult.reports.models import AdoptionReport
from consult.reports.services import report_generate, report_publish, report_review

pytestmark = pytest.mark.django_db

REPORTS = "/admin/reports/adoptionreport/"
LETTER = "强烈建议保留老渔港的传统渔市，这是几代渔民的生计所在。"


@pytest.fixture
def coordinator():
    user = User.objects.create_user("hyj", password="pw")
    staff_join(user, Department.objects.get(name="市海渔局"))
    user.user_permissions.add(Permission.objects.get(codename="publish_report"))
    return user


def submit(consultation, label, body, n, **extra):
    return comment_submit(
        consultation=consultation,
        clause=consultation.clauses.get(label=label) if label else None,
        body=body,
        channel="web",
        consent=True,
        email=f"p{n}@example.cn",
        notify_on_report=True,
        **extra,
    ).comment


def answered(comment):
    Comment.objects.filter(pk=comment.pk).update(
        status="answered", decision="adopted", reply="已采纳。"
    )


def after_close(consultation):
    return time_machine.travel(consultation.closes_at + datetime.timedelta(days=16))


def reviewed(consultation, coordinator):
    report = report_generate(consultation)
    report_review(report, by=coordinator, counted_at=report.generated_at)
    return report


def test_a_comment_moved_to_another_clause_after_the_count_stops_publication(
    weifang_open, coordinator
):
    whole = submit(weifang_open, None, "建议把第二(四)2项的补偿标准写明。", 1)
    report = report_generate(weifang_open)
    report.unanswered_reason = "该意见正在会商。"
    report.save()
    report_review(report, by=coordinator, counted_at=report.generated_at)
    with after_close(weifang_open):
        comment_move_to_clause(
            whole, weifang_open.clauses.get(label="二(四)2"), by=User.objects.get(username="hyj")
        )
        with pytest.raises(ValidationError) as refused:
            report_publish(weifang_open)
    assert refused.value.code == "stale"
    report = report_generate(weifang_open)
    report_review(report, by=coordinator, counted_at=report.generated_at)
    assert [(line.clause.label, line.comments) for line in report.lines.all()] == [("二(四)2", 1)]
    assert report.unanswered_reason == "该意见正在会商。"
    with after_close(weifang_open):
        report_publish(weifang_open)


def test_an_untouched_introduction_follows_the_count_and_an_edited_one_is_kept(weifang_open):
    submit(weifang_open, "二(四)2", "建议公开资金使用情况。", 1)
    report = report_generate(weifang_open)
    assert "共收到意见 1 条" in report.introduction
    submit(weifang_open, "二(四)2", "建议公开项目进展。", 2)
    report = report_generate(weifang_open)
    assert "共收到意见 2 条" in report.introduction
    report.introduction = "本次征求意见期间，社会各界踊跃参与。"
    report.save()
    submit(weifang_open, "二(四)2", "建议增加公众监督。", 3)
    assert report_generate(weifang_open).introduction == "本次征求意见期间，社会各界踊跃参与。"


def test_a_published_report_is_neither_counted_again_nor_edited_nor_published_again(
    client, weifang_open, coordinator, django_capture_on_commit_callbacks
):
    first = submit(weifang_open, "二(四)2", "建议公开资金使用情况。", 1)
    answered(first)
    report = reviewed(weifang_open, coordinator)
    with after_close(weifang_open), django_capture_on_commit_callbacks(execute=True):
        assert report_publish(weifang_open) == 1
    page = reverse("intake:report", args=[weifang_open.slug])
    shown = client.get(page).content.decode()
    Comment.objects.filter(pk=first.pk).update(status="invalid", invalid_reason="重复")
    with pytest.raises(ValidationError) as refused:
        report_generate(weifang_open)
    assert refused.value.code == "published"
    with after_close(weifang_open), pytest.raises(ValidationError) as again:
        report_publish(weifang_open)
    assert again.value.code == "published"
    with after_close(weifang_open):
        client.force_login(coordinator)
        response = client.post(
            REPORTS, {"action": "regenerate", "_selected_action": [report.pk]}, follow=True
        )
        assert "不能再公布、重新统计或修改" in response.content.decode()
        edit = client.post(
            f"{REPORTS}{report.pk}/change/",
            {"introduction": "改过的说明", "lines-TOTAL_FORMS": 0, "lines-INITIAL_FORMS": 0},
        )
        assert edit.status_code == 403
        view = client.get(f"{REPORTS}{report.pk}/change/")
        assert view.status_code == 200 and 'name="introduction"' not in view.content.decode()
        generate = client.post(
            reverse("admin:consultations_consultation_changelist"),
            {"action": "generate_report", "_selected_action": [weifang_open.pk]},
            follow=True,
        )
        assert generate.status_code == 200
        assert "不能再公布、重新统计或修改" in generate.content.decode()
    report.refresh_from_db()
    assert (report.total, report.invalid) == (1, 0)
    assert client.get(page).content.decode() == shown


def test_invalid_form_letters_are_not_counted_and_their_senders_not_mailed(
    weifang_open, coordinator, django_capture_on_commit_callbacks
):
    letters = [submit(weifang_open, "二(三)4", LETTER + "盼复" * n, n) for n in range(4)]
    campaigns_assign([letter.pk for letter in letters])
    for letter in letters[:2]:
        answered(letter)
    for letter in letters[2:]:
        Comment.objects.filter(pk=letter.pk).update(status="invalid", invalid_reason="重复提交")
    report = reviewed(weifang_open, coordinator)
    assert (report.campaigns, report.campaign_letters) == (1, 2)
    [line] = report.lines.all()
    assert (line.campaigns, line.campaign_letters) == (1, 2)
    mail.outbox.clear()
    with after_close(weifang_open), django_capture_on_commit_callbacks(execute=True):
        assert report_publish(weifang_open) == 2
    assert sorted(address for message in mail.outbox for address in message.to) == [
        "p0@example.cn",
        "p1@example.cn",
    ]


def test_the_reports_change_page_reads_its_lines_clauses_in_one_query(
    client, weifang_open, coordinator
):
    def queries_with_lines(labels):
        for n, label in enumerate(labels):
            submit(weifang_open, label, f"建议{n}：明确责任分工。", n)
        report = report_generate(weifang_open)
        assert report.lines.count() == Comment.objects.values("clause").distinct().count()
        client.force_login(coordinator)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"{REPORTS}{report.pk}/change/").status_code == 200
        return len(queries)

    one = queries_with_lines(["二(四)2"])
    several = queries_with_lines(["二(三)4", "二(三)1", "二(三)2", "二(三)3"])
    assert several == one


def test_a_change_page_opened_before_the_publication_saves_nothing(
    client, weifang_open, coordinator
):
    """The admin's check of published_at ran when the page was opened: a save posted after the
    publication changed the published text and the lines' gists."""
    comment = submit(weifang_open, "二(四)2", "建议公开资金使用情况。", 1)
    answered(comment)
    report = reviewed(weifang_open, coordinator)
    line = report.lines.get()
    with after_close(weifang_open):
        client.force_login(coordinator)
        # Opened, then published by a colleague (the permission check already passed).
        with mock.patch("consult.reports.admin.report_editable", return_value=True):
            report_publish(weifang_open)
            response = client.post(
                f"{REPORTS}{report.pk}/change/",
                {
                    "introduction": "改过的说明",
                    "unanswered_reason": "",
                    "lines-TOTAL_FORMS": 1,
                    "lines-INITIAL_FORMS": 1,
                    "lines-MIN_NUM_FORMS": 0,
                    "lines-MAX_NUM_FORMS": 1000,
                    "lines-0-id": line.pk,
                    "lines-0-report": report.pk,
                    "lines-0-gist": "改过的要点",
                },
            )
    assert response.status_code == 200
    assert "不能再公布、重新统计或修改" in response.content.decode()
    report.refresh_from_db()
    line.refresh_from_db()
    assert report.introduction != "改过的说明" and line.gist == ""
    with pytest.raises(ValidationError):
        report_review(report, by=coordinator, counted_at=report.generated_at)


def test_a_published_report_is_not_deleted(client, weifang_open, coordinator):
    comment = submit(weifang_open, "二(四)2", "建议公开资金使用情况。", 1)
    answered(comment)
    report = reviewed(weifang_open, coordinator)
    root = User.objects.create_superuser("root", password="pw")
    with after_close(weifang_open):
        report_publish(weifang_open)
        client.force_login(root)
        assert client.post(f"{REPORTS}{report.pk}/delete/", {"post": "yes"}).status_code == 403
        listing = client.get(REPORTS).content.decode()
    assert "delete_selected" not in listing
    assert AdoptionReport.objects.filter(pk=report.pk).exists()
