"""Department staff in real headless Chromium: log in, work a comment from 待处理 to 已答复 in
the admin, and the citizen's status lookup shows the reply; the dashboard draws its charts."""

import pytest

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.comments.workflow import CommentChange, comment_change_apply
from tests.browser.conftest import SCREENSHOTS
from tests.browser.staff import log_in, queue_with_every_column, staff
from tests.conftest import load_weifang

pytestmark = pytest.mark.django_db(transaction=True)


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


def test_a_refused_bulk_answer_keeps_the_reply_and_answers_the_rest(page, live_server):
    """Bulk 'answer with one reply' on comments with cooperating departments: the one whose
    departments have replied is answered; the others are named with the reason, stay selected
    with the reply as typed, and a reason to go ahead without the opinions answers them."""
    consultation = load_weifang()
    comments = [
        comment_submit(
            consultation=consultation,
            clause=consultation.clauses.get(label="二(三)4"),  # 市工信局; 市财政局, 市大数据局
            body=f"第{n}条：建议明确中小企业数字化改造的申报条件。",
            channel="web",
            consent=True,
            phone=f"1381234{n:04d}",
        ).comment
        for n in range(3)
    ]
    for username, department in (("czj", "市财政局"), ("dsjj", "市大数据局")):
        comment_change_apply(
            comments[0], staff(username, department), CommentChange(opinion="同意。")
        )
    staff("gxj", "市工信局")
    log_in(page, live_server, "gxj")
    page.goto(live_server.url + "/admin/comments/comment/")
    page.locator("#action-toggle").check()
    page.select_option("select[name=action]", "bulk_answer")
    page.select_option("select[name=decision]", "explained")
    reply = "感谢关注，申报条件将在实施细则中明确。"
    page.fill("input[name=text]", reply)
    page.locator("button[name=index]").click()
    page.wait_for_load_state()

    messages = page.inner_text("ul.messagelist")
    assert "已答复 1 条意见。" in messages
    for refused in comments[1:]:
        assert (
            f"{refused.tracking_number}：以下配合单位尚未回复意见：市财政局、市大数据局" in messages
        )
    assert page.input_value("input[name=text]") == reply
    assert page.input_value("select[name=action]") == "bulk_answer"
    checked = page.eval_on_selector_all(
        "#result_list input.action-select:checked", "boxes => boxes.map(box => box.value)"
    )
    assert sorted(checked) == sorted(str(c.pk) for c in comments[1:])
    page.screenshot(path=SCREENSHOTS / "staff-bulk-refused.png", full_page=True)

    page.fill("input[name=waive_reason]", "配合单位逾期未回复，先行答复。")
    page.locator("button[name=index]").click()
    page.wait_for_load_state()
    assert "已答复 2 条意见。" in page.inner_text("ul.messagelist")
    assert set(Comment.objects.values_list("status", flat=True)) == {"answered"}


def layout_problems(page):
    """Cells taller than two lines, a table wider than its box, an action bar over two lines."""
    return page.evaluate(
        """() => {
        const problems = [];
        const px = (value) => parseFloat(value) || 0;
        const cells = document.querySelectorAll("#result_list tbody td, #result_list tbody th");
        cells.forEach((cell) => {
            const style = getComputedStyle(cell);
            const line = px(style.lineHeight) || px(style.fontSize) * 1.4;
            const inner = cell.getBoundingClientRect().height - px(style.paddingTop)
                - px(style.paddingBottom);
            if (inner > 2 * line + 2) {
                problems.push(`${cell.className}: ${Math.round(inner / line)} lines`);
            }
        });
        const results = document.querySelector("#changelist .results");
        if (results.scrollWidth > results.clientWidth + 1) {
            problems.push(`table ${results.scrollWidth}px in ${results.clientWidth}px`);
        }
        const bar = document.querySelector("#changelist .actions");
        const tops = new Set(Array.from(bar.children)
            .filter((child) => child.getClientRects().length)
            .map((child) => Math.round(child.getBoundingClientRect().top / 8)));
        if (tops.size > 2) {
            problems.push(`action bar ${tops.size} lines`);
        }
        return problems;
    }"""
    )


def test_the_queue_is_readable_at_1280_and_a_card_list_at_375(page, live_server):
    """At 1280 px every column reads in one or two lines beside the filters, with the
    navigation sidebar collapsed; at 375 px the queue is a list of cards without sideways
    scrolling. Screenshots of both are kept under the suite's temporary folder."""
    queue_with_every_column()
    staff("hyj", "市海渔局")
    log_in(page, live_server, "hyj")
    page.goto(live_server.url + "/admin/comments/comment/?scope=all")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=SCREENSHOTS / "queue-1280.png", full_page=True)
    assert "shifted" not in page.get_attribute("#main", "class")
    assert layout_problems(page) == []
    clause = page.locator("#result_list td.field-clause_display span").first
    assert clause.get_attribute("title")  # the heading as a tooltip

    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=SCREENSHOTS / "queue-375.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    rows = page.eval_on_selector_all(
        "#result_list tbody tr",
        "rows => rows.map(row => [getComputedStyle(row).display, row.offsetWidth])",
    )
    assert rows and all(display != "table-row" and width <= 375 for display, width in rows)
    labels = page.eval_on_selector_all(
        "#result_list tbody tr:first-child td[data-label]", "cells => cells.length"
    )
    assert labels >= 6  # each value of a card says what it is


def test_letter_entry_offers_only_the_chosen_consultations_clauses(page, live_server):
    first = load_weifang()
    second = load_weifang(slug="weifang-second", departments=False)
    staff("hyj", "市海渔局")  # issued both
    log_in(page, live_server, "hyj")
    page.goto(live_server.url + "/admin/comments/comment/add/")
    page.select_option("#id_consultation", str(second.pk))
    offered = page.eval_on_selector_all(
        "#id_clause option[data-consultation]",
        "options => options.filter(o => !o.hidden && !o.disabled).map(o => o.dataset.consultation)",
    )
    assert offered and set(offered) == {str(second.pk)}
    assert len(offered) == second.clauses.count()
    page.select_option("#id_consultation", str(first.pk))
    labels = page.eval_on_selector_all(
        "#id_clause option[data-consultation]",
        "options => options.filter(o => !o.hidden).map(o => o.textContent)",
    )
    assert labels.count("一 总体要求") == 1
