"""The English pages in real Chromium: axe-core finds nothing on a consultation whose imported
Chinese is marked lang="zh-Hans", on the 404 page, or on the form that names the file it did
not keep; every aria-describedby names text on the page."""

import re

import pytest

from tests.browser.conftest import axe_findings
from tests.browser.test_citizen_accessibility import describedby_problems
from tests.conftest import load_weifang

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def english(browser):
    context = browser.new_context(
        locale="en-GB",
        extra_http_headers={"Accept-Language": "en"},
        viewport={"width": 1280, "height": 900},
    )
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == []


def test_english_pages_with_chinese_content_pass_axe(english, live_server, tmp_path):
    consultation = load_weifang()
    item = consultation.clauses.get(label="二(一)1")
    findings = []

    english.goto(live_server.url + consultation.get_absolute_url())
    assert english.locator("h1").get_attribute("lang") == "zh-Hans"
    findings += axe_findings(english, "english-consultation")

    missing = english.goto(live_server.url + "/consultations/no-such-consultation/")
    assert missing.status == 404
    assert english.locator("h1").inner_text() == "Page not found"
    findings += axe_findings(english, "english-404")

    english.goto(f"{live_server.url}/consultations/{consultation.slug}/clauses/{item.pk}/comment/")
    upload = tmp_path / "proposal.pdf"
    upload.write_bytes(b"%PDF-1.7\n1 0 obj\n")
    english.fill("#id_body", "Too short")
    english.set_input_files("#id_attachment", str(upload))
    english.check("#id_consent")
    english.get_by_role("button", name="Send comment").click()
    english.locator("#error-summary").wait_for()
    assert re.search("proposal.pdf, was not saved", english.inner_text("#error-summary"))
    assert "id_attachment_unsaved" in english.get_attribute("#id_attachment", "aria-describedby")
    assert describedby_problems(english) == []
    findings += axe_findings(english, "english-form-file-not-kept")
    assert findings == []
