"""axe-core finds nothing on the pages department staff work in (issue 18): the comment queue
at 1280 px and on a phone, a comment's change form as each standing sees it, the dashboard,
the login page, the admin index and the failed-email list. Screenshots and axe's JSON are
kept as axe-*.png and axe-*.json under the suite's screenshot folder."""

import datetime

import pytest
from django.utils import timezone

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.comments.workflow import CommentChange, comment_change_apply
from consult.consultations.models import Department
from consult.notifications.delivery import emails_build
from consult.notifications.models import Notification, OutgoingEmail
from tests.browser.conftest import axe_findings
from tests.browser.staff import log_in, queue_with_every_column, staff
from tests.conftest import load_weifang

pytestmark = pytest.mark.django_db(transaction=True)


def submit(consultation, label, body, phone="13812345678"):
    return comment_submit(
        consultation=consultation,
        clause=consultation.clauses.get(label=label),
        body=body,
        channel="web",
        consent=True,
        phone=phone,
    ).comment


def overdue_comment():
    """An open comment of a consultation whose answer deadline has passed (shown 逾期)."""
    late = load_weifang(slug="weifang-late", departments=False)
    comment = submit(late, "二(三)4", "建议延长集聚区申报期限，方便中小企业准备材料。")
    now = timezone.now().replace(microsecond=0)
    late.opens_at = now - datetime.timedelta(days=90)
    late.closes_at = now - datetime.timedelta(days=60)
    late.save(update_fields=["opens_at", "closes_at"])
    Comment.objects.filter(pk=comment.pk).update(submitted_at=now - datetime.timedelta(days=70))
    return comment


def open_every_filter(page):
    page.eval_on_selector_all(
        "#changelist-filter details", "all => all.forEach(details => { details.open = true; })"
    )


def test_axe_finds_nothing_on_the_queue(page, live_server):
    """The queue with comments in every status, an overdue one and a campaign, every filter
    open: at 1280 px with the filters' counts, with rows selected, and as the card list at
    375 px."""
    queue_with_every_column()
    overdue_comment()
    staff("gxj", "市工信局")
    log_in(page, live_server, "gxj")
    found = []
    page.goto(live_server.url + "/admin/comments/comment/?scope=all&_facets=True")
    page.wait_for_load_state("networkidle")
    assert page.locator("#result_list .overdue").count() == 1
    statuses = set(Comment.objects.values_list("status", flat=True))
    assert statuses == set(Comment.Status.values)
    open_every_filter(page)
    found += axe_findings(page, "queue-1280")

    page.locator("#result_list input.action-select").nth(1).check()
    page.locator("#result_list input.action-select").nth(3).check()
    found += axe_findings(page, "queue-1280-selected")

    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(live_server.url + "/admin/comments/comment/?scope=all")
    page.wait_for_load_state("networkidle")
    open_every_filter(page)
    found += axe_findings(page, "queue-375")
    assert found == [], "\n".join(found)


def test_axe_finds_nothing_on_the_change_form_for_each_standing(page, live_server):
    """The answering department (with a refused save's errors), a cooperating department and
    the issuing bureau each see a different form; none has a violation."""
    consultation = load_weifang()
    # 市工信局 answers; 市财政局 and 市大数据局 cooperate; 市海渔局 issued the draft.
    comment = submit(consultation, "二(三)4", "建议明确中小企业数字化改造的申报条件和补助标准。")
    lead, cooperating = staff("gxj", "市工信局"), staff("czj", "市财政局")
    staff("hyj", "市海渔局")
    comment_change_apply(comment, lead, CommentChange(status="in_progress", note="已联系财政局。"))
    comment_change_apply(comment, cooperating, CommentChange(opinion="补助标准以年度预算为准。"))
    url = f"{live_server.url}/admin/comments/comment/{comment.pk}/change/"
    found = []

    log_in(page, live_server, "gxj")
    page.goto(url)
    found += axe_findings(page, "change-lead")
    page.select_option("#id_status", "answered")
    page.locator("input[name=_save]").click()
    page.wait_for_load_state()
    assert page.locator(".errorlist").count() >= 1
    found += axe_findings(page, "change-lead-errors")

    page.context.clear_cookies()
    log_in(page, live_server, "czj")
    page.goto(url)
    assert page.locator("#id_opinion").count() == 1
    assert page.locator("#id_reply").count() == 0
    found += axe_findings(page, "change-cooperating")

    page.context.clear_cookies()
    log_in(page, live_server, "hyj")
    page.goto(url)
    found += axe_findings(page, "change-coordinator")
    assert found == [], "\n".join(found)


def failed_email(consultation):
    """A comment's mail built into emails; the one to 市工信局 given up on an hour ago."""
    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    comment = submit(consultation, "二(一)1", "建议明确集聚区的评价指标，并按年度公开评估结果。")
    ids = list(Notification.objects.filter(comment=comment).values_list("pk", flat=True))
    emails_build(ids, now=timezone.now())
    notification = Notification.objects.get(comment=comment, department__name="市工信局")
    OutgoingEmail.objects.filter(pk=notification.email_id).update(
        status="failed",
        attempts=30,
        last_error="SMTPRecipientsRefused: {'gxj@weifang.example': (451, b'Try again later')}",
        failed_at=timezone.now() - datetime.timedelta(hours=1),
    )
    Notification.objects.filter(pk=notification.pk).update(status="failed")


def test_axe_finds_nothing_on_the_dashboard_the_index_and_the_failed_emails(page, live_server):
    """The issuing bureau's pages: the login page, its dashboard, on time and overdue, the
    admin index warning of failed email, and the list of failed email."""
    consultation = load_weifang()
    late = overdue_comment().consultation
    for n, label in enumerate(["二(四)2", "二(三)4", "二(三)4"]):
        submit(consultation, label, f"第{n}条：建议明确集聚区的评价指标。", f"1381234{n:04d}")
    failed_email(consultation)
    Comment.objects.filter(clause__label="二(四)2").update(
        status="answered", decision="partly_adopted", reply="部分采纳"
    )
    staff("hyj", "市海渔局")
    found = []
    page.goto(live_server.url + "/admin/login/")
    found += axe_findings(page, "login")
    log_in(page, live_server, "hyj")

    page.goto(live_server.url + f"/staff/consultations/{consultation.slug}/dashboard/")
    assert page.locator("figure.chart svg").count() == 4
    found += axe_findings(page, "dashboard")
    page.goto(live_server.url + f"/staff/consultations/{late.slug}/dashboard/")
    assert page.locator(".totals .overdue").count() == 1
    found += axe_findings(page, "dashboard-overdue")

    page.goto(live_server.url + "/admin/")
    assert page.locator("#email-health").count() == 1
    found += axe_findings(page, "admin-index")

    page.locator("#email-health a").click()
    page.wait_for_load_state()
    assert page.locator("#result_list tbody tr").count() == 1
    found += axe_findings(page, "failed-emails")
    assert found == [], "\n".join(found)
