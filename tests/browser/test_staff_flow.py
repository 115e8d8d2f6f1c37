"""Department staff in real headless Chromium: log in, work a comment from 待处理 to 已答复 in
the admin, and the citizen's status lookup shows the reply; the dashboard draws its charts."""

import pytest
from django.contrib.auth.models import User

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from tests.browser.conftest import SCREENSHOTS
from tests.conftest import load_weifang

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page, live_server, username):
    page.goto(live_server.url + "/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "a-long-test-password")
    page.locator("input[type=submit]").click()
    page.wait_for_load_state()


def staff(username, department):
    user = User.objects.create_user(username, password="a-long-test-password")
    staff_join(user, Department.objects.get(name=department))
    return user


def test_a_department_answers_a_comment_and_the_citizen_sees_the_reply(page, live_server):
    consultation = load_weifang()
    comment = comment_submit(
        consultation=consultation,
        clause=consultation.clauses.get(label="二(四)2"),  # 市生态环境局 answers alone
        body="建议公开海洋生态修复项目的资金使用情况。",
        channel="web",
        consent=True,
        phone="13812345678",
    ).comment
    staff("sthj", "市生态环境局")

    log_in(page, live_server, "sthj")
    page.goto(live_server.url + "/admin/comments/comment/")
    assert comment.tracking_number in page.inner_text("#result_list")
    page.get_by_role("link", name=comment.tracking_number).click()
    page.wait_for_load_state()
    page.select_option("#id_status", "answered")
    page.select_option("#id_decision", "adopted")
    page.fill("#id_reply", "感谢建议，修复项目资金使用情况将按季度公开。")
    page.screenshot(path=SCREENSHOTS / "staff-answer.png", full_page=True)
    page.locator("input[name=_save]").click()
    page.wait_for_load_state()
    assert "成功" in page.inner_text("body")
    comment.refresh_from_db()
    assert comment.status == "answered"

    page.goto(live_server.url + "/comments/status/")
    page.fill("#id_tracking_number", comment.tracking_number)
    page.fill("#id_proof", "5678")
    page.get_by_role("button", name="查询").click()
    page.wait_for_load_state()
    text = page.inner_text("main")
    assert "已答复" in text and "修复项目资金使用情况将按季度公开" in text


def test_the_dashboard_draws_its_charts(page, live_server):
    consultation = load_weifang()
    for n, label in enumerate(["二(四)2", "二(三)4", "二(三)4", "二(一)1"]):
        comment_submit(
            consultation=consultation,
            clause=consultation.clauses.get(label=label),
            body=f"第{n}条：建议明确集聚区的评价指标。",
            channel="web",
            consent=True,
            phone=f"1381234{n:04d}",
        )
    Comment.objects.filter(clause__label="二(一)1").update(
        status="answered", decision="partly_adopted", reply="部分采纳"
    )
    staff("hyj", "市海渔局")
    log_in(page, live_server, "hyj")
    page.goto(live_server.url + f"/staff/consultations/{consultation.slug}/dashboard/")
    charts = page.locator("figure.chart svg")
    assert charts.count() == 4
    widths = page.eval_on_selector_all(
        "rect.bar", "bars => bars.map(bar => bar.getBoundingClientRect().width)"
    )
    assert len(widths) >= 8 and max(widths) > 100
    page.screenshot(path=SCREENSHOTS / "dashboard.png", full_page=True)
