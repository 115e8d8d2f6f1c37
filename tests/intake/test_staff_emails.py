"""The emails a department gets read as English writes when rendered in English: no full-width
punctuation around what the site says, one HTML document per email (the transfer's note inside
it, not before its doctype), and the answer deadline to the second, in the language's format."""

import datetime
import re
import zoneinfo

import pytest
from django.utils import translation

from consult.comments.services import comment_submit
from consult.consultations.models import Consultation
from consult.notifications.models import Notification
from consult.notifications.rendering import emails_render

pytestmark = pytest.mark.django_db

CLAUSE = "二(三)4"  # 市工信局 answers, two departments cooperate
FULL_WIDTH = re.compile(r"[：（）、，；。《》]")
BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
def comment(weifang_open, django_capture_on_commit_callbacks):
    Consultation.objects.filter(pk=weifang_open.pk).update(
        closes_at=datetime.datetime(2031, 3, 1, 23, 59, 59, tzinfo=BEIJING), answer_days=30
    )  # answered by 31 March 2031, 23:59:59
    weifang_open.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        return comment_submit(
            consultation=weifang_open,
            clause=weifang_open.clauses.get(label=CLAUSE),
            body="建议明确申报条件。",
            channel="web",
            consent=True,
            submitter_name="李雷",
            organisation="某公司",
            email="li@example.org",
        ).comment


def site_words(text: str, comment) -> str:
    """What the site itself says: the text without the imported or typed Chinese."""
    imported = [
        comment.consultation.title,
        f"{comment.clause.label} {comment.clause.heading}",
        comment.body,
        comment.submitter_name,
        comment.organisation,
        "请提供生态方面意见。",
        *(route.department.full_name or route.department.name for route in comment.routes.all()),
        *(route.department.name for route in comment.routes.all()),
    ]
    for words in sorted(imported, key=len, reverse=True):
        text = text.replace(words, "")
    return text


def rendered(notification, language="en"):
    with translation.override(language):
        ((subject, text, html),) = emails_render([[notification]])
    return subject, text, html


def to_owner(comment, kind):
    owner = comment.routes.get(is_owner=True).department
    return Notification.objects.get(comment=comment, department=owner, kind=kind)


@pytest.mark.parametrize("kind", ["comment_routed", "reassigned"])
def test_a_departments_email_in_english_punctuates_in_english(comment, kind):
    notification = to_owner(comment, "comment_routed")
    if kind == "reassigned":
        notification.pk = None
        notification.kind = kind
        notification.key += ":again"
        notification.context = {**notification.context, "reason": "请提供生态方面意见。"}
        notification.save()
    _, text, html = rendered(notification)
    for part in (text, html):
        assert not FULL_WIDTH.findall(site_words(part, comment)), part
        assert "Beijing time" in part


def test_the_answer_deadline_is_given_to_the_second_in_the_languages_format(comment):
    _, text, html = rendered(to_owner(comment, "comment_routed"))
    for part in (text, html):
        assert "31 March 2031, 23:59:59" in part, part
    _, text, _ = rendered(to_owner(comment, "comment_routed"), "zh-hans")
    assert "2031年3月31日 23:59:59（北京时间）" in text


def test_the_transfer_email_is_one_html_document_with_its_reason_inside(comment):
    notification = to_owner(comment, "comment_routed")
    notification.pk, notification.kind, notification.key = None, "reassigned", "k:again"
    notification.context = {**notification.context, "reason": "请提供生态方面意见。"}
    notification.save()
    _, text, html = rendered(notification)
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert html.lower().count("<html") == 1
    body = html.split("<body", 1)[1]
    assert "passed to your department" in body and "请提供生态方面意见。" in body
    assert "请提供生态方面意见。" in text


def test_an_english_reminder_punctuates_in_english(comment):
    from django.template.loader import render_to_string

    consultation = comment.consultation
    department = comment.routes.get(is_owner=True).department
    context = {
        "reminder": "closing",
        "consultation": consultation,
        "department": department,
        "total": 2,
        "clauses": [{"clause": CLAUSE, "count": 2, "owned": 1}],
        "departments": [],
        "queue_url": "http://x/q/",
    }
    with translation.override("en"):
        for name in ("reminder.txt", "reminder.html"):
            part = render_to_string(f"notifications/email/{name}", context)
            assert not FULL_WIDTH.findall(site_words(part, comment)), part
