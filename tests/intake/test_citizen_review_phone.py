"""At 360 px, a small phone's width, in real Chromium: the public pages never scroll sideways,
as the accessibility statement promises. The adoption report's wide table scrolls inside its
own labelled region; a long URL or unbroken string typed by a citizen or a member of staff
wraps on the receipt and status pages."""

import pytest

from consult.comments.models import Attachment, Comment
from consult.comments.services import comment_submit
from consult.comments.status_links import status_token
from tests.browser.conftest import SCREENSHOTS, browser  # noqa: F401 (the fixture)
from tests.conftest import load_weifang
from tests.intake.test_citizen_review_pages import published_report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 360
URL = "https://www.weifang.gov.cn/xxgk/" + "zcwj/2024/ghjh/" * 8 + "haiyang_chanye_jijuqu.html"
UNBROKEN = "建议" + "A" * 120


@pytest.fixture(params=["zh-hans", "en"])
def phone(request, browser):  # noqa: F811 (the fixture imported above)
    context = browser.new_context(
        locale="en-GB" if request.param == "en" else "zh-CN",
        extra_http_headers={"Accept-Language": request.param},
        viewport={"width": WIDTH, "height": 740},
        is_mobile=True,
    )
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.language = request.param
    yield page
    context.close()
    assert errors == []


def sideways(page) -> int:
    """How far the page scrolls sideways (0: it does not)."""
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def comment_with(consultation, body, **extra):
    return comment_submit(
        consultation=consultation,
        clause=consultation.clauses.get(label="二(四)2"),
        body=body,
        channel="web",
        consent=True,
        phone="13812345678",
        **extra,
    ).comment


def test_the_report_table_scrolls_in_its_own_region_not_the_page(phone, live_server):
    consultation = load_weifang()
    published_report(
        consultation, gist="部分采纳：将在修改稿中明确资金使用情况的公开方式。详见 " + URL
    )
    phone.goto(f"{live_server.url}/consultations/{consultation.slug}/report/")
    phone.screenshot(path=SCREENSHOTS / f"report-{WIDTH}-{phone.language}.png", full_page=True)
    assert sideways(phone) <= 0

    region = phone.locator("table.report-lines").locator("xpath=..")
    assert region.get_attribute("role") == "region"
    assert region.get_attribute("tabindex") == "0"  # a keyboard can scroll it
    label = phone.locator(f"#{region.get_attribute('aria-labelledby')}")
    assert label.inner_text() == ("Clause by clause" if phone.language == "en" else "逐条采纳情况")
    assert region.evaluate("e => getComputedStyle(e).overflowX") == "auto"
    # Wider than the phone, the table keeps its columns: the region scrolls, not the page.
    assert region.evaluate("e => e.scrollWidth > e.clientWidth")


def test_a_long_url_wraps_on_the_receipt_and_status_pages(phone, live_server):
    consultation = load_weifang()
    comment = comment_with(
        consultation,
        f"建议公开评选结果，参见 {URL}\n{UNBROKEN}",
        organisation="潍坊市" + "海洋产业协会" * 12,
        submitter_kind="organisation",
    )
    Attachment.objects.create(
        comment=comment,
        file="attachments/proposal.pdf",
        original_name="proposal_" + "haiyang_chanye_jijuqu_" * 6 + "final.pdf",
        content_type="application/pdf",
        size=10,
    )
    Comment.objects.filter(pk=comment.pk).update(
        status="answered",
        decision="partly_adopted",
        decision_reason=f"理由见 {URL}",
        reply=f"部分采纳，详见 {URL} {UNBROKEN}",
    )
    token = status_token(comment)
    for name, path in (
        ("receipt", f"/comments/{token}/receipt/"),
        ("status", f"/comments/{token}/"),
    ):
        phone.goto(live_server.url + path)
        assert URL in phone.inner_text("main")
        phone.screenshot(path=SCREENSHOTS / f"{name}-{WIDTH}-{phone.language}.png", full_page=True)
        assert sideways(phone) <= 0, name
