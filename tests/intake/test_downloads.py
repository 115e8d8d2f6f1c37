"""The draft as published: the original text, a .docx and a PDF with the clause numbering,
and a printable page."""

import io
import urllib.parse

import pytest
from docx import Document

from consult.consultations.models import Clause
from consult.intake import drafts
from tests.factories import (
    ClauseFactory,
    ConsultationFactory,
    DepartmentFactory,
    add_responsibility,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("level", "number", "written"),
    [
        (Clause.Level.CN, "一", "一、"),
        (Clause.Level.CN, "二、", "二、"),
        (Clause.Level.PAREN, "(一)", "（一）"),
        (Clause.Level.PAREN, "（三）", "（三）"),
        (Clause.Level.ARABIC, "1", "1．"),
        (Clause.Level.ARABIC, "2.", "2."),
        (Clause.Level.ARTICLE, "第一条", "第一条"),
    ],
)
def test_numbers_are_written_as_the_notice_writes_them(level, number, written):
    assert Clause(level=level, number=number).printed_number == written


@pytest.fixture
def draft():
    """一、总体要求 / 二、主要任务 （一）… 1. … with a lead and a cooperating department."""
    consultation = ConsultationFactory(
        title="关于加快海洋特色产业集聚区建设的实施意见（征求意见稿）",
        slug="marine",
        source_text="潍坊市海洋发展和渔业局\n关于……公开征求意见的通知\n一、总体要求\n",
    )
    first = ClauseFactory(
        consultation=consultation,
        position=1,
        number="一",
        level=Clause.Level.CN,
        heading="总体要求",
        text="以习近平新时代中国特色社会主义思想为指导。",
    )
    second = ClauseFactory(
        consultation=consultation,
        position=2,
        number="二",
        level=Clause.Level.CN,
        heading="主要任务",
        text="",
    )
    paren = ClauseFactory(
        consultation=consultation,
        parent=second,
        position=1,
        number="(一)",
        level=Clause.Level.PAREN,
        heading="优化集聚区布局",
        text="",
    )
    item = ClauseFactory(
        consultation=consultation,
        parent=paren,
        position=1,
        number="1",
        level=Clause.Level.ARABIC,
        heading="分类推进集聚区建设",
        text="分类推进集聚区建设。坚持陆海统筹。",
    )
    add_responsibility(item, "lead", DepartmentFactory(name="市海渔局"))
    add_responsibility(item, "cooperating", "各县市区人民政府")
    return consultation, [first, second, paren, item]


def test_the_original_text_is_served_as_utf8_text_with_its_title_as_filename(client, draft):
    consultation, _clauses = draft
    response = client.get(f"/consultations/{consultation.slug}/draft.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode("utf-8") == consultation.source_text
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert urllib.parse.quote(f"{consultation.title}.txt") in disposition
    assert "public" in response["Cache-Control"]


def test_a_draft_without_original_text_has_no_text_download(client):
    consultation = ConsultationFactory(source_text="")
    assert client.get(f"/consultations/{consultation.slug}/draft.txt").status_code == 404


def test_an_unknown_draft_is_not_found(client):
    for suffix in ("draft.txt", "draft.docx", "draft.pdf", "print/"):
        assert client.get(f"/consultations/nope/{suffix}").status_code == 404


def test_the_docx_has_title_issuer_period_and_numbered_clauses_with_departments(client, draft):
    consultation, _clauses = draft
    response = client.get(f"/consultations/{consultation.slug}/draft.docx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment;" in response["Content-Disposition"]
    document = Document(io.BytesIO(response.content))
    lines = [paragraph.text for paragraph in document.paragraphs]
    assert lines[0] == consultation.title
    assert "发布单位：潍坊市海洋发展和渔业局" in lines
    assert any(line.startswith("征求意见时间：") and "北京时间" in line for line in lines)
    clauses = lines[lines.index("一、 总体要求") :]
    assert clauses == [
        "一、 总体要求",
        "以习近平新时代中国特色社会主义思想为指导。",
        "二、 主要任务",
        "（一） 优化集聚区布局",
        # The text that starts with its heading is one paragraph, as in the notice.
        "1． 分类推进集聚区建设。坚持陆海统筹。",
        "（牵头单位：市海渔局；责任/配合单位：各县市区人民政府）",
    ]
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == ["一、 总体要求", "二、 主要任务"]


def test_the_docx_leaves_out_characters_word_cannot_hold(client, draft):
    """A title or clause text carrying a control character (pasted from a PDF into the admin)
    made the download a 500: python-docx refuses them."""
    consultation, clauses = draft
    type(consultation).objects.filter(pk=consultation.pk).update(
        title="关于加快海洋特色产业\x0c集聚区建设的实施意见"
    )
    Clause.objects.filter(pk=clauses[0].pk).update(
        text="以习近平新时代\x0b中国特色社会主义思想为指导。"
    )
    # The issuer's name is the document's author too, in its properties.
    type(consultation.issuer).objects.filter(pk=consultation.issuer_id).update(
        full_name="潍坊市海洋\x1b发展和渔业局"
    )
    response = client.get(f"/consultations/{consultation.slug}/draft.docx")
    assert response.status_code == 200
    document = Document(io.BytesIO(response.content))
    assert document.core_properties.author == "潍坊市海洋发展和渔业局"
    lines = [p.text for p in document.paragraphs]
    assert lines[0] == "关于加快海洋特色产业集聚区建设的实施意见"
    assert "以习近平新时代中国特色社会主义思想为指导。" in lines


def test_the_printable_page_has_the_numbered_tree_and_a_print_stylesheet(client, draft):
    consultation, _clauses = draft
    response = client.get(f"/consultations/{consultation.slug}/print/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "consult/print.css" in page
    numbered = ("一、 总体要求", "（一） 优化集聚区布局", "1． 分类推进集聚区建设。坚持陆海统筹。")
    for text in numbered:
        assert text in page
    assert "牵头单位：市海渔局" in page
    assert page.index("一、 总体要求") < page.index("二、 主要任务") < page.index("（一）")


def test_the_printable_page_in_english_punctuates_as_english_does(client, draft, settings):
    """Labels and lists came out with Chinese full-width punctuation on the English page."""
    consultation, _clauses = draft
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(f"/consultations/{consultation.slug}/print/").content.decode()
    assert '(Lead department: <span lang="zh-Hans">市海渔局</span>; ' in page
    assert "（" + "Lead department" not in page and "Lead department：" not in page
    assert "(Beijing time)" in page


@pytest.mark.skipif(drafts.cjk_font() is None, reason="no Chinese font installed")
def test_the_pdf_is_a_pdf_with_the_draft(client, draft):
    consultation, _clauses = draft
    response = client.get(f"/consultations/{consultation.slug}/draft.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert urllib.parse.quote(f"{consultation.title}.pdf") in response["Content-Disposition"]


def test_without_a_chinese_font_the_pdf_link_leads_to_the_printable_page(
    client, draft, monkeypatch
):
    consultation, _clauses = draft
    monkeypatch.setattr(drafts, "CJK_FONTS", [])
    response = client.get(f"/consultations/{consultation.slug}/draft.pdf")
    assert response.status_code == 302
    assert response["Location"] == f"/consultations/{consultation.slug}/print/"


def test_downloads_refuse_a_post(client, draft):
    consultation, _clauses = draft
    assert client.post(f"/consultations/{consultation.slug}/draft.docx").status_code == 405


def test_the_imported_weifang_notice_downloads_whole(client, weifang_open):
    """The real notice: every clause of the tree is in the .docx with its written number."""
    response = client.get(f"/consultations/{weifang_open.slug}/draft.docx")
    text = "\n".join(p.text for p in Document(io.BytesIO(response.content)).paragraphs)
    assert weifang_open.clauses.count() > 10
    for start in (
        "一、 总体要求",
        "二、 主要任务",
        "（一） 优化海洋特色产业集聚区布局",
        "1． 分类推进",
    ):
        assert start in text
    original = client.get(f"/consultations/{weifang_open.slug}/draft.txt")
    assert original.content.decode("utf-8") == weifang_open.source_text


def test_the_word_file_of_one_draft_is_the_same_bytes_each_time(draft):
    """python-docx dates each part of the zip when it saves: the same draft was other bytes,
    and another ETag, from each worker and after each cache period (found by a review)."""
    import time_machine
    from django.utils import timezone

    consultation, _clauses = draft
    first = drafts.draft_docx(consultation)
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=3)):
        assert drafts.draft_docx(consultation) == first


@pytest.mark.skipif(drafts.cjk_font() is None, reason="no CJK font")
def test_the_pdf_leaves_out_control_characters_as_the_word_file_does(draft, caplog):
    """Pasted from a PDF, a vertical tab or an escape showed as a missing glyph, and stood in
    the document's title (found by a review)."""
    import logging

    from consult.consultations.models import Consultation

    consultation, clauses = draft
    Consultation.objects.filter(pk=consultation.pk).update(
        title="关于加快海洋特色产业\x0b集聚区建设的实施意见"
    )
    Clause.objects.filter(pk=clauses[0].pk).update(text="以新时代\x1b中国特色社会主义思想为指导。")
    consultation.refresh_from_db()
    caplog.set_level(logging.WARNING, logger="fpdf")
    content = drafts.draft_pdf(consultation)
    assert not [r for r in caplog.records if "missing the following glyphs" in r.getMessage()]
    assert b"000b" not in content


def test_a_later_draft_s_downloads_say_which_draft_they_are(client, weifang_open):
    """The second draft's printout, Word file and PDF read as the first's, under its name: two
    drafts compared offline could not be told apart (found by a review)."""
    from tests.support.revisions import weifang_second_draft

    weifang_second_draft(weifang_open)
    slug = weifang_open.slug
    printed = client.get(f"/consultations/{slug}/print/").content.decode()
    assert "（第2稿）</p>" in printed
    word = client.get(f"/consultations/{slug}/draft.docx")
    lines = [p.text for p in Document(io.BytesIO(word.content)).paragraphs[:4]]
    assert any(line.endswith("（第2稿）") for line in lines)
    disposition = urllib.parse.unquote(word["Content-Disposition"])
    assert f"{weifang_open.title}（第2稿）.docx" in disposition
