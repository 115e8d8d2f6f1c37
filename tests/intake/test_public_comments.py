"""The published comments in public: the consent on the form and in the API, the lists per
clause and for the whole consultation, their API, caching, escaping and the absence of any
personal data or tracking number."""

import datetime
import re

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from consult.comments.models import Comment
from consult.comments.publication import comment_publish
from consult.comments.services import comment_submit
from consult.comments.workflow import CommentChange, comment_change_apply
from consult.consultations.models import Department, Revision
from consult.consultations.services import staff_join

pytestmark = pytest.mark.django_db

NAME, PHONE, EMAIL, ORGANISATION = "李秀英", "13912345678", "lxy@example.cn", "寿光某某水产公司"
BODY = f"建议公开评选结果。我是{NAME}，电话 {PHONE}，邮箱 {EMAIL}。"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> 建议公开评选结果。'


@pytest.fixture
def bureau(weifang_open):
    user = User.objects.create_user("hyj", password="pw")
    staff_join(user, Department.objects.get(name="市海渔局"))
    return user


@pytest.fixture
def item(weifang_open):
    return weifang_open.clauses.get(label="二(三)4")


def published(consultation, bureau, *, clause, body=BODY, **extra):
    comment = comment_submit(
        consultation=consultation,
        clause=clause,
        body=body,
        channel="web",
        consent=True,
        publish_consent=True,
        submitter_name=NAME,
        submitter_kind="company",
        organisation=ORGANISATION,
        phone=PHONE,
        email=EMAIL,
        **extra,
    ).comment
    return comment_publish(comment=comment, user=bureau)


def clause_list(consultation, clause):
    return reverse("intake:clause_published_comments", args=[consultation.slug, clause.pk])


def assert_nothing_personal(text: str, comment: Comment):
    for personal in (NAME, PHONE, EMAIL, ORGANISATION, comment.tracking_number):
        assert personal not in text


# The form and the API take the consent ------------------------------------------------------


def test_the_form_offers_the_consent_unticked_with_what_is_and_is_not_published(
    client, weifang_open, item
):
    page = client.get(reverse("intake:clause_comment_create", args=[weifang_open.slug, item.pk]))
    box = page.context["form"]["publish_consent"]
    html = str(box)
    assert 'type="checkbox"' in html and "checked" not in html
    assert 'aria-describedby="id_publish_consent_helptext"' in html
    text = page.content.decode()
    assert "同意公开本条意见（不公开姓名、联系方式等个人信息）" in text
    assert "姓名、单位名称、电话和电子邮箱一律不公开" in text and "发布单位审核" in text


def test_a_web_comment_keeps_the_consent_to_publish_when_given(client, weifang_open, item):
    url = reverse("intake:clause_comment_create", args=[weifang_open.slug, item.pk])
    base = {"body": BODY, "kind": "individual", "consent": "on"}
    assert client.post(url, base).status_code == 302
    assert client.post(url, {**base, "body": BODY + "另外。", "publish_consent": "on"}).status_code
    first, second = Comment.objects.order_by("pk")
    assert (first.publish_consent, first.publication) == (False, "private")
    assert (second.publish_consent, second.publication) == (True, "awaiting")


def test_the_api_takes_the_consent_and_the_status_says_where_it_stands(
    client, weifang_open, bureau
):
    url = f"/api/consultations/{weifang_open.slug}/comments/"
    answer = client.post(
        url,
        {"body": BODY, "consent": True, "publish_consent": True, "phone": PHONE},
        content_type="application/json",
    )
    assert answer.status_code == 201
    number = answer.json()["tracking_number"]
    status_url = f"/api/comments/{number}/status?phone_last4=5678"
    assert client.get(status_url).json()["publication"] == "awaiting"
    # An input method's full-width digits, read as the POST lookup reads them (a review).
    full_width = client.get(f"/api/comments/{number}/status?phone_last4=５６７８")
    assert full_width.status_code == 200 and full_width.json()["publication"] == "awaiting"
    comment_publish(comment=Comment.objects.get(tracking_number=number), user=bureau)
    body = client.get(status_url).json()
    assert body["publication"] == "published" and body["publication_display"]

    refused = client.post(
        url,
        {"body": BODY, "consent": True, "publish_consent": "yes"},
        content_type="application/json",
    )
    assert refused.status_code == 400 and "publish_consent" in refused.json()


def test_the_openapi_document_describes_the_consent(client):
    schema = client.get("/api/schema/", headers={"accept": "application/json"}).json()
    components = schema["components"]["schemas"]
    consent = components["CommentSubmission"]["properties"]["publish_consent"]
    assert consent["type"] == "boolean" and "Never published" in consent["description"]
    assert "publication" in components["CommentStatus"]["properties"]
    assert any("published-comments" in path for path in schema["paths"])


def test_the_status_page_says_whether_the_comment_is_published(client, weifang_open, bureau):
    comment = published(weifang_open, bureau, clause=None)
    page = client.post(
        "/comments/status/", {"tracking_number": comment.tracking_number, "proof": "5678"}
    )
    assert page.context["publication"][0] == "published"
    assert "已公开" in page.content.decode()


def status_link_to_published(client, comment) -> str:
    from consult.comments.status_links import status_token

    page = client.get(f"/comments/{status_token(comment)}/").content.decode()
    return re.search(r'<dd id="publication"[^>]*>[^<]*<a href="([^"]+)"', page).group(1)


def test_the_status_page_links_to_the_page_of_the_list_the_comment_is_on(
    client, weifang_open, bureau, item
):
    """The lists run newest first, 20 a page: an older comment is on a later page, and two
    received in the same second are ordered as the list orders them."""
    start = datetime.datetime.now(datetime.UTC)
    comments = []
    for n in range(21):
        moment = start + datetime.timedelta(minutes=max(n, 1))  # 0 and 1 share a second
        with time_machine.travel(moment, tick=False):
            body = f"第{n}条：建议公开评选结果。"
            comments.append(published(weifang_open, bureau, clause=item, body=body))
    oldest, tied, newest = comments[0], comments[1], comments[-1]
    base = clause_list(weifang_open, item)
    assert status_link_to_published(client, oldest) == f"{base}?page=2#comment-{oldest.pk}"
    assert status_link_to_published(client, tied) == f"{base}#comment-{tied.pk}"
    assert status_link_to_published(client, newest) == f"{base}#comment-{newest.pk}"
    for comment in (oldest, tied):
        link = status_link_to_published(client, comment)
        listed = client.get(link.split("#")[0]).content.decode()
        assert f'id="comment-{comment.pk}"' in listed


def test_a_comment_on_the_whole_draft_links_to_its_page_of_the_whole_list(
    client, weifang_open, bureau, item
):
    start = datetime.datetime.now(datetime.UTC)
    with time_machine.travel(start, tick=False):
        whole = published(weifang_open, bureau, clause=None, body="对全文：建议公开评选结果。")
    for n in range(20):  # on a clause, newer: they push it to the second page of the whole list
        with time_machine.travel(start + datetime.timedelta(minutes=n + 1), tick=False):
            published(weifang_open, bureau, clause=item, body=f"第{n}条：建议公开评选结果。")
    whole_list = reverse("intake:published_comments", args=[weifang_open.slug])
    assert status_link_to_published(client, whole) == f"{whole_list}?page=2#comment-{whole.pk}"


# The public lists ---------------------------------------------------------------------------


def test_the_clause_list_shows_published_comments_without_personal_data(
    client, weifang_open, bureau, item
):
    shown = published(weifang_open, bureau, clause=item)
    comment_submit(  # awaiting review: not shown
        consultation=weifang_open,
        clause=item,
        body="尚未审核的意见，不应出现在公开列表中。",
        channel="web",
        consent=True,
        publish_consent=True,
    )
    page = client.get(clause_list(weifang_open, item))
    assert page.status_code == 200
    text = page.content.decode()
    assert f'id="comment-{shown.pk}"' in text and "建议公开评选结果" in text
    assert "139****5678" in text and "l***@example.cn" in text and "企业" in text
    assert "尚未审核的意见" not in text
    assert_nothing_personal(text, shown)

    whole = client.get(reverse("intake:published_comments", args=[weifang_open.slug]))
    assert f'id="comment-{shown.pk}"' in whole.content.decode()
    assert_nothing_personal(whole.content.decode(), shown)


def test_the_lists_are_newest_first_and_paginated(client, weifang_open, bureau, item):
    start = datetime.datetime.now(datetime.UTC)
    for n in range(22):
        with time_machine.travel(start + datetime.timedelta(minutes=n), tick=False):
            published(weifang_open, bureau, clause=item, body=f"第{n}条：建议公开评选结果。")
    first = client.get(clause_list(weifang_open, item))
    numbers = [item.body for item in first.context["published"]]
    assert numbers[0].startswith("第21条") and len(numbers) == 20
    second = client.get(clause_list(weifang_open, item), {"page": "2"})
    assert [item.body[:3] for item in second.context["published"]] == ["第1条", "第0条"]
    assert client.get(clause_list(weifang_open, item), {"page": "abc"}).status_code == 200


def test_a_clause_of_another_consultation_is_not_found(client, weifang_open, item):
    unknown = f"/consultations/{weifang_open.slug}/clauses/999999/published-comments/"
    assert client.get(unknown).status_code == 404
    assert client.get("/consultations/nope/published-comments/").status_code == 404


def test_hostile_text_is_escaped_in_the_page_and_the_admin_preview(
    client, weifang_open, bureau, item
):
    comment = published(weifang_open, bureau, clause=item, body=HOSTILE)
    text = client.get(clause_list(weifang_open, item)).content.decode()
    assert "<script>alert" not in text and "<img src=x" not in text
    assert "&lt;script&gt;" in text
    root = User.objects.create_superuser("root", password="pw")
    client.force_login(root)
    review = client.get(
        "/admin/comments/commentforpublication/", {"publication": "published"}
    ).content.decode()
    assert f"#{comment.pk}" in review and "<script>alert" not in review


def test_the_consultation_page_links_each_clause_list_with_its_count_without_counting(
    client, weifang_open, bureau, item
):
    published(weifang_open, bureau, clause=item)
    published(weifang_open, bureau, clause=item, body="建议每年公布评选结果。")
    with CaptureQueriesContext(connection) as queries:
        page = client.get(weifang_open.get_absolute_url())
    assert not [q["sql"] for q in queries if '"comments_comment"' in q["sql"]]
    text = page.content.decode()
    assert clause_list(weifang_open, item) in text and "2 条公开意见" in text
    assert page.context["published_total"] == 2
    detail = client.get(f"/api/consultations/{weifang_open.slug}/").json()
    assert detail["published_comment_count"] == 2
    counts = {}

    def walk(clauses):
        for clause in clauses:
            counts[clause["id"]] = clause["published_comment_count"]
            walk(clause["children"])

    walk(detail["clauses"])
    assert counts[item.pk] == 2


def test_the_api_lists_published_comments_without_personal_data(client, weifang_open, bureau, item):
    comment = published(weifang_open, bureau, clause=item)
    url = f"/api/consultations/{weifang_open.slug}/published-comments/"
    body = client.get(url, {"clause": str(item.pk)}).json()
    assert body["count"] == 1 and body["results"][0]["number"] == comment.pk
    assert body["results"][0]["submitter_kind"] == "company"
    assert body["results"][0]["submitter_kind_display"] == "企业"
    assert body["results"][0]["answer"] is None
    assert_nothing_personal(str(body), comment)
    assert client.get(url).json()["count"] == 1
    assert client.get(url, {"clause": "x"}).json() == {"clause": ["应为条款编号（正整数）。"]}
    assert client.get(url, {"page": "0"}).status_code == 400
    assert client.get(url, {"clause": "999999"}).status_code == 404


def test_the_answer_appears_once_the_report_is_published(client, weifang_open, bureau):
    item = weifang_open.clauses.get(label="二(四)2")  # answered by 市生态环境局 alone
    comment = published(weifang_open, bureau, clause=item)
    owner = User.objects.create_user("sthj", password="pw")
    staff_join(owner, Department.objects.get(name="市生态环境局"))
    comment_change_apply(
        comment,
        owner,
        CommentChange(status="answered", decision="partly_adopted", reply="感谢建议，将逐年公开。"),
    )
    url = clause_list(weifang_open, item)
    assert "将逐年公开" not in client.get(url).content.decode()
    # What reports.services.report_publish does: the answers go public with the report on
    # the revision the comment was written on.
    weifang_open.report_published_at = timezone.now()
    weifang_open.save(update_fields=["report_published_at"])
    Revision.objects.filter(pk=weifang_open.current_revision_id).update(
        report_published_at=timezone.now()
    )
    # Past the shared copy's lifetime, whatever PUBLIC_PAGES_MAX_AGE is.
    with time_machine.travel(datetime.timedelta(seconds=3600)):
        text = client.get(url).content.decode()
    assert "将逐年公开" in text and "部分采纳" in text


def test_the_lists_are_shared_copies_and_a_publish_shows_once_the_copy_expires(
    weifang_open, bureau, item, settings
):
    settings.PUBLIC_PAGES_MAX_AGE = 30
    visitor = Client(enforce_csrf_checks=True)
    url = clause_list(weifang_open, item)
    api = f"/api/consultations/{weifang_open.slug}/published-comments/"
    first = visitor.get(url)
    for response in (first, visitor.get(api)):
        cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
        assert {"public", "max-age=30"} <= cache_control
        assert b"csrfmiddlewaretoken" not in response.content and not response.cookies
    assert visitor.get(url, headers={"If-None-Match": first["ETag"]}).status_code == 304
    comment = published(weifang_open, bureau, clause=item)
    assert f"comment-{comment.pk}" not in visitor.get(url).content.decode()  # the copy
    with time_machine.travel(datetime.timedelta(seconds=31)):
        assert f"comment-{comment.pk}" in visitor.get(url).content.decode()


def test_the_sitemap_and_the_privacy_page_name_the_published_comments(
    client, weifang_open, bureau, item
):
    published(weifang_open, bureau, clause=item)
    sitemap = client.get("/sitemap.xml").content.decode()
    assert reverse("intake:published_comments", args=[weifang_open.slug]) in sitemap
    privacy = client.get(reverse("intake:privacy")).content.decode()
    assert "同意公开本条意见" in privacy and "永不公开" in privacy
    robots = client.get("/robots.txt").content.decode()
    assert "Allow: /consultations/*/clauses/*/published-comments/" in robots


def test_a_comment_left_unanswered_by_the_published_report_says_so_and_links_the_report(
    client, weifang_open, bureau
):
    """It went on saying its answer would appear once the report was published, after it was."""
    item = weifang_open.clauses.get(label="二(四)2")
    published(weifang_open, bureau, clause=item)
    url = clause_list(weifang_open, item)
    assert "答复将在意见采纳情况公布后显示" in client.get(url).content.decode()
    [row] = client.get(f"/api/consultations/{weifang_open.slug}/published-comments/").json()[
        "results"
    ]
    assert row["answer"] is None and row["unanswered_in_report"] is None
    from consult.reports.models import AdoptionReport
    from consult.reports.services import report_generate

    report = report_generate(weifang_open)
    now = timezone.now()
    AdoptionReport.objects.filter(pk=report.pk).update(
        published_at=now, unanswered_reason="涉及多个部门，需进一步研究。"
    )
    weifang_open.report_published_at = now
    weifang_open.save(update_fields=["report_published_at"])
    Revision.objects.filter(pk=weifang_open.current_revision_id).update(report_published_at=now)
    with time_machine.travel(datetime.timedelta(seconds=3600)):
        page = client.get(url).content.decode()
    assert "答复将在意见采纳情况公布后显示" not in page
    report = reverse("intake:revision_report", args=[weifang_open.slug, 1])
    assert f'尚未答复，原因见<a href="{report}">' in page
    assert "涉及多个部门" in client.get(report).content.decode()
    # The API told it from a comment whose report is not out: "answer": null for both.
    api = f"/api/consultations/{weifang_open.slug}/published-comments/"
    with time_machine.travel(datetime.timedelta(seconds=3600)):
        [row] = client.get(api).json()["results"]
    assert row["answer"] is None and row["unanswered_in_report"] == 1


def test_the_answers_are_not_a_page_of_landmarks_with_one_name(client, weifang_open, bureau):
    item = weifang_open.clauses.get(label="二(四)2")
    comment = published(weifang_open, bureau, clause=item)
    owner = User.objects.create_user("sthj", password="pw")
    staff_join(owner, Department.objects.get(name="市生态环境局"))
    comment_change_apply(
        comment, owner, CommentChange(status="answered", decision="adopted", reply="采纳。")
    )
    Revision.objects.filter(pk=weifang_open.current_revision_id).update(
        report_published_at=timezone.now()
    )
    page = client.get(clause_list(weifang_open, item)).content.decode()
    assert "采纳。" in page and "<section" not in page.split('class="published-comment"', 1)[1]
