"""Published comments in real Chromium (issue 18 item 18): a citizen agrees to publication on
the form, the issuing bureau publishes the comment in the admin, and the clause's public list
shows it at desktop and phone widths, with no name, phone or email, and nothing for axe-core."""

import re

import pytest
from django.contrib.auth.models import User

from consult.comments.models import Comment
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from tests.browser.conftest import SCREENSHOTS, axe_findings
from tests.browser.test_citizen_accessibility import describedby_problems
from tests.conftest import load_weifang

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-password"
NAME, PHONE, EMAIL = "赵丽华", "13712345678", "zlh@example.cn"
BODY = f"建议公开集聚区的评选标准和结果。我是{NAME}，欢迎来电 {PHONE} 或写信 {EMAIL} 交流。"


def test_a_consented_comment_is_published_by_the_bureau_and_shown_without_personal_data(
    page, browser, live_server
):
    consultation = load_weifang()
    item = consultation.clauses.get(label="二(一)1")
    bureau = User.objects.create_user("hyj", password=PASSWORD)
    staff_join(bureau, Department.objects.get(name="市海渔局"))  # the issuing bureau

    # The citizen: the consent to publish is offered apart, unticked, and described.
    page.goto(f"{live_server.url}/consultations/{consultation.slug}/clauses/{item.pk}/comment/")
    assert not page.is_checked("#id_publish_consent")
    assert describedby_problems(page) == []
    hint = page.get_attribute("#id_publish_consent", "aria-describedby")
    assert "一律不公开" in page.inner_text(f"#{hint}")
    page.fill("#id_body", BODY)
    page.fill("#id_name", NAME)
    page.fill("#id_phone", PHONE)
    page.fill("#id_email", EMAIL)
    page.check("#id_consent")
    page.get_by_label("同意公开本条意见（不公开姓名、联系方式等个人信息）").check()
    page.get_by_role("button", name="提交意见").click()
    page.wait_for_url(re.compile(r"/receipt/"))
    comment = Comment.objects.get()
    assert comment.publish_consent and comment.publication == "awaiting"

    # The bureau: the review list shows the text as it would be published; 公开.
    staff_page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    admin = staff_page.new_page()
    admin.goto(live_server.url + "/admin/login/")
    admin.fill("#id_username", "hyj")
    admin.fill("#id_password", PASSWORD)
    admin.locator("input[type=submit]").click()
    admin.wait_for_load_state()
    admin.goto(live_server.url + "/admin/comments/commentforpublication/")
    row = admin.inner_text("#result_list")
    assert f"#{comment.pk}" in row and "137****5678" in row
    assert NAME not in row and PHONE not in row and EMAIL not in row
    admin.screenshot(path=SCREENSHOTS / "public-comments-review.png", full_page=True)
    admin.locator("#result_list input.action-select").first.check()
    admin.select_option("select[name=action]", "publish")
    admin.locator("button[name=index]").click()
    admin.wait_for_load_state()
    assert "已公开 1 条意见。" in admin.inner_text("ul.messagelist")
    staff_page.close()
    comment.refresh_from_db()
    assert comment.publication == "published"

    # Anyone: the clause links its list with the count; the list shows the comment.
    visitor = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    public = visitor.new_page()
    public.goto(live_server.url + consultation.get_absolute_url())
    public.locator(f"#clause-{item.pk} a.published-link").click()
    public.wait_for_url(re.compile(r"/published-comments/"))
    found = []
    for width, height in ((1280, 900), (375, 740)):
        public.set_viewport_size({"width": width, "height": height})
        public.reload()
        entry = public.locator(f"#comment-{comment.pk}")
        assert entry.is_visible()
        assert "建议公开集聚区的评选标准和结果" in entry.inner_text()
        html = public.content()
        for personal in (NAME, PHONE, EMAIL, comment.tracking_number):
            assert personal not in html
        overflow = public.evaluate(
            "document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )
        assert not overflow, f"the page scrolls sideways at {width} px"
        public.screenshot(path=SCREENSHOTS / f"public-comments-{width}.png", full_page=True)
        found += axe_findings(public, f"public-comments-{width}")
    visitor.close()
    assert found == []
