"""What a reviewer found on the public pages and the receipt email, in both languages: the
report's wide table in a labelled region of its own, a closed consultation's time said to be
Beijing time, the English printable draft marking its Chinese as Chinese, and a receipt to a
citizen who gave no name starting with its first sentence."""

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.core import mail
from django.utils import timezone, translation

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.consultations.models import ClauseResponsibility, Consultation, Department
from consult.consultations.services import staff_join
from consult.intake.templatetags.moments import moment
from consult.reports.services import report_generate, report_publish, report_review
from tests.support.revisions import first_draft_closed

pytestmark = pytest.mark.django_db

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}
CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def period_over(consultation):
    """The comment period moved into the past (closed ten days ago)."""
    first_draft_closed(consultation)


def published_report(consultation, *, gist=""):
    """Three comments answered, the period over and the adoption report published."""
    for n in range(3):
        comment_submit(
            consultation=consultation,
            clause=consultation.clauses.get(label="二(四)2"),
            body=f"第{n}条：建议公开海洋生态修复项目的资金使用情况。",
            channel="web",
            consent=True,
            phone=f"1381234{n:04d}",
        )
    Comment.objects.update(status="answered", decision="partly_adopted", reply="部分采纳。")
    period_over(consultation)
    coordinator = User.objects.create_user("hyj")
    staff_join(coordinator, Department.objects.get(name="市海渔局"))
    coordinator.user_permissions.add(Permission.objects.get(codename="publish_report"))
    report = report_generate(consultation)
    if gist:
        report.lines.update(gist=gist)
    report_review(report, by=coordinator, counted_at=report.generated_at)
    report_publish(consultation)


@pytest.mark.parametrize("language", [ENGLISH, CHINESE])
def test_the_reports_table_of_lines_sits_in_a_focusable_labelled_region(
    client, weifang_open, language
):
    """WCAG 1.4.10 lets a data table scroll, in a region of its own a keyboard can scroll and
    a screen reader names: the page itself does not."""
    published_report(weifang_open)
    page = client.get(f"/consultations/{weifang_open.slug}/report/", **language).content.decode()
    region = re.search(r'<div class="table-scroll"([^>]*)>\s*<table class="report-lines">', page)
    assert region, "the table of lines is not in its own region"
    attributes = dict(re.findall(r'([\w-]+)="([^"]*)"', region.group(1)))
    assert attributes["role"] == "region" and attributes["tabindex"] == "0"
    heading = re.search(rf'<h2 id="{attributes["aria-labelledby"]}">([^<]+)</h2>', page)
    assert heading.group(1) == ("Clause by clause" if language is ENGLISH else "逐条采纳情况")
    assert page.count('role="region"') == 1  # the two-column totals fit a phone as they are


@pytest.mark.parametrize(
    "language, closed",
    [("zh-hans", "已于 {} 截止（北京时间）"), ("en", "Closed on {} (Beijing time)")],
)
def test_a_closed_consultation_in_the_list_gives_its_close_in_beijing_time(
    client, weifang_open, language, closed
):
    period_over(weifang_open)
    page = client.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    with translation.override(language):
        when = moment(timezone.localtime(weifang_open.closes_at), "second")
    assert f"<p>{closed.format(when)}</p>" in page


def test_the_english_printable_draft_marks_its_chinese_as_chinese(client, weifang_open):
    """Title, issuer, reference number, preamble, remarks, clause headings and text are the
    notice's Chinese on a page whose language is English; the period is not."""
    Consultation.objects.filter(pk=weifang_open.pk).update(reference_number="潍海渔发〔2024〕12号")
    path = f"/consultations/{weifang_open.slug}/print/"
    page = client.get(path, **ENGLISH).content.decode()
    assert '<html lang="en">' in page
    title, issuer = weifang_open.title, weifang_open.issuer.full_name or weifang_open.issuer.name
    assert f'<title lang="zh-Hans">{title}</title>' in page
    assert f'<h1 lang="zh-Hans">{title}</h1>' in page
    assert f'<dt>Issued by</dt><dd lang="zh-Hans">{issuer}</dd>' in page
    assert '<dd lang="zh-Hans">潍海渔发〔2024〕12号</dd>' in page
    assert re.search(r"<dt>Comment period</dt><dd>[^<]*\(Beijing time\)</dd>", page)
    for opening in ('<section class="preamble"', '<p class="remarks"'):
        assert f'{opening} lang="zh-Hans">' in page
    for opening in ("<h2", '<p class="clause-first"', '<div class="clause-text"'):
        assert page.count(opening) > 0
        assert page.count(opening) == page.count(f'{opening} lang="zh-Hans">'), opening
    # On the Chinese page nothing needs saying.
    chinese = client.get(path, **CHINESE).content.decode()
    assert '<html lang="zh-hans">' in chinese and 'lang="zh-Hans"' not in chinese


def test_the_printable_drafts_departments_are_marked_chinese_and_escaped(client, weifang_open):
    """The line under a clause naming its departments: the names are the notice's Chinese on
    the English page (the words around them are the site's), and a name is text, not markup."""
    ClauseResponsibility.objects.filter(
        clause__consultation=weifang_open, name="市生态环境局"
    ).update(name="市生态<b>环境</b>局")
    path = f"/consultations/{weifang_open.slug}/print/"
    page = client.get(path, **ENGLISH).content.decode()
    assert (
        '<p class="responsibilities">(Lead department: '
        '<span lang="zh-Hans">市生态&lt;b&gt;环境&lt;/b&gt;局</span>)</p>'
    ) in page
    lines = re.findall(r'<p class="responsibilities">(.*?)</p>', page)
    assert lines and all(
        re.fullmatch(
            r"\((Lead department: <span lang=\"zh-Hans\">[^<]+</span>)?(; )?"
            r"(Cooperating departments: <span lang=\"zh-Hans\">[^<]+</span>)?\)",
            line,
        )
        for line in lines
    ), lines
    chinese = client.get(path, **CHINESE).content.decode()
    assert "（牵头单位：市生态&lt;b&gt;环境&lt;/b&gt;局）" in chinese


def test_english_pages_mark_department_names_in_lists_and_clause_labels_read_aloud(
    client, weifang_open
):
    """Screen readers read these Chinese names and labels with an English voice: the issuers
    of the list's filter, the departments of the subscription form, and the clause label read
    after "Comment on this clause" (and after a clause's published comments' link)."""
    issuer = weifang_open.issuer
    for path in ("/", "/subscriptions/"):
        page = client.get(path, **ENGLISH).content.decode()
        assert re.search(rf'<option value="{issuer.pk}" lang="zh-Hans"[^>]*>', page), path
        assert '<option value="" lang=' not in page and '<option value=""' in page
        chinese = client.get(path, **CHINESE).content.decode()
        assert 'lang="zh-Hans"' not in chinese and f'<option value="{issuer.pk}"' in chinese
    page = client.get(weifang_open.get_absolute_url(), **ENGLISH).content.decode()
    hidden = re.findall(r'<span class="visually-hidden">((?:(?!</a>).)*)</span></a>', page)
    assert hidden and all(
        re.fullmatch(r' \(<span lang="zh-Hans">[^<]+</span>\)', h) for h in hidden
    )


def receipt_to(consultation, language, django_capture_on_commit_callbacks, **submitter):
    mail.outbox.clear()
    with translation.override(language), django_capture_on_commit_callbacks(execute=True):
        comment_submit(
            consultation=consultation,
            clause=consultation.clauses.get(label="二(三)4"),
            body="建议在数字化转型专项中明确中小企业的申报条件。",
            channel="web",
            consent=True,
            email="li@example.org",
            **submitter,
        )
    (receipt,) = [m for m in mail.outbox if m.to == ["li@example.org"]]
    html = next(body for body, kind in receipt.alternatives if kind == "text/html")
    return receipt.body, html


@pytest.mark.parametrize(
    "language, greeting, thanks",
    [("zh-hans", "李雷：", "感谢您对《"), ("en", "Dear 李雷,", "Thank you for your comment on “")],
)
def test_a_receipt_starts_with_its_greeting_or_without_a_name_its_thanks(
    weifang_open, django_capture_on_commit_callbacks, language, greeting, thanks
):
    text, html = receipt_to(weifang_open, language, django_capture_on_commit_callbacks)
    assert text.startswith(thanks), text[:80]
    assert re.search(r"<body [^>]*>\n<p>" + re.escape(thanks), html), html[:400]

    text, html = receipt_to(
        weifang_open, language, django_capture_on_commit_callbacks, submitter_name="李雷"
    )
    assert text.startswith(f"{greeting}\n\n{thanks}"), text[:80]
    assert re.search(rf"<body [^>]*>\n<p>{greeting}</p>\n<p>{re.escape(thanks)}", html)
