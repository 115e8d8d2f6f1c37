"""Languages in real Chromium: the comment form asks before switching drops what was filled in
besides the text (which comes back from the browser's draft); the countdown speaks the page's
language."""

import datetime
import re

import pytest

from tests.conftest import load_weifang

pytestmark = pytest.mark.django_db(transaction=True)

BODY = "建议公开海洋特色产业集聚区的评选标准和结果。"


def test_switching_language_on_a_filled_in_form_asks_first(page, live_server):
    consultation = load_weifang()
    item = consultation.clauses.get(label="二(一)1")
    url = f"{live_server.url}/consultations/{consultation.slug}/clauses/{item.pk}/comment/"
    page.goto(url)
    page.fill("#id_body", BODY)
    page.fill("#id_name", "王五")
    page.select_option("#language-select", "en")

    asked = []

    def refuse(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", refuse)
    page.get_by_role("button", name="切换").click()
    page.wait_for_timeout(300)
    assert asked and "重新填写" in asked[0]
    assert page.input_value("#id_name") == "王五"
    assert page.locator("html").get_attribute("lang") == "zh-hans"

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="切换").click()
    page.wait_for_url(re.compile(rf"/clauses/{item.pk}/comment/$"))
    page.wait_for_selector("html[lang=en]")
    assert page.input_value("#id_body") == BODY  # the browser's draft
    assert page.input_value("#id_name") == ""


def test_switching_language_on_an_untouched_form_does_not_ask(page, live_server):
    consultation = load_weifang()
    page.goto(f"{live_server.url}/consultations/{consultation.slug}/comment/")
    page.fill("#id_body", BODY)  # the text alone is kept as a draft
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.select_option("#language-select", "en")
    page.get_by_role("button", name="切换").click()
    page.wait_for_selector("html[lang=en]")
    assert asked == []
    assert page.input_value("#id_body") == BODY


def test_the_countdown_speaks_the_pages_language(browser, live_server):
    consultation = load_weifang()
    context = browser.new_context(locale="en-GB", extra_http_headers={"Accept-Language": "en"})
    page = context.new_page()
    page.goto(live_server.url + consultation.get_absolute_url())
    countdown = page.locator(".countdown")
    countdown.wait_for()
    text = countdown.inner_text()
    context.close()
    assert re.fullmatch(r"\(\d+d \d+h \d+min left\)", text), text


def test_the_countdown_closes_after_the_close_s_whole_last_second(browser, live_server):
    """The page said 已截止 during 23:59:59.x, while the server still takes comments then."""
    consultation = load_weifang()
    closes = consultation.closes_at.replace(microsecond=0)
    type(consultation).objects.filter(pk=consultation.pk).update(closes_at=closes)
    shown = {}
    for offset in (0.5, 1.0):
        context = browser.new_context(locale="zh-CN")
        page = context.new_page()
        page.clock.install(time=closes + datetime.timedelta(seconds=offset))
        page.goto(live_server.url + consultation.get_absolute_url())
        countdown = page.locator(".countdown")
        countdown.wait_for()
        shown[offset] = countdown.inner_text()
        context.close()
    assert shown[0.5] == "（还剩 0 天 0 小时 0 分钟）", shown
    assert shown[1.0] == "已截止", shown
