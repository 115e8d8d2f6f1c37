"""What a citizen reads on the public pages (issue 18): hints and errors a screen reader finds,
a refusal that says how long to wait and keeps the text, the wording, the status timeline,
the site's own pages and the searchable list."""

import datetime
import re
from html.parser import HTMLParser

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.comments.status_links import status_token
from consult.consultations.models import Consultation
from tests.intake.test_form import BODY, form_url, post

pytestmark = pytest.mark.django_db


class Ids(HTMLParser):
    """Every id in a page, and every aria-describedby with the element carrying it."""

    def __init__(self):
        super().__init__()
        self.ids, self.described = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if "aria-describedby" in attrs:
            self.described.append((attrs.get("id") or tag, attrs["aria-describedby"]))


def parsed(response):
    parser = Ids()
    parser.feed(response.content.decode())
    return parser


@pytest.fixture
def moment(weifang_open):
    """Ten seconds into a minute of the comment period: a rate window has 50 seconds left."""
    at = weifang_open.opens_at.replace(second=0, microsecond=0) + datetime.timedelta(
        hours=1, seconds=10
    )
    with time_machine.travel(at, tick=False):
        yield at


# 10. Hints and errors ---------------------------------------------------------------------


def test_every_aria_describedby_names_an_element_of_the_page(client, weifang_open, item):
    response = post(client, weifang_open, item, body="太短了", phone="12345", consent=None)
    assert response.status_code == 400
    page = parsed(response)
    described = dict(page.described)
    assert "id_body_error" in described["id_body"] and "id_body_helptext" in described["id_body"]
    assert "id_phone_error" in described["id_phone"]
    assert "id_consent_error" in described["id_consent"]
    for element, names in page.described:
        assert names.split(), f"{element} has an empty aria-describedby"
        for name in names.split():
            assert name in page.ids, f"{element} is described by {name}, which is not there"


def test_the_fields_a_citizen_must_fill_in_are_marked(client, weifang_open, item):
    page = client.get(form_url(weifang_open, item)).content.decode()
    body = page[page.index('id="field-body"') : page.index('id="field-attachment"')]
    assert 'class="required-mark"' in body and 'aria-required="true"' in body
    consent = page[page.index('id="field-consent"') :]
    assert 'class="required-mark"' in consent[: consent.index("</div>")]
    phone = page[page.index('id="field-phone"') : page.index('id="field-email"')]
    assert "required-mark" not in phone


# 11. The rate limit ---------------------------------------------------------------------


def test_refused_forms_do_not_use_up_the_limit(client, weifang_open, item, settings, moment):
    settings.COMMENT_RATE_LIMITS_PER_IP = ["5/m"]
    for _ in range(5):
        assert post(client, weifang_open, item, body="太短了").status_code == 400
    assert post(client, weifang_open, item).status_code == 302
    assert Comment.objects.count() == 1


def test_over_the_limit_the_form_comes_back_with_the_text_and_the_wait(
    client, weifang_open, item, settings, moment
):
    settings.COMMENT_RATE_LIMITS_PER_IP = ["1/m"]
    assert post(client, weifang_open, item, phone="", email="").status_code == 302
    typed = "建议把第二批集聚区的评选时间提前到明年三月。"
    response = post(client, weifang_open, item, body=typed, phone="", email="")
    assert response.status_code == 429
    assert response["Retry-After"] == "50"
    page = response.content.decode()
    assert typed in page and 'id="comment-form"' in page
    assert "50 秒" in page
    assert "都已保存" not in page
    assert Comment.objects.count() == 1


def test_the_status_lookup_over_its_limit_keeps_the_number_and_says_the_wait(
    client, db, settings, moment
):
    settings.STATUS_LOOKUP_RATE_LIMITS = ["1/m"]
    client.post("/comments/status/", {"tracking_number": "ABCD2345", "proof": "0000"})
    response = client.post("/comments/status/", {"tracking_number": "ABCD2346", "proof": "0000"})
    assert response.status_code == 429 and response["Retry-After"] == "50"
    page = response.content.decode()
    assert 'value="ABCD2346"' in page and "50 秒" in page


def test_the_api_429_says_how_long_to_wait(weifang_open, settings, moment):
    settings.COMMENT_RATE_LIMITS_PER_IP = ["1/m"]
    url = f"/api/consultations/{weifang_open.slug}/comments/"
    data = {"clause": None, "body": BODY, "consent": True}
    api = APIClient()
    assert api.post(url, data, format="json").status_code == 201
    refused = api.post(url, {**data, "body": BODY + "再一条"}, format="json")
    assert refused.status_code == 429
    assert refused.json()["retry_after"] == 50 and refused["Retry-After"] == "50"


# 12. Wording ----------------------------------------------------------------------------


def organisation_comment(consultation, clause):
    return comment_submit(
        consultation=consultation,
        clause=clause,
        body="建议在集聚区评价中加入生态保护指标。",
        channel="web",
        consent=True,
        submitter_kind="organisation",
        organisation="潍坊市某海洋产业协会",
        email="office@example.org",
    ).comment


def test_the_receipt_names_the_organisation_and_its_kind(client, weifang_open, item):
    comment = organisation_comment(weifang_open, item)
    page = client.get(
        reverse("intake:comment_receipt", kwargs={"token": status_token(comment)})
    ).content.decode()
    assert "身份" in page and "社会组织" in page
    assert "单位名称" in page and "潍坊市某海洋产业协会" in page


def test_found_by_number_and_proof_the_page_masks_the_organisation_and_file_names(
    client, weifang_open, item
):
    """The proof (the last four digits) is what the masked number shows every member of staff
    of the comment's departments, including those the admin does not show the organisation or
    the attachments: found that way, the page names neither."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    comment = comment_submit(
        consultation=weifang_open,
        clause=item,
        body="建议在集聚区评价中加入生态保护指标。",
        channel="web",
        consent=True,
        organisation="潍坊某海洋科技有限公司",
        phone="13812345678",
        attachment=SimpleUploadedFile("张三丰的来信.pdf", b"%PDF-1.4\n%%EOF\n"),
        attachment_type="pdf",
    ).comment
    found = client.post(
        "/comments/status/", {"tracking_number": comment.tracking_number, "proof": "5678"}
    ).content.decode()
    assert comment.tracking_number in found
    assert "潍坊某海洋科技有限公司" not in found and "张三丰" not in found
    assert "潍*********司" in found and "1 个文件" in found
    signed = client.get(
        reverse("intake:comment_status_signed", kwargs={"token": status_token(comment)})
    ).content.decode()
    assert "潍坊某海洋科技有限公司" in signed and "张三丰的来信.pdf" in signed


def test_found_by_number_and_proof_the_texts_are_masked_as_a_cooperating_department_reads_them(
    client, weifang_open, item
):
    """The body, the reason and the reply were shown whole: whoever knew the number and the
    four digits the admin's masked phone shows could read the phone, ID number and email the
    citizen wrote, and the name a reply addressed. The signed link still shows them whole."""
    from consult.comments.workflow import CommentChange, comment_change_apply
    from tests.support.people import member

    personal = ("张三丰", "13812345678", "370702199001011234", "zsf@example.cn")
    comment = comment_submit(
        consultation=weifang_open,
        clause=weifang_open.clauses.get(label="二(一)1"),  # 市发改委 answers
        body="建议公开评选结果。张三丰，13812345678，身份证370702199001011234，zsf@example.cn",
        channel="web",
        consent=True,
        submitter_name="张三丰",
        phone="13812345678",
    ).comment
    comment_change_apply(
        comment,
        member("fgw", "市发改委"),
        CommentChange(
            status="answered",
            decision="adopted",
            decision_reason="经电话联系张三丰（13812345678）核实。",
            reply="张三丰您好：已采纳，回电请拨13812345678。",
            waive_reason="配合单位已电话告知无补充意见。",
        ),
    )
    proof = {"tracking_number": comment.tracking_number, "proof": "5678"}
    found = client.post("/comments/status/", proof).content.decode()
    assert "建议公开评选结果。" in found and "138****5678" in found and "已采纳" in found
    assert [value for value in personal if value in found] == []
    by_api = APIClient().post("/api/comments/status/", proof, format="json").json()
    assert by_api["reply"].startswith("＊＊您好") and "138****5678" in by_api["decision_reason"]
    assert [value for value in personal if value in str(by_api)] == []
    signed = client.get(
        reverse("intake:comment_status_signed", kwargs={"token": status_token(comment)})
    ).content.decode()
    assert [value for value in personal if value in signed] == list(personal)


def test_the_privacy_notice_gives_the_contact_it_refers_to(client, weifang_open, item):
    page = client.get(form_url(weifang_open, item)).content.decode()
    notice = page[page.index('id="privacy-notice"') :]
    notice = notice[: notice.index("</div>")]
    assert "本页的联系方式" not in notice
    assert weifang_open.contact_email in notice and weifang_open.issuer.full_name in notice


def test_the_lookup_error_is_headed_as_a_lookup(client, db):
    page = client.post(
        "/comments/status/", {"tracking_number": "ABCD2345", "proof": "0000"}
    ).content.decode()
    assert "查询未成功" in page and "提交未成功" not in page


def test_numbers_are_written_as_in_the_notice_and_bodies_do_not_repeat_headings(
    client, weifang_open, item
):
    page = client.get(weifang_open.get_absolute_url()).content.decode()
    assert "一、 总体要求" in page and "1． 分类推进海洋特色产业集聚区建设" in page
    section = weifang_open.clauses.get(label="二")
    form = client.get(form_url(weifang_open, section)).content.decode()
    assert "第 二 条" not in form
    clause = page[page.index(f'id="clause-{item.pk}"') :]
    text = clause[clause.index('class="clause-text"') :]
    assert not re.sub(r"<[^>]+>", "", text).strip().startswith(item.heading)


def test_english_pages_use_english_punctuation_and_name_the_language(client, weifang_open, item):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    for url in ("/", weifang_open.get_absolute_url(), form_url(weifang_open, item)):
        page = client.get(url).content.decode()
        main = page[page.index("<main") :]
        assert "：" not in re.sub(r"<[^>]+>", "", main).replace(weifang_open.title, ""), url
        assert "（Beijing time）" not in page and "(Beijing time)" in page, url
    page = client.get("/").content.decode()
    assert ">English</option>" in page and "英语" not in page


def test_the_chinese_menu_names_english_in_english(client, db):
    page = client.get("/").content.decode()
    assert ">English</option>" in page and ">简体中文</option>" in page


# 19. Status timeline, counter and draft --------------------------------------------------


def test_the_status_page_shows_the_way_and_the_expected_answer_date(client, weifang_open, item):
    comment = organisation_comment(weifang_open, item)
    page = client.get(
        reverse("intake:comment_status_signed", kwargs={"token": status_token(comment)})
    ).content.decode()
    steps = re.findall(r'class="step step-(\w+)( done)?"', page)
    assert steps == [
        ("received", " done"),
        ("routed", " done"),
        ("in_progress", ""),
        ("answered", ""),
    ]
    assert "由市发改委负责答复" in page
    deadline = weifang_open.answer_deadline.astimezone(
        datetime.timezone(datetime.timedelta(hours=8))
    )
    # A deadline at a day's last second is that date; this fixture's is to the second.
    shown = f"{deadline.year}年{deadline.month}月{deadline.day}日"
    if (deadline.hour, deadline.minute, deadline.second) != (23, 59, 59):
        shown += f" {deadline:%H:%M:%S}"
    assert f"预计在 {shown}（北京时间）前答复" in page


def test_the_form_carries_a_counter_and_its_script(client, weifang_open, item):
    page = client.get(form_url(weifang_open, item)).content.decode()
    assert 'id="body-count"' in page and "consult/comment_form.js" in page
    assert "<script>" not in page  # the CSP allows only the site's own script files


# 14. The site's own pages ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "words"),
    [("privacy", "隐私政策"), ("accessibility", "无障碍声明"), ("terms", "使用条款")],
)
def test_the_footer_links_the_sites_own_pages(client, db, name, words):
    home = client.get("/").content.decode()
    footer = home[home.index("<footer") :]
    url = reverse(f"intake:{name}")
    assert f'href="{url}"' in footer
    response = client.get(url)
    assert response.status_code == 200 and f"<h1>{words}</h1>" in response.content.decode()


def test_the_consultation_footer_gives_the_issuers_contact(client, weifang_open):
    page = client.get(weifang_open.get_absolute_url()).content.decode()
    footer = page[page.index("<footer") :]
    assert weifang_open.issuer.full_name in footer and weifang_open.contact_email in footer


def test_robots_txt_points_to_the_sitemap_which_lists_the_consultations(client, weifang_open):
    robots = client.get("/robots.txt")
    assert robots.status_code == 200 and robots["Content-Type"].startswith("text/plain")
    text = robots.content.decode()
    assert "Sitemap: http://testserver/sitemap.xml" in text and "Disallow: /comments/" in text
    sitemap = client.get("/sitemap.xml")
    assert sitemap.status_code == 200
    xml = sitemap.content.decode()
    assert f"<loc>http://testserver{weifang_open.get_absolute_url()}</loc>" in xml
    assert "/receipt/" not in xml and "/comment/" not in xml
    # No address the sitemap offers is one robots.txt keeps crawlers from.
    disallowed = [
        re.compile(re.escape(line.split(":", 1)[1].strip()).replace(r"\*", "[^/]*"))
        for line in text.splitlines()
        if line.startswith("Disallow:")
    ]
    for location in re.findall(r"<loc>http://testserver([^<]*)</loc>", xml):
        assert not any(rule.match(location) for rule in disallowed), location


# 15. Search, filters, pages -------------------------------------------------------------


@pytest.fixture
def many(weifang_open):
    """Twelve more consultations: closed, of two years, one about fishing ports."""
    closes = weifang_open.opens_at - datetime.timedelta(days=40)
    made = []
    for n in range(12):
        opens = closes - datetime.timedelta(days=30 + 200 * (n % 2))
        made.append(
            Consultation.objects.create(
                title=f"第{n}号征求意见稿" + ("（渔港管理）" if n == 3 else ""),
                slug=f"draft-{n}",
                issuer=weifang_open.issuer,
                opens_at=opens,
                closes_at=opens + datetime.timedelta(days=30),
            )
        )
    return made


def titles(response):
    return [c.title for c in response.context["consultations"]]


def test_the_list_is_paginated(client, weifang_open, many):
    first = client.get("/")
    assert len(titles(first)) == 10 and titles(first)[0] == weifang_open.title
    second = client.get("/?page=2")
    assert len(titles(second)) == 3
    assert 'rel="prev"' in second.content.decode()


def test_the_list_filters_by_status_words_issuer_and_year(client, weifang_open, many):
    assert titles(client.get("/?status=open")) == [weifang_open.title]
    assert client.get("/?status=closed").context["page"].paginator.count == 12
    assert titles(client.get("/?q=渔港")) == [many[3].title]
    # Words in a clause's text find its consultation.
    assert titles(client.get("/?q=链主企业")) == [weifang_open.title]
    year = many[1].opens_at.astimezone(datetime.timezone(datetime.timedelta(hours=8))).year
    # Every page: on the day the suite runs, all thirteen may open in one year (ten a page).
    first = client.get(f"/?year={year}")
    by_year = [
        title
        for number in range(1, first.context["page"].paginator.num_pages + 1)
        for title in titles(client.get(f"/?year={year}&page={number}"))
    ]
    assert many[1].title in by_year
    assert all(
        c.opens_at.astimezone(datetime.timezone(datetime.timedelta(hours=8))).year == year
        for c in Consultation.objects.filter(title__in=by_year)
    )
    other = client.get(f"/?issuer={weifang_open.issuer.pk}&status=open&q=海洋")
    assert titles(other) == [weifang_open.title]
    assert titles(client.get("/?q=没有这样的词")) == []


def test_a_bad_filter_value_is_ignored_not_an_error(client, weifang_open):
    response = client.get("/?year=abc&status=nonsense&issuer=999999&page=x")
    assert response.status_code == 200 and titles(response) == [weifang_open.title]
