"""A citizen in real headless Chromium: read the Weifang draft, comment on 二(一)1, get the
receipt and look the status up; an organisation's API call against the same running server.

Screenshots land in the suite's temporary folder (tests/browser/conftest.py), never in var/.
"""

import re

import pytest

from consult.comments.models import Comment
from tests.browser.conftest import SCREENSHOTS
from tests.conftest import load_weifang

pytestmark = pytest.mark.django_db(transaction=True)


def test_comment_on_a_clause_get_a_receipt_and_look_it_up(page, live_server):
    consultation = load_weifang()
    item = consultation.clauses.get(label="二(一)1")

    page.goto(live_server.url + "/")
    page.get_by_role("link", name=consultation.title).first.click()
    page.wait_for_selector(f"#clause-{item.pk}")
    assert "截止时间" in page.content()
    page.screenshot(path=SCREENSHOTS / "consultation.png", full_page=False)

    page.locator(f"#clause-{item.pk} > .clause-actions a").click()
    page.wait_for_url(re.compile(rf"/clauses/{item.pk}/comment/$"))
    assert item.heading in page.inner_text("main")

    # Server-side errors: a body that is too short and a phone that is not one.
    page.fill("#id_body", "太短了")
    page.fill("#id_phone", "12345")
    page.check("#id_consent")
    page.get_by_role("button", name="提交意见").click()
    summary = page.locator("#error-summary")
    summary.wait_for()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert "至少 10 个字" in summary.inner_text()
    assert page.get_attribute("#id_body", "aria-describedby")
    page.screenshot(path=SCREENSHOTS / "form-errors.png", full_page=True)
    assert Comment.objects.count() == 0

    body = "建议对海洋特色产业集聚区的评选标准进行公开，\n并明确市级集聚区的扶持政策。🐟"
    page.fill("#id_body", body)
    page.fill("#id_name", "王五")
    page.fill("#id_phone", "13812345678")
    page.fill("#id_email", "")
    if not page.is_checked("#id_consent"):
        page.check("#id_consent")
    page.get_by_role("button", name="提交意见").click()
    page.wait_for_url(re.compile(r"/receipt/"))
    number = page.inner_text("#tracking-number").strip()
    comment = Comment.objects.get()
    assert number == comment.tracking_number
    assert comment.body == body
    assert "市发改委" in page.inner_text("main")
    page.screenshot(path=SCREENSHOTS / "receipt.png", full_page=True)

    page.goto(live_server.url + "/comments/status/")
    page.fill("#id_tracking_number", number)
    page.fill("#id_proof", "5678")
    page.get_by_role("button", name="查询").click()
    page.wait_for_load_state()
    text = page.inner_text("main")
    assert number in text and "待处理" in text


def test_phone_layout_has_no_horizontal_scroll(browser, live_server):
    consultation = load_weifang()
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 375, "height": 740}, is_mobile=True
    )
    page = context.new_page()
    page.goto(live_server.url + consultation.get_absolute_url())
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    page.screenshot(path=SCREENSHOTS / "consultation-phone.png")
    context.close()
    assert overflow <= 0


def test_the_api_on_the_running_server(page, live_server):
    consultation = load_weifang()
    item = consultation.clauses.get(label="二(一)1")
    api = page.request
    detail = api.get(f"{live_server.url}/api/consultations/{consultation.slug}/")
    assert detail.ok and detail.json()["is_open"] is True
    created = api.post(
        f"{live_server.url}/api/consultations/{consultation.slug}/comments/",
        data={
            "clause": item.pk,
            "body": "建议在集聚区评价中加入生态保护指标。",
            "kind": "organisation",
            "organisation": "潍坊市某海洋产业协会",
            "email": "office@example.org",
            "consent": True,
        },
    )
    assert created.status == 201, created.text()
    number = created.json()["tracking_number"]
    status = api.get(
        f"{live_server.url}/api/comments/{number}/status", params={"email": "office@example.org"}
    )
    assert status.status == 200 and status.json()["status"] == "pending"
    refused = api.post(
        f"{live_server.url}/api/consultations/{consultation.slug}/comments/",
        data={"clause": item.pk, "body": "短", "consent": True},
    )
    assert refused.status == 400 and "body" in refused.json()
