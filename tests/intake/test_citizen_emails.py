"""The emails a citizen gets read as their language writes: in English, no full-width
punctuation around what the site says, the HTML part marked with the language it is in, and
the time a comment was received labelled as Beijing time."""

import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.template.loader import render_to_string
from django.utils import translation

from consult.comments.services import comment_submit
from consult.comments.workflow import CommentChange, comment_change_apply
from consult.consultations.models import Department
from consult.consultations.services import staff_join

pytestmark = pytest.mark.django_db

CLAUSE = "二(三)4"  # 市工信局 answers, two departments cooperate
BODY = "建议在数字化转型专项中明确中小企业的申报条件。"
NAME = "李雷"
FULL_WIDTH = re.compile(r"[：（）、，；。]")


def submitted(consultation, language, django_capture_on_commit_callbacks):
    with translation.override(language), django_capture_on_commit_callbacks(execute=True):
        return comment_submit(
            consultation=consultation,
            clause=consultation.clauses.get(label=CLAUSE),
            body=BODY,
            channel="web",
            consent=True,
            submitter_name=NAME,
            email="li@example.org",
        ).comment


def to_citizen():
    return [m for m in mail.outbox if m.to == ["li@example.org"]]


def html_of(message) -> str:
    return next(body for body, kind in message.alternatives if kind == "text/html")


def site_words(text: str, comment) -> str:
    """The text without what was imported or typed in Chinese (title, clause, departments, the
    comment, the name): what is left is what the site itself says."""
    imported = [
        comment.consultation.title,
        f"{comment.clause.label} {comment.clause.heading}",
        BODY,
        NAME,
        *(route.department.name for route in comment.routes.all()),
    ]
    for words in sorted(imported, key=len, reverse=True):
        text = text.replace(words, "").replace(str(words).replace("&", "&amp;"), "")
    return text


def test_an_english_receipt_punctuates_in_english_and_says_beijing_time(
    weifang_open, django_capture_on_commit_callbacks
):
    comment = submitted(weifang_open, "en", django_capture_on_commit_callbacks)
    (receipt,) = to_citizen()
    html = html_of(receipt)
    for part in (receipt.body, html):
        assert not FULL_WIDTH.findall(site_words(part, comment)), part
        assert "Beijing time" in part
        assert f"Dear {NAME}," in part
    assert re.search(r'<html lang="en">.*<title>[^<]+</title>', html, re.S)
    departments = [r.department.name for r in comment.routes.order_by("position")]
    assert ", ".join(departments) in receipt.body


def test_a_chinese_receipt_stays_chinese(weifang_open, django_capture_on_commit_callbacks):
    submitted(weifang_open, "zh-hans", django_capture_on_commit_callbacks)
    (receipt,) = to_citizen()
    assert f"{NAME}：" in receipt.body
    assert "（北京时间）" in receipt.body and "、" in receipt.body
    assert '<html lang="zh-hans">' in html_of(receipt)


def test_an_english_reply_punctuates_in_english(weifang_open, django_capture_on_commit_callbacks):
    comment = submitted(weifang_open, "en", django_capture_on_commit_callbacks)
    mail.outbox.clear()
    owner = get_user_model().objects.create_user("gxj", is_staff=True)
    staff_join(owner, Department.objects.get(name="市工信局"))
    with translation.override("zh-hans"), django_capture_on_commit_callbacks(execute=True):
        comment_change_apply(
            comment,
            owner,
            CommentChange(
                status="answered", decision="adopted", reply="Adopted.", waive_reason="急需答复"
            ),
        )
    (reply,) = to_citizen()
    html = html_of(reply)
    assert '<html lang="en">' in html
    for part in (reply.body, html):
        assert not FULL_WIDTH.findall(site_words(part, comment)), part


def rendered(kind: str, context: dict, language: str) -> tuple[str, str]:
    with translation.override(language):
        return (
            render_to_string(f"notifications/email/{kind}.txt", context),
            render_to_string(f"notifications/email/{kind}.html", context),
        )


@pytest.fixture
def comment(weifang_open, django_capture_on_commit_callbacks):
    return submitted(weifang_open, "en", django_capture_on_commit_callbacks)


def test_the_report_email_in_english(comment):
    context = {
        "consultation": comment.consultation,
        "items": [{"comment": comment, "report_url": "http://x/r/", "status_url": "http://x/s/"}],
    }
    text, html = rendered("report_published", context, "en")
    assert '<html lang="en">' in html
    for part in (text, html):
        assert not FULL_WIDTH.findall(site_words(part, comment)), part


def test_the_revision_email_in_english_lists_clauses_with_english_commas(comment):
    context = {
        "consultation": comment.consultation,
        "is_final": False,
        "revision_number": 2,
        "revision_url": "http://x/c/",
        "outcomes": [
            {
                "tracking_number": comment.tracking_number,
                "clause": "二(三)4",
                "kind": "split",
                "to": ["二(三)4", "二(三)5"],
                "changes_url": "http://x/c/#old-1",
                "status_url": "http://x/s/",
            }
        ],
    }
    text, html = rendered("revision_published", context, "en")
    assert '<html lang="en">' in html
    for part in (text, html):
        assert "二(三)4: split into 二(三)4, 二(三)5" in part
        assert not FULL_WIDTH.findall(site_words(part, comment)), part


def test_the_opening_email_in_english(weifang_open):
    context = {
        "title": "Marine plan",
        "period": "1 November 2030 09:00 — 10 November 2030 23:59",
        "consultation_url": "http://x/c/",
        "issuer_name": "Weifang Bureau",
        "unsubscribe_url": "http://x/u/",
        "subscribed_to": "",
    }
    text, html = rendered("consultation_opened", context, "en")
    assert '<html lang="en">' in html
    for part in (text, html):
        assert "10 November 2030 23:59 (Beijing time)" in part
        assert not FULL_WIDTH.findall(part), part


EMAILS = settings.BASE_DIR / "templates" / "notifications" / "email"


@pytest.mark.parametrize("path", sorted(EMAILS.glob("*.html")), ids=lambda path: path.name)
def test_no_html_email_assumes_chinese(path):
    """Rendered without a request, an email has no LANGUAGE_CODE unless it asks for it: a
    default of "zh-hans" marked every English email Chinese."""
    source = path.read_text()
    if "<html" not in source:
        return  # a fragment another email includes
    assert "{% get_current_language as LANGUAGE_CODE %}" in source
    assert '<html lang="{{ LANGUAGE_CODE }}">' in source


def test_a_label_ending_a_line_leaves_no_trailing_space_in_english(comment):
    """'Your comment:' then a newline, not 'Your comment: ' (a full-width '：' in Chinese)."""
    english = mail.outbox[0].body
    assert not [line for line in english.splitlines() if line.endswith(" ")], english
    with translation.override("zh-hans"):
        chinese = render_to_string(
            "notifications/email/receipt.txt",
            {"items": [{"comment": comment, "departments": [], "status_url": "http://x/s/"}]},
        )
    assert "您的意见：\n" in chinese
