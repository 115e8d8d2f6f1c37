"""The public pages for people with screen readers and keyboards, in real Chromium (issue 18):
hints and errors found by their ids, the skip links, the rate-limit page, the draft kept in
the browser, and axe-core finding nothing on the pages a citizen goes through."""

import datetime
import re
import time

import pytest
import time_machine
from django.utils import timezone

from consult.comments.models import Comment
from tests.browser.conftest import SCREENSHOTS, axe_findings
from tests.conftest import load_weifang

pytestmark = pytest.mark.django_db(transaction=True)

BODY = "建议对海洋特色产业集聚区的评选标准进行公开，并明确市级集聚区的扶持政策。"


def form_url(live_server, consultation, clause):
    return f"{live_server.url}/consultations/{consultation.slug}/clauses/{clause.pk}/comment/"


def describedby_problems(page) -> list[str]:
    """Every aria-describedby that is empty or names an element missing or without text."""
    return page.evaluate(
        """() => {
          const problems = [];
          for (const element of document.querySelectorAll('[aria-describedby]')) {
            const names = element.getAttribute('aria-describedby').trim().split(/\\s+/);
            if (!names[0]) { problems.push(`${element.id || element.tagName}: empty`); continue; }
            for (const name of names) {
              const target = document.getElementById(name);
              if (!target || !target.textContent.trim()) {
                problems.push(`${element.id || element.tagName}: ${name}`);
              }
            }
          }
          return problems;
        }"""
    )


def test_hints_errors_and_required_fields_reach_a_screen_reader(page, live_server):
    consultation = load_weifang()
    item = consultation.clauses.get(label="二(一)1")
    page.goto(form_url(live_server, consultation, item))
    assert describedby_problems(page) == []
    assert page.locator("#field-body .required-mark").count() == 1
    assert page.get_attribute("#id_body", "aria-required") == "true"

    page.fill("#id_body", "太短了")
    page.fill("#id_email", "not-an-email")
    page.get_by_role("button", name="提交意见").click()
    page.locator("#error-summary").wait_for()
    assert describedby_problems(page) == []
    assert "id_email_error" in page.get_attribute("#id_email", "aria-describedby")
    assert "id_body_helptext" in page.get_attribute("#id_body", "aria-describedby")
    # The red border of an error, not the grey one of every input.
    for field in ("#id_email", "#id_body"):
        colour = page.eval_on_selector(field, "e => getComputedStyle(e).borderTopColor")
        assert colour == "rgb(176, 0, 32)", (field, colour)
    page.screenshot(path=SCREENSHOTS / "citizen-form-errors.png", full_page=True)


def tabs_to(page, name: str, *, enter_on: str | None = None, limit: int = 60) -> int:
    """How many Tab presses reach a link named `name` (pressing Enter on `enter_on`)."""
    for count in range(1, limit + 1):
        page.keyboard.press("Tab")
        text = page.evaluate("document.activeElement.textContent.trim()")
        if enter_on and text == enter_on:
            page.keyboard.press("Enter")
            enter_on = None
            continue
        if text.startswith(name):
            return count
    return limit + 1


def test_the_skip_link_jumps_past_the_table_of_contents(page, live_server):
    consultation = load_weifang()
    page.goto(live_server.url + consultation.get_absolute_url())
    presses = tabs_to(page, "对本条提意见", enter_on="跳过目录，到条文")
    assert presses <= 4, f"{presses} Tabs to the first clause's comment link"


@pytest.fixture
def page_answered_429(browser):
    """A page of its own: the suite's page counts the 429 the browser logs as an error."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    errors = []
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == []


def test_over_the_limit_the_page_says_how_long_and_keeps_the_text(
    page_answered_429, live_server, settings
):
    page = page_answered_429
    settings.COMMENT_RATE_LIMITS_PER_IP = ["1/m"]
    consultation = load_weifang()
    item = consultation.clauses.get(label="二(一)1")
    # Ten seconds into a minute: both submissions fall into one window of the limit.
    start = timezone.now().replace(second=10, microsecond=0) + datetime.timedelta(minutes=1)
    with time_machine.travel(start, tick=True):
        for n, body in enumerate((BODY, BODY + "另外，建议每年公布评选结果。")):
            page.goto(form_url(live_server, consultation, item))
            page.fill("#id_body", body)
            page.check("#id_consent")
            with page.expect_navigation() as navigation:
                page.get_by_role("button", name="提交意见").click()
            if n == 0:
                page.wait_for_url(re.compile(r"/receipt/"))
        response = navigation.value
    assert response.status == 429
    assert 0 < int(response.headers["retry-after"]) <= 60
    notice = page.locator("#rate-limited")
    assert re.search(r"请在 \d+ 秒后再试", notice.inner_text())
    assert "都已保存" not in page.inner_text("main")
    assert page.input_value("#id_body") == BODY + "另外，建议每年公布评选结果。"
    assert page.evaluate("document.activeElement.id") == "rate-limited"
    assert Comment.objects.count() == 1
    page.screenshot(path=SCREENSHOTS / "citizen-rate-limited.png", full_page=True)


def stored_drafts(page, *, until, seconds=5.0) -> int:
    """The number of items in localStorage once `until` holds (the CSP forbids the string
    evaluation that page.wait_for_function uses)."""
    deadline = time.monotonic() + seconds
    while True:
        count = page.evaluate("() => localStorage.length")
        if until(count) or time.monotonic() > deadline:
            assert until(count), count
            return count
        page.wait_for_timeout(50)


def test_the_counter_and_the_draft_kept_until_sent(page, live_server):
    consultation = load_weifang()
    item = consultation.clauses.get(label="二(一)1")
    url = form_url(live_server, consultation, item)
    page.goto(url)
    page.locator("#id_body").press_sequentially("建议公开评选标准🐟")
    assert page.inner_text("#body-count") == "已输入 9 / 5000 字"
    stored_drafts(page, until=lambda n: n > 0)
    page.goto(url)
    assert page.input_value("#id_body") == "建议公开评选标准🐟"
    assert page.is_visible("#draft-note")

    page.fill("#id_body", BODY)
    page.check("#id_consent")
    page.get_by_role("button", name="提交意见").click()
    page.wait_for_url(re.compile(r"/receipt/"))
    stored_drafts(page, until=lambda n: n == 0)
    page.goto(url)
    assert page.input_value("#id_body") == ""


def test_a_draft_on_a_shared_computer_can_be_cleared_and_does_not_outlive_the_day(
    page, live_server
):
    """The next visitor of a library's computer found the last one's unsent comment (a name and
    an ID number in it) in the form: drafts were kept for good, with no way to clear them."""
    consultation = load_weifang()
    item = consultation.clauses.get(label="二(一)1")
    url = form_url(live_server, consultation, item)
    key = f"consult-draft:{consultation.slug}:{item.pk}"
    page.goto(url)
    page.locator("#id_body").press_sequentially("我是张三，身份证号码……")
    stored_drafts(page, until=lambda n: n > 0)
    page.get_by_role("button", name="清除草稿").click()
    assert page.input_value("#id_body") == ""
    assert page.evaluate("() => localStorage.length") == 0
    page.goto(url)
    assert page.input_value("#id_body") == "" and not page.is_visible("#draft-note")

    # Kept 13 hours ago, or by the earlier version (the bare text, no age): not offered.
    thirteen_hours = 13 * 3600 * 1000
    for kept in (
        {"text": "昨天的草稿", "savedAt": int(time.time() * 1000) - thirteen_hours},
        "不知何时的草稿",
    ):
        page.evaluate(
            "([key, kept]) => localStorage.setItem(key, typeof kept === 'string' ? kept"
            " : JSON.stringify(kept))",
            [key, kept],
        )
        page.goto(url)
        assert page.input_value("#id_body") == ""
        assert page.evaluate("() => localStorage.length") == 0
    # One of an hour ago is.
    fresh = {"text": "一小时前的草稿", "savedAt": int(time.time() * 1000) - 3600 * 1000}
    page.evaluate("([key, kept]) => localStorage.setItem(key, JSON.stringify(kept))", [key, fresh])
    page.goto(url)
    assert page.input_value("#id_body") == "一小时前的草稿"


def test_the_counter_is_not_read_out_on_every_keystroke(page, live_server):
    consultation = load_weifang()
    page.goto(form_url(live_server, consultation, consultation.clauses.get(label="二(一)1")))
    assert page.get_attribute("#body-count", "aria-live") is None
    page.locator("#id_body").press_sequentially("建议公开")
    assert page.inner_text("#body-count") == "已输入 4 / 5000 字"
    assert page.text_content("#body-count-alert") == ""  # nothing to announce
    page.fill("#id_body", "字" * 4999)
    assert page.text_content("#body-count-alert") == ""
    page.locator("#id_body").press("End")
    page.locator("#id_body").press_sequentially("。")
    assert page.text_content("#body-count-alert") == "意见内容已达到 5000 字的上限。"


# axe-core on every page a citizen goes through ------------------------------------------


def test_axe_finds_nothing_on_the_citizens_pages(page, live_server):
    consultation = load_weifang()
    item = consultation.clauses.get(label="二(一)1")
    found = []
    page.goto(live_server.url + "/")
    found += axe_findings(page, "list")
    page.goto(live_server.url + consultation.get_absolute_url())
    found += axe_findings(page, "consultation")
    page.goto(form_url(live_server, consultation, item))
    page.fill("#id_body", "太短了")
    page.fill("#id_phone", "12345")
    page.get_by_role("button", name="提交意见").click()
    page.locator("#error-summary").wait_for()
    found += axe_findings(page, "form-errors")
    page.fill("#id_body", BODY)
    page.fill("#id_phone", "13812345678")
    page.check("#id_consent")
    page.get_by_role("button", name="提交意见").click()
    page.wait_for_url(re.compile(r"/receipt/"))
    found += axe_findings(page, "receipt")
    number = page.inner_text("#tracking-number").strip()
    page.get_by_role("link", name="本条意见的办理情况").click()
    page.wait_for_selector(".timeline")
    found += axe_findings(page, "status")
    page.goto(live_server.url + "/comments/status/")
    found += axe_findings(page, "lookup")
    page.fill("#id_tracking_number", number)
    page.fill("#id_proof", "0000")
    page.get_by_role("button", name="查询").click()
    page.locator("#error-summary").wait_for()
    found += axe_findings(page, "lookup-errors")
    assert found == []
