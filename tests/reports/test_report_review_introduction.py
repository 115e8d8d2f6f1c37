"""An introduction the coordinator edited keeps the total it was written for through a recount:
reviewing and publishing it are refused, naming the stale total and the one to write, until it
states the report's count; an untouched one is rewritten by the recount (review item 4)."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ValidationError

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from consult.reports.models import AdoptionReport
from consult.reports.services import report_generate, report_publish, report_review
from tests.reports.test_stale_report_page import page_data

pytestmark = pytest.mark.django_db

REPORTS = "/admin/reports/adoptionreport/"
THANKS = "\n感谢社会各界的关心和支持。"
STALE = (
    "报告说明中写的是“共收到意见 2 条”，与统计的 3 条不符：请改为“共收到意见 3 条”后再保存或公布。"
)


@pytest.fixture
def coordinator():
    user = User.objects.create_user("hyj", password="pw")
    staff_join(user, Department.objects.get(name="市海渔局"))
    user.user_permissions.add(Permission.objects.get(codename="publish_report"))
    return user


def submit(consultation, n):
    comment_submit(
        consultation=consultation,
        clause=consultation.clauses.get(label="二(一)1"),
        body=f"第{n}条意见：建议明确集聚区评价指标{n}。",
        channel="web",
        consent=True,
        phone=f"1381234{n:04d}",
    )
    Comment.objects.update(status="answered", decision="adopted", reply="采纳。")


def after_close(consultation):
    return time_machine.travel(consultation.closes_at + datetime.timedelta(days=16))


@pytest.fixture
def edited_then_recounted(weifang_open):
    """Two comments counted, the introduction edited by the coordinator, a third comment
    arrived and the report counted again: the edited sentence still says 2."""
    submit(weifang_open, 1)
    submit(weifang_open, 2)
    report = report_generate(weifang_open)
    report.introduction += THANKS
    report.save(update_fields=["introduction"])
    submit(weifang_open, 3)
    report = report_generate(weifang_open)
    assert report.total == 3 and "共收到意见 2 条" in report.introduction
    return report


def test_reviewing_an_edited_introduction_stating_the_earlier_total_is_refused(
    edited_then_recounted, coordinator
):
    report = edited_then_recounted
    with pytest.raises(ValidationError) as refused:
        report_review(report, by=coordinator, counted_at=report.generated_at)
    assert refused.value.code == "introduction_total"
    assert refused.value.messages == [STALE]
    report.refresh_from_db()
    assert report.reviewed_at is None

    # Corrected, the coordinator's own sentence is kept and the report goes out.
    report.introduction = report.introduction.replace("共收到意见 2 条", "共收到意见 3 条")
    report.save(update_fields=["introduction"])
    report_review(report, by=coordinator, counted_at=report.generated_at)
    with after_close(report.consultation):
        report_publish(report.consultation)
    report.refresh_from_db()
    assert report.published_at is not None
    assert "共收到意见 3 条" in report.introduction and report.introduction.endswith(THANKS)


def test_saving_the_page_with_the_earlier_total_is_a_form_error_and_no_review(
    client, edited_then_recounted, coordinator
):
    report = edited_then_recounted
    client.force_login(coordinator)
    url = f"{REPORTS}{report.pk}/change/"
    data = page_data(client.get(url))
    assert "共收到意见 2 条" in data["introduction"]
    response = client.post(url, data)
    assert response.status_code == 200
    assert STALE in response.content.decode()
    assert "共收到意见 2 条" in response.context["adminform"].form["introduction"].value()
    report.refresh_from_db()
    assert report.reviewed_at is None

    data["introduction"] = data["introduction"].replace("共收到意见 2 条", "共收到意见 3 条")
    assert client.post(url, data).status_code == 302
    report.refresh_from_db()
    assert report.reviewed_by == coordinator and "共收到意见 3 条" in report.introduction


def test_a_report_reviewed_with_the_earlier_total_is_not_published(
    client, edited_then_recounted, coordinator
):
    """A review made before the rule (or the text changed after it) does not let the stale
    sentence out: publishing names it, in the service and the admin's action alike."""
    report = edited_then_recounted
    AdoptionReport.objects.filter(pk=report.pk).update(
        reviewed_at=report.generated_at, reviewed_by=coordinator
    )
    consultation = report.consultation
    with after_close(consultation):
        with pytest.raises(ValidationError) as refused:
            report_publish(consultation)
        assert refused.value.code == "introduction_total"
        assert refused.value.messages == [STALE]
        client.force_login(coordinator)
        response = client.post(
            REPORTS, {"action": "publish", "_selected_action": [report.pk]}, follow=True
        )
        preview = client.get(f"{REPORTS}{report.pk}/preview/").content.decode()
    assert STALE in response.content.decode()
    assert STALE in preview and "可以公布" not in preview
    report.refresh_from_db()
    assert report.published_at is None


def test_an_untouched_introduction_is_rewritten_by_a_recount(weifang_open, coordinator):
    submit(weifang_open, 1)
    submit(weifang_open, 2)
    report_generate(weifang_open)
    submit(weifang_open, 3)
    report = report_generate(weifang_open)
    assert "共收到意见 3 条" in report.introduction and "共收到意见 2 条" not in report.introduction
    report_review(report, by=coordinator, counted_at=report.generated_at)
    with after_close(weifang_open):
        report_publish(weifang_open)
    report.refresh_from_db()
    assert report.published_at is not None
