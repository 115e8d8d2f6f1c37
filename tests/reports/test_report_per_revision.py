"""An adoption report per revision of the draft (issue 19, item 5): each counts the comments its
revision received, is published on its own, and the consultation's status follows the draft now
consulted on."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from consult.comments.campaigns import campaigns_assign
from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.consultations.models import Consultation, Department, Revision
from consult.consultations.revisions import revision_create
from consult.consultations.services import staff_join
from consult.intake.presenters import consultations_in_order
from consult.intake.templatetags.moments import moment
from consult.reports.models import AdoptionReport
from consult.reports.services import report_generate, report_publish, report_review
from tests.support.revisions import first_draft_closed, weifang_second_draft

pytestmark = pytest.mark.django_db

OPEN = Consultation.Status.OPEN
REPORT_PUBLISHED = Consultation.Status.REPORT_PUBLISHED


def submit(consultation, clause, n, **extra):
    return comment_submit(
        consultation=consultation,
        clause=clause,
        body=f"第{n}条意见：建议明确集聚区评价指标。",
        channel="web",
        consent=True,
        phone=f"1381234{n:04d}",
        **extra,
    ).comment


def answer_all():
    Comment.objects.update(status="answered", decision="adopted", reply="采纳。")


@pytest.fixture
def coordinator():
    user = User.objects.create_user("hyj", password="pw")
    staff_join(user, Department.objects.get(name="市海渔局"))
    return user


@pytest.fixture
def first_closed(weifang_open):
    """The first draft, its period over (it ended ten days ago), with three comments on its
    clauses and one on the whole draft; two of their authors asked to hear of the report."""
    first = weifang_open.current_revision
    now = timezone.now().replace(microsecond=0)
    submit(weifang_open, first.clauses.get(label="二(一)1"), 1, email="a@example.cn")
    Comment.objects.update(notify_on_report=True)
    submit(weifang_open, first.clauses.get(label="二(一)1"), 2)
    submit(weifang_open, first.clauses.get(label="二(三)4"), 3)
    submit(weifang_open, None, 4, email="whole@example.cn", notify_on_report=True)
    answer_all()
    first_draft_closed(weifang_open, now=now)
    first.refresh_from_db()
    return weifang_open, first


@pytest.fixture
def two_drafts(first_closed):
    """…and the second draft, open now, with two comments on its clauses (one asking)."""
    consultation, first = first_closed
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=1)):
        second = weifang_second_draft(consultation)
    later = timezone.now() + datetime.timedelta(minutes=2)
    with time_machine.travel(later):
        new = second.clauses.get(label="二(四)1")
        submit(consultation, new, 5, email="b@example.cn", notify_on_report=True)
        submit(consultation, new, 6)
    consultation.refresh_from_db()
    return consultation, first, second


def reviewed(report, user):
    report_review(report, by=user, counted_at=report.generated_at)
    return report


def test_each_revision_s_report_counts_its_own_comments(two_drafts, coordinator):
    consultation, first, second = two_drafts
    on_first = report_generate(consultation, revision=first)
    on_second = report_generate(consultation)  # the draft now consulted on
    assert (on_first.revision, on_second.revision) == (first, second)
    assert (on_first.total, on_second.total) == (4, 2)
    assert {line.clause.revision_id for line in on_first.lines.exclude(clause=None)} == {first.pk}
    assert on_first.lines.filter(clause=None).get().comments == 1  # the whole draft, meanwhile
    assert {line.clause.revision_id for line in on_second.lines.all()} == {second.pk}
    assert "第2稿" in on_second.introduction and "共收到意见 2 条" in on_second.introduction
    assert AdoptionReport.objects.filter(consultation=consultation).count() == 2
    # Counting again keeps one report per revision.
    report_generate(consultation, revision=first)
    assert AdoptionReport.objects.filter(consultation=consultation).count() == 2


def test_a_campaign_counts_on_each_draft_by_the_letters_that_draft_received(two_drafts):
    """One campaign, one letter to the first draft and two to the second: the first draft's
    report has no form letters (one letter is no campaign), and the second's has one group of
    two, whatever the first received."""
    consultation, first, second = two_drafts
    letter = "我们是沿海渔民，强烈要求保留传统渔港码头和渔具堆放场地，改造前请先听取渔民意见。"
    others = [
        "建议明确集聚区评价指标，并按年度公开评选结果。",
        "整体上支持方案，建议增加年度评估机制。",
        "海洋牧场建设应当优先考虑生态保护红线。",
    ]
    comments = list(Comment.objects.order_by("submitted_at", "pk"))
    assert len(comments) == 6
    one_on_first, two_on_second = comments[2], comments[4:]
    for comment, body in zip(
        [c for c in comments if c != one_on_first and c not in two_on_second], others, strict=True
    ):
        Comment.objects.filter(pk=comment.pk).update(body=body)
    for n, comment in enumerate([one_on_first, *two_on_second]):
        Comment.objects.filter(pk=comment.pk).update(body=letter + "盼复" * n)
    campaigns_assign([c.pk for c in comments])
    assert len({c.campaign_id for c in Comment.objects.filter(campaign__isnull=False)}) == 1
    assert Comment.objects.filter(campaign__isnull=False).count() == 3

    on_first = report_generate(consultation, revision=first)
    on_second = report_generate(consultation)
    assert (on_first.campaigns, on_first.campaign_letters) == (0, 0)
    assert all(line.campaign_letters == 0 for line in on_first.lines.all())
    assert on_second.revision == second
    assert (on_second.campaigns, on_second.campaign_letters) == (1, 2)
    assert on_second.lines.get(clause__label="二(四)1").campaign_letters == 2


def test_the_first_draft_s_report_goes_out_while_the_second_is_open(
    client, two_drafts, coordinator, django_capture_on_commit_callbacks
):
    consultation, first, _second = two_drafts
    reviewed(report_generate(consultation, revision=first), coordinator)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert report_publish(consultation, revision=first) == 2

    consultation.refresh_from_db()
    assert consultation.status == OPEN  # the second draft is what is consulted on now
    assert consultation.report_published_at is None
    # Each revision knows when the report on it went out: the answers to its comments with it.
    first.refresh_from_db()
    _second.refresh_from_db()
    report = AdoptionReport.objects.get(revision=first)
    assert first.report_published_at == report.published_at is not None
    assert _second.report_published_at is None
    first_url = reverse("intake:revision_report", args=[consultation.slug, 1])
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == ["a@example.cn", "whole@example.cn"]  # not b@, who commented on 2
    assert all(first_url in message.body for message in mail.outbox)
    # The consultation's report page is the latest published: the first draft's, for now.
    page = client.get(reverse("intake:report", args=[consultation.slug])).content.decode()
    assert "共收到意见 4 条" in page
    assert client.get(first_url).status_code == 200
    second_url = reverse("intake:revision_report", args=[consultation.slug, 2])
    assert client.get(second_url).status_code == 404


def test_the_second_draft_s_report_waits_for_its_close_and_then_sets_the_status(
    client, two_drafts, coordinator
):
    consultation, first, second = two_drafts
    reviewed(report_generate(consultation, revision=first), coordinator)
    report_publish(consultation, revision=first)
    reviewed(report_generate(consultation), coordinator)
    with pytest.raises(ValidationError) as refused:
        report_publish(consultation)
    assert refused.value.code == "too_early"

    after_close = second.closes_at + datetime.timedelta(days=1)
    with time_machine.travel(after_close):
        answer_all()
        reviewed(report_generate(consultation), coordinator)
        report_publish(consultation)
        consultation.refresh_from_db()
        assert consultation.status == REPORT_PUBLISHED
        page = client.get(reverse("intake:report", args=[consultation.slug])).content.decode()
    assert "第2稿征求意见采纳情况的说明" in page
    first_url = reverse("intake:revision_report", args=[consultation.slug, 1])
    second_url = reverse("intake:revision_report", args=[consultation.slug, 2])
    assert f'href="{first_url}"' in page and f'href="{second_url}" aria-current="page"' in page


def test_the_first_draft_s_report_is_found_while_the_second_is_open(
    client, two_drafts, coordinator
):
    consultation, first, _second = two_drafts
    reviewed(report_generate(consultation, revision=first), coordinator)
    report_publish(consultation, revision=first)
    first_url = reverse("intake:revision_report", args=[consultation.slug, 1])
    # The consultation page (which shows the second draft) links it beside the first draft.
    page = client.get(consultation.get_absolute_url()).content.decode()
    assert f'href="{first_url}"' in page and "征求意见稿意见采纳情况" in page
    assert client.get(first_url).status_code == 200
    # So do the reports feed and the sitemap: one entry per draft's report.
    feed = client.get("/feeds/reports.atom").content.decode()
    assert f"http://testserver{first_url}" in feed
    assert f"《{consultation.title}》意见采纳情况" in feed
    assert f"http://testserver{first_url}</loc>" in client.get("/sitemap.xml").content.decode()
    # The entry gives the period of the draft its report answers, not the second draft's.
    (entry,) = [e for e in feed.split("<entry>")[1:] if first_url in e]
    beijing = timezone.get_default_timezone()
    first_closed_at = moment(timezone.localtime(first.closes_at, beijing), "second")
    now_closes_at = moment(timezone.localtime(consultation.closes_at, beijing), "second")
    assert first_closed_at in entry and now_closes_at not in entry
    # The published comments show the first draft's answers, and link the report they came with.
    published = client.get(reverse("intake:published_comments", args=[consultation.slug]))
    assert f'href="{first_url}"' in published.content.decode()


def test_a_published_report_no_longer_sets_the_status_once_a_later_draft_is_out(
    first_closed, coordinator
):
    consultation, _first = first_closed
    reviewed(report_generate(consultation), coordinator)
    report_publish(consultation)
    consultation.refresh_from_db()
    assert consultation.status == REPORT_PUBLISHED

    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=1)):
        weifang_second_draft(consultation)
    consultation.refresh_from_db()
    # The draft now consulted on has no report yet; the first draft's stays published.
    assert consultation.report_published_at is None
    assert consultation.reports.get(revision=_first).published_at is not None
    assert consultation.status == OPEN
    # The public list, which asks once for all consultations, agrees.
    [listed] = consultations_in_order(timezone.now())
    assert listed.current_status == OPEN


def test_an_unpublished_revision_or_the_final_text_has_no_report(two_drafts):
    consultation, _first, second = two_drafts
    Revision.objects.filter(pk=second.pk).update(published_at=None)
    second.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        report_generate(consultation, revision=second)
    assert refused.value.code == "unpublished_revision"

    Revision.objects.filter(pk=second.pk).update(published_at=timezone.now())
    final = revision_create(consultation, is_final=True)
    Revision.objects.filter(pk=final.pk).update(published_at=timezone.now())
    final.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        report_generate(consultation, revision=final)
    assert refused.value.code == "no_period"
    assert not AdoptionReport.objects.exists()


def test_the_coordinator_makes_the_report_on_a_chosen_revision_in_the_admin(
    client, two_drafts, coordinator
):
    _consultation, first, second = two_drafts
    coordinator.is_staff = True
    coordinator.save()
    coordinator.user_permissions.add(
        Permission.objects.get(codename="publish_report"),
        Permission.objects.get(codename="change_adoptionreport"),
        Permission.objects.get(codename="view_adoptionreport"),
    )
    client.force_login(coordinator)
    changelist = client.get("/admin/reports/adoptionreport/").content.decode()
    generate = reverse("admin:reports_adoptionreport_generate")
    assert generate in changelist
    form = client.get(generate).content.decode()
    assert f'value="{first.pk}"' in form and f'value="{second.pk}"' in form

    response = client.post(generate, {"revision": first.pk})
    report = AdoptionReport.objects.get(revision=first)
    assert response.status_code == 302 and response["Location"].endswith(
        f"/admin/reports/adoptionreport/{report.pk}/change/"
    )
    assert report.total == 4 and report.reviewed_at is None

    other = User.objects.create_user("fgw", password="pw", is_staff=True)
    staff_join(other, Department.objects.get(name="市发改委"))
    other.user_permissions.add(Permission.objects.get(codename="publish_report"))
    client.force_login(other)
    response = client.post(generate, {"revision": second.pk})
    assert response.status_code == 200  # not one of the choices
    assert not AdoptionReport.objects.filter(revision=second).exists()


def test_publishing_from_the_consultation_list_links_to_the_reported_draft_s_unanswered(
    client, two_drafts
):
    """Found by a review: the link said "查看这 2 条意见" and the queue it opened listed the
    first draft's open comment too (the reports list's link was right)."""
    import html
    import re

    consultation, first, second = two_drafts
    user = User.objects.create_user("hyj2", password="pw")
    staff_join(user, Department.objects.get(name="市海渔局"))
    one = Comment.objects.filter(clause__revision=first).first()
    Comment.objects.filter(pk=one.pk).update(status="in_progress", decision="", reply="")
    Comment.objects.filter(clause__revision=second).update(status="pending", decision="", reply="")
    with time_machine.travel(second.closes_at + datetime.timedelta(days=1)):
        report = report_generate(consultation)
        assert report.revision == second and report.unanswered == 2
        report_review(report, by=user, counted_at=report.generated_at)
        client.force_login(user)
        response = client.post(
            "/admin/consultations/consultation/",
            {"action": "publish_report", "_selected_action": [consultation.pk]},
            follow=True,
        )
        said = " ".join(str(message) for message in response.context["messages"])
        link = html.unescape(re.search(r'href="([^"]+)"', said).group(1))
        assert client.get(link).context["cl"].result_count == 2
