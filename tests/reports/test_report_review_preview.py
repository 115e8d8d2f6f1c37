"""The admin's preview says what publishing would say: while the comment period is open it
names the close, never "can be published" (review item 7)."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import User
from django.utils import timezone

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.consultations.models import Consultation, Department, Revision
from consult.consultations.services import staff_join
from consult.reports.services import report_generate, report_publish, report_review
from tests.support.revisions import weifang_second_draft

pytestmark = pytest.mark.django_db

TOO_EARLY = "征求意见截止后才能公布采纳情况。"
CAN_PUBLISH = "可以公布"


@pytest.fixture
def coordinator():
    user = User.objects.create_user("hyj", password="pw")
    staff_join(user, Department.objects.get(name="市海渔局"))
    return user


def reviewed_report(consultation, coordinator, revision=None, *, label="二(一)1", phone_n=1):
    """One answered comment on a clause of the revision, counted and reviewed."""
    revision = revision or consultation.current_revision
    comment_submit(
        consultation=consultation,
        clause=revision.clauses.get(label=label),
        body="建议明确集聚区评价指标。",
        channel="web",
        consent=True,
        phone=f"1381234{phone_n:04d}",
    )
    Comment.objects.update(status="answered", decision="adopted", reply="采纳。")
    report = report_generate(consultation, revision=revision)
    report_review(report, by=coordinator, counted_at=report.generated_at)
    return report


def preview(client, report) -> str:
    return client.get(f"/admin/reports/adoptionreport/{report.pk}/preview/").content.decode()


def test_the_preview_names_the_close_while_the_period_is_open(client, weifang_open, coordinator):
    report = reviewed_report(weifang_open, coordinator)
    client.force_login(coordinator)
    page = preview(client, report)
    assert TOO_EARLY in page and CAN_PUBLISH not in page

    # A second after the close's last second, both say it may go out; and it does.
    with time_machine.travel(weifang_open.closes_at + datetime.timedelta(seconds=1)):
        client.force_login(coordinator)  # a month later: a new session
        page = preview(client, report)
        assert CAN_PUBLISH in page and TOO_EARLY not in page
        report_publish(weifang_open)


def test_a_first_draft_s_report_waits_for_the_first_draft_s_close(
    client, weifang_open, coordinator
):
    """Its own period, not the one of the draft now consulted on: after the first draft
    closed, its report may go out while the second draft is open."""
    first = weifang_open.current_revision
    report = reviewed_report(weifang_open, coordinator, first)
    now = timezone.now().replace(microsecond=0)
    period = {
        "opens_at": now - datetime.timedelta(days=40),
        "closes_at": now - datetime.timedelta(days=10),
    }
    Revision.objects.filter(pk=first.pk).update(**period)
    Consultation.objects.filter(pk=weifang_open.pk).update(**period)
    with time_machine.travel(now + datetime.timedelta(minutes=1)):
        second = weifang_second_draft(weifang_open)
    client.force_login(coordinator)
    with time_machine.travel(now + datetime.timedelta(minutes=2)):
        page = preview(client, report)
        assert CAN_PUBLISH in page and TOO_EARLY not in page
        second_report = reviewed_report(
            weifang_open, coordinator, second, label="二(四)1", phone_n=2
        )
        page = preview(client, second_report)
        assert TOO_EARLY in page and CAN_PUBLISH not in page
