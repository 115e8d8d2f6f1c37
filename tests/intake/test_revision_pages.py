"""The public revision pages (what changed, clause by clause; an earlier text as published), the
current text on the consultation page, and a comment's outcome on its status page and API."""

import datetime
import re

import pytest
from django.urls import reverse

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.comments.status_links import status_token
from consult.intake.revision_pages import text_difference
from consult.reports.models import AdoptionReport, ReportClause
from tests.support.revisions import weifang_second_draft

pytestmark = pytest.mark.django_db


def submit(consultation, clause, n, **extra):
    return comment_submit(
        consultation=consultation,
        clause=clause,
        body=f"第{n}条意见：建议明确集聚区评价指标并公开结果。",
        channel="web",
        consent=True,
        phone="13812345678",
        **extra,
    ).comment


@pytest.fixture
def first(weifang_open):
    return weifang_open.current_revision


def _changes_url(consultation, number=2):
    return reverse("intake:revision_changes", args=[consultation.slug, number])


def test_the_difference_is_grouped_into_readable_runs():
    pieces = text_difference("推进集聚区建设，打造海洋人才高地。", "推进集聚区高质量建设。")
    assert [(p.op, p.text) for p in pieces if p.op != "same"]
    assert "".join(p.text for p in pieces if p.op != "ins") == "推进集聚区建设，打造海洋人才高地。"
    assert "".join(p.text for p in pieces if p.op != "del") == "推进集聚区高质量建设。"
    assert text_difference("相同的文字。", "相同的文字。")[0].op == "same"


def _section(page, clause):
    section = page[page.index(f'id="clause-{clause.pk}"') :]
    return section[: section.index("</li>")]


def test_the_changes_page_shows_each_clause_beside_its_predecessor(client, weifang_open, first):
    dropped = first.clauses.get(label="二(三)3")
    merged = first.clauses.get(label="二(五)2")
    comments = [submit(weifang_open, merged, i) for i in range(3)]
    Comment.objects.filter(pk=comments[0].pk).update(status="answered", decision="adopted")
    Comment.objects.filter(pk=comments[1].pk).update(status="answered", decision="explained")
    second = weifang_second_draft(weifang_open)

    response = client.get(_changes_url(weifang_open))
    assert response.status_code == 200
    page = response.content.decode()
    # Insertions and deletions marked for eyes, paper and screen readers alike.
    assert re.search(r'<ins><span class="visually-hidden">插入：</span>[^<]+', page)
    assert re.search(r'<del><span class="visually-hidden">删除：</span>[^<]+', page)
    assert "revisions.css" in page
    # The merged clause: both predecessors and the departments; no count of the comments or
    # of the decisions before the report on the first draft is published.
    new_item = second.clauses.get(label="二(五)1")
    section = _section(page, new_item)
    assert "合并" in section and f'id="old-{merged.pk}"' in section
    assert "原条款收到的意见" not in section and "采纳" not in section
    assert "原责任单位" in section and "现责任单位" in section
    # The dropped clause is listed too, under its anchor, named in full ("二(三)3", not a bare
    # "3．" among the others: a review) and linked to where the first draft has it.
    assert f'id="old-{dropped.pk}"' in page
    removed = page[page.index(f'id="dropped-{dropped.pk}"') :]
    removed = removed[: removed.index("</li>")]
    assert f"二(三)3 {dropped.heading}" in removed
    assert f'/revisions/1/#clause-{dropped.pk}"' in removed
    assert page.count(f'id="old-{merged.pk}"') == 1
    # No personal data from the comments.
    assert "13812345678" not in page and "138****5678" not in page


def test_the_changes_page_shows_the_decisions_as_the_published_report_states_them(
    client, weifang_open, first, django_assert_max_num_queries
):
    merged = first.clauses.get(label="二(五)2")
    for i in range(3):
        submit(weifang_open, merged, i)
    second = weifang_second_draft(weifang_open)
    report = AdoptionReport.objects.create(
        consultation=weifang_open,
        revision=first,
        generated_at=weifang_open.opens_at,
        published_at=weifang_open.closes_at + datetime.timedelta(days=1),
    )
    # The report's own figures, which the page shows (no comment is counted for it).
    ReportClause.objects.create(
        report=report, clause=merged, position=1, comments=3, adopted=2, explained=1
    )
    with django_assert_max_num_queries(40) as queries:
        page = client.get(_changes_url(weifang_open) + "?report").content.decode()
    assert not [q for q in queries if "comments_comment" in q["sql"]]
    section = _section(page, second.clauses.get(label="二(五)1"))
    assert "原条款收到的意见" in section and "3 条" in section
    assert "采纳 2" in section and "已说明 1" in section and "不予采纳 0" in section


def test_the_changes_page_links_to_the_report_line_of_the_old_clause(client, weifang_open, first):
    clause = first.clauses.get(label="二(二)2")
    submit(weifang_open, clause, 1)
    weifang_second_draft(weifang_open)
    report = AdoptionReport.objects.create(
        consultation=weifang_open, revision=first, generated_at=weifang_open.opens_at
    )
    line = ReportClause.objects.create(report=report, clause=clause, position=1, comments=1)
    page = client.get(_changes_url(weifang_open)).content.decode()
    assert f"#line-{line.pk}" not in page  # the report is not public yet
    report.published_at = weifang_open.closes_at + datetime.timedelta(days=1)
    report.save(update_fields=["published_at"])
    client.cookies.clear()
    page = client.get(_changes_url(weifang_open) + "?fresh").content.decode()
    # The report on the first draft, which the old clause belongs to.
    first_report = reverse("intake:revision_report", args=[weifang_open.slug, 1])
    assert f"{first_report}#line-{line.pk}" in page
    assert client.get(first_report).status_code == 200


def test_revision_pages_are_public_and_shared_with_anonymous_visitors(client, weifang_open):
    weifang_second_draft(weifang_open)
    for url in (
        _changes_url(weifang_open),
        reverse("intake:revision", args=[weifang_open.slug, 1]),
        reverse("intake:revision", args=[weifang_open.slug, 2]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "public" in response["Cache-Control"]


def test_an_unpublished_revision_is_not_found(client, weifang_open):
    weifang_second_draft(weifang_open, publish=False)
    assert client.get(_changes_url(weifang_open)).status_code == 404
    assert client.get(reverse("intake:revision", args=[weifang_open.slug, 2])).status_code == 404
    assert client.get(_changes_url(weifang_open, 1)).status_code == 404  # nothing before 1
    assert client.get(_changes_url(weifang_open, 9)).status_code == 404


def test_an_unpublished_revision_s_clauses_are_not_found_on_the_published_comments(
    client, weifang_open
):
    """Their headings showed on each clause's published-comments page, ids one after another."""
    second = weifang_second_draft(weifang_open, publish=False)
    clause = second.clauses.get(label="二(四)1")
    slug = weifang_open.slug
    page = client.get(reverse("intake:clause_published_comments", args=[slug, clause.pk]))
    assert page.status_code == 404
    assert clause.heading not in page.content.decode()
    api = client.get(f"/api/consultations/{slug}/published-comments/", {"clause": clause.pk})
    assert api.status_code == 404
    published = weifang_open.current_revision.clauses.get(label="二(四)1")
    assert (
        client.get(
            reverse("intake:clause_published_comments", args=[slug, published.pk])
        ).status_code
        == 200
    )


def test_the_consultation_shows_and_takes_comments_on_the_current_text_only(
    client, weifang_open, first
):
    old_dropped = first.clauses.get(label="二(三)3")
    second = weifang_second_draft(weifang_open)
    page = client.get(weifang_open.get_absolute_url()).content.decode()
    assert "加快海洋产业数字赋能" in page
    assert f'id="clause-{old_dropped.pk}"' not in page
    assert f'id="clause-{second.clauses.get(label="二(四)1").pk}"' in page
    assert reverse("intake:revision", args=[weifang_open.slug, 1]) in page
    assert _changes_url(weifang_open) in page
    # The earlier text stays readable, its dropped clause included, with no comment button.
    earlier = client.get(reverse("intake:revision", args=[weifang_open.slug, 1])).content.decode()
    assert f'id="clause-{old_dropped.pk}"' in earlier
    assert "对本条提意见" not in earlier
    # A comment on an earlier revision's clause is not taken: its form says where it went.
    url = reverse("intake:clause_comment_create", args=[weifang_open.slug, old_dropped.pk])
    assert client.get(url).status_code == 410
    # The API's clause tree is the current one too.
    data = client.get(reverse("intake:api_consultation", args=[weifang_open.slug])).json()
    ids = set()

    def walk(clauses):
        for clause in clauses:
            ids.add(clause["id"])
            walk(clause["children"])

    walk(data["clauses"])
    assert ids == set(second.clauses.values_list("pk", flat=True))


def test_the_status_page_shows_where_the_clause_went(client, weifang_open, first):
    comment = submit(weifang_open, first.clauses.get(label="二(三)3"), 1)
    url = reverse("intake:comment_status_signed", args=[status_token(comment)])
    assert "去向" not in client.get(url).content.decode()
    weifang_second_draft(weifang_open)
    page = client.get(url).content.decode()
    assert "您的意见所涉条款在修改稿中的去向" in page
    assert "第2稿" in page and "二(三)3 已删除" in page
    assert f"{_changes_url(weifang_open)}#old-{comment.clause_id}" in page


def test_the_clause_links_lead_to_the_draft_that_shows_it(client, weifang_open, first):
    """After the second draft they led to the consultation's page, which has no such clause."""
    clause = first.clauses.get(label="二(三)3")
    comment = submit(weifang_open, clause, 1)
    status = reverse("intake:comment_status_signed", args=[status_token(comment)])
    published = reverse("intake:clause_published_comments", args=[weifang_open.slug, clause.pk])
    on_the_consultation = f'href="{weifang_open.get_absolute_url()}#clause-{clause.pk}"'
    assert on_the_consultation in client.get(status).content.decode()

    weifang_second_draft(weifang_open)
    first_draft = reverse("intake:revision", args=[weifang_open.slug, 1])
    on_the_first_draft = f'href="{first_draft}#clause-{clause.pk}"'
    assert on_the_first_draft in client.get(status).content.decode()
    assert on_the_first_draft in client.get(published).content.decode()
    assert f'id="clause-{clause.pk}"' in client.get(first_draft).content.decode()


def test_the_status_api_lists_the_outcomes(client, weifang_open, first):
    comment = submit(weifang_open, first.clauses.get(label="二(五)2"), 1)
    api = reverse("intake:api_comment_status", args=[comment.tracking_number])
    assert client.get(api, {"phone_last4": "5678"}).json()["clause_outcomes"] == []
    second = weifang_second_draft(weifang_open)
    (outcome,) = client.get(api, {"phone_last4": "5678"}).json()["clause_outcomes"]
    merged_into = second.clauses.get(label="二(五)1")
    assert outcome["revision"] == 2
    assert outcome["kind"] == "merged"
    assert outcome["from_clause"] == comment.clause_id
    assert outcome["to_clauses"] == [merged_into.pk]
    assert outcome["to_labels"] == ["二(五)1"]
    assert outcome["changes_url"].endswith(f"{_changes_url(weifang_open)}#old-{comment.clause_id}")


def test_the_openapi_schema_documents_the_outcomes(client, db):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    status = schema["components"]["schemas"]["CommentStatus"]
    assert "clause_outcomes" in status["properties"]
    outcome = schema["components"]["schemas"]["ClauseOutcome"]
    assert set(outcome["properties"]) >= {"revision", "kind", "to_clauses", "changes_url"}
    kind = outcome["properties"]["kind"]
    ref = kind.get("$ref") or kind.get("allOf", [{}])[0].get("$ref", "")
    enum = kind.get("enum") or schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]["enum"]
    assert {"kept", "reworded", "merged", "split", "dropped"} <= set(enum)


def test_the_downloads_are_of_the_current_text(client, weifang_open, first):
    dropped = first.clauses.get(label="二(三)3")
    weifang_second_draft(weifang_open)
    printed = client.get(reverse("intake:draft_print", args=[weifang_open.slug])).content.decode()
    assert dropped.heading not in printed
    assert "科学编制集聚区发展规划" in printed  # new in the second draft
    source = client.get(reverse("intake:draft_source", args=[weifang_open.slug]))
    assert "第二次征求意见" in source.content.decode("utf-8")


def test_the_final_text_is_not_called_a_draft_for_comment(client, weifang_open):
    """Published as the final text, the page, its print version and its Word file still said
    "（征求意见稿）", and the links offered "下载征求意见稿"."""
    import io

    from docx import Document

    from consult.comments.revision_outcomes import revision_publish
    from consult.consultations.revisions import links_confirm
    from consult.notices.importer import revision_import
    from consult.notices.parser import parse_notice
    from tests.support.revisions import DRAFT2, first_draft_closed

    first_draft_closed(weifang_open)
    source = DRAFT2.read_text("utf-8")
    final = revision_import(
        parsed=parse_notice(source), consultation=weifang_open, source_text=source, final=True
    )
    links_confirm(final.links.all(), by=None)
    revision_publish(final)
    weifang_open.refresh_from_db()
    slug = weifang_open.slug
    page = client.get(weifang_open.get_absolute_url()).content.decode()
    printed = client.get(reverse("intake:draft_print", args=[slug])).content.decode()
    word = client.get(reverse("intake:draft_docx", args=[slug])).content
    lines = [p.text for p in Document(io.BytesIO(word)).paragraphs]
    title = f"《{weifang_open.draft_title}》"
    for shown in (page, printed):
        line = re.search(r'class="draft-title">(.*?)</p>', shown, re.S).group(1)
        assert re.sub(r"<[^>]+>", "", line) == title
    assert title in lines and f"{title}（征求意见稿）" not in lines
    assert "下载正式文本（Word）" in page and "下载正式文本（PDF）" in page
    assert "下载征求意见稿" not in page
