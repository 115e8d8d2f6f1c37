"""Chinese first, English complete."""

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

LOCALE = Path(__file__).resolve().parents[2] / "locale" / "en" / "LC_MESSAGES"


def catalog(path):
    with open(path, "rb") as handle:
        return gettext.GNUTranslations(handle)._catalog


def test_every_message_has_an_english_translation(tmp_path):
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "gettext's msgfmt is needed (scripts/system-deps installs it)"
    result = subprocess.run(
        [
            msgfmt,
            "--statistics",
            "--check",
            "-o",
            str(tmp_path / "django.mo"),
            str(LOCALE / "django.po"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr
    # The committed catalogue is the compiled .po, not an older one.
    assert catalog(LOCALE / "django.mo") == catalog(tmp_path / "django.mo")


def test_the_catalogue_holds_every_message_the_source_has(tmp_path):
    """Messages added to the code since the catalogue was last made were shown in Chinese on
    the English pages (a reminder's field label, an importer's refusal), and the test above,
    which reads the catalogue alone, passed. `makemessages` on a copy of the source, merged
    with the committed catalogue as it merges, leaves nothing untranslated or fuzzy."""
    root = LOCALE.parents[2]
    for name in ("consult", "templates", "locale"):
        shutil.copytree(root / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(root / "manage.py", tmp_path)
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CONSULT_"))},
        "DEBUG": "true",
        "SECRET_KEY": "makemessages-only",
        "CONSULT_VAR_DIR": str(tmp_path / "var"),
    }
    environment.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "en", "-v", "0"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        check=True,
    )
    made = tmp_path / "locale" / "en" / "LC_MESSAGES" / "django.po"
    for wanted in ("--untranslated", "--only-fuzzy"):
        left = subprocess.run(
            ["msgattrib", wanted, "--no-obsolete", str(made)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        msgids = re.findall(r'^msgid "(.*)"\n((?:".*"\n)*)', left, re.MULTILINE)
        assert [first + rest for first, rest in msgids if first or rest] == [], wanted


def test_the_site_speaks_chinese_by_default(client, weifang_open):
    page = client.get(weifang_open.get_absolute_url()).content.decode()
    assert "对本条提意见" in page
    assert 'lang="zh-hans"' in page


def test_the_language_switch_turns_the_site_english(client, weifang_open):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    # Remembered past the browser's session, as the privacy page says.
    cookie = response.cookies["django_language"]
    assert cookie["max-age"] == 365 * 24 * 60 * 60 and cookie["samesite"] == "Lax"
    page = client.get(weifang_open.get_absolute_url()).content.decode()
    assert 'lang="en"' in page
    assert "Comment on this clause" in page
    assert "对本条提意见" not in page
    item = weifang_open.clauses.get(label="二(一)1")
    form = client.get(f"/consultations/{weifang_open.slug}/clauses/{item.pk}/comment/")
    html = form.content.decode()
    assert "Personal information notice" in html
    assert "Closes at" in html or "Comment period" in html
    assert "截止时间" not in html


def test_english_dates_are_written_the_english_way(client, weifang_open):
    page = client.get(weifang_open.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    local = weifang_open.closes_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert local.strftime("%B %Y") in page
    # The Weifang draft itself names years (到2027年), so look for the whole Chinese date.
    assert f"{local.year}年{local.month}月{local.day}日" not in page


def test_imported_chinese_is_marked_as_such_on_english_pages(client, weifang_open):
    """Titles, clauses and department names come from the notice, in Chinese: on an English
    page they say so, for screen readers and hyphenation; on a Chinese page nothing needs to."""
    from consult.comments.services import comment_submit
    from consult.comments.status_links import status_token

    item = weifang_open.clauses.get(label="二(一)1")
    comment = comment_submit(
        consultation=weifang_open,
        clause=item,
        body="建议公开集聚区评选的标准和结果。",
        channel="web",
        consent=True,
    ).comment
    english = {"HTTP_ACCEPT_LANGUAGE": "en"}
    detail = client.get(weifang_open.get_absolute_url(), **english).content.decode()
    assert '<h1 lang="zh-Hans">' in detail
    clause = f'<li id="clause-{item.pk}" class="clause level-{item.level}">'
    assert f'{clause}\n  <h3 class="clause-heading" lang="zh-Hans">' in detail
    assert '<div class="clause-text" lang="zh-Hans">' in detail
    assert '<span lang="zh-Hans">市发改委</span>' in detail
    assert f'<a href="#clause-{item.pk}" lang="zh-Hans">' in detail  # the table of contents
    listing = client.get("/", **english).content.decode()
    assert '<h2 lang="zh-Hans"><a href="/consultations/' in listing
    assert '<span class="issuer" lang="zh-Hans">' in listing
    # English chosen on the site: a signed page otherwise speaks the comment's own language.
    chosen = {"HTTP_COOKIE": "django_language=en"}
    status = client.get(f"/comments/{status_token(comment)}/", **chosen).content.decode()
    assert f'<a href="{weifang_open.get_absolute_url()}" lang="zh-Hans">' in status
    assert '<span lang="zh-Hans">市发改委</span> (' in status
    assert "（" not in status.split("Routed to")[1].split("</dd>")[0]
    # The timeline's line of who answers and who cooperates: the site's words around names
    # each marked as Chinese.
    routed = re.search(r'<li class="step step-routed done">.*?</li>', status, re.S).group(0)
    assert '<span lang="zh-Hans">市发改委</span> answers; cooperating: <span lang=' in routed
    outside = re.sub(r'<span lang="zh-Hans">[^<]*</span>', "", routed)
    assert not re.search(r"[\u4e00-\u9fff]", outside), outside
    form_url = reverse("intake:clause_comment_create", args=[weifang_open.slug, item.pk])
    form = client.get(form_url, **english).content.decode()
    heading = form[form.index("<h1>") : form.index("</h1>")]
    assert f'<span lang="zh-Hans">{item.label}</span>' in heading
    privacy = form[form.index('id="privacy-notice"') :]
    assert f'<span lang="zh-Hans">{weifang_open.issuer.full_name}</span>' in privacy

    for path in (weifang_open.get_absolute_url(), "/", f"/comments/{status_token(comment)}/"):
        chinese = client.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert 'lang="zh-Hans"' not in chinese, path


def test_the_printable_draft_and_an_overdue_status_mark_their_chinese_names(client, weifang_open):
    """The draft's title line of the printable page, and the issuer named on an overdue
    comment's status page, were bare Chinese on English pages (found by a review)."""
    import datetime

    import time_machine

    from consult.comments.services import comment_submit
    from consult.comments.status_links import status_token

    english = {"HTTP_ACCEPT_LANGUAGE": "en"}
    printable = client.get(f"/consultations/{weifang_open.slug}/print/", **english)
    title_line = re.search(r'<p class="draft-title">.*?</p>', printable.content.decode()).group(0)
    assert f'<span lang="zh-Hans">{weifang_open.draft_title}</span>' in title_line
    comment = comment_submit(
        consultation=weifang_open,
        clause=weifang_open.clauses.get(label="二(一)1"),
        body="建议公开集聚区评选的标准和结果。",
        channel="web",
        consent=True,
    ).comment
    with time_machine.travel(weifang_open.answer_deadline + datetime.timedelta(days=1)):
        status = client.get(
            f"/comments/{status_token(comment)}/", HTTP_COOKIE="django_language=en"
        ).content.decode()
    due = re.search(r'<p id="answer-due">.*?</p>', status, re.S).group(0)
    outside = re.sub(r'<span lang="zh-Hans">[^<]*</span>', "", due)
    assert "contact <span lang=" in due and not re.search(r"[\u4e00-\u9fff]", outside)


def test_a_published_comment_is_marked_in_its_own_language(client, weifang_open):
    """An English comment on the English page was marked Chinese (every body was marked as
    imported text), and read in a Chinese voice (found by a review). Told by its letters, not
    by the page it was sent from: Chinese is written from English pages too (a review)."""
    from django.contrib.auth.models import User
    from django.utils import translation

    from consult.comments.publication import comment_publish
    from consult.comments.services import comment_submit
    from consult.consultations.models import Department
    from consult.consultations.services import staff_join

    bureau = User.objects.create_user("hyj", password="pw")
    staff_join(bureau, Department.objects.get(name="市海渔局"))
    clause = weifang_open.clauses.get(label="二(一)1")
    for body, language in (
        ("Please publish the criteria.", "en"),
        ("建议公开评选标准。", "en"),  # sent from the English page
    ):
        with translation.override(language):
            comment = comment_submit(
                consultation=weifang_open,
                clause=clause,
                body=body,
                channel="web",
                consent=True,
                publish_consent=True,
            ).comment
        comment_publish(comment=comment, user=bureau)
    url = f"/consultations/{weifang_open.slug}/published-comments/"
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<div class="published-body"><p>Please publish' in english
    assert '<div class="published-body" lang="zh-Hans"><p>建议公开' in english
    assert '<div class="published-body" lang="en"><p>Please publish' in chinese
    assert '<div class="published-body"><p>建议公开' in chinese


def test_a_form_shown_again_with_errors_says_so_in_its_title(client, weifang_open):
    from django.urls import reverse

    url = reverse(
        "intake:clause_comment_create",
        args=[weifang_open.slug, weifang_open.clauses.get(label="二(一)1").pk],
    )
    refused = client.post(url, {"body": ""}).content.decode()
    assert "<title>错误：提交意见" in refused
    assert "<title>提交意见" in client.get(url).content.decode()
    lookup = client.post("/comments/status/", {}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<title>Error: " in lookup


@pytest.mark.parametrize(
    ("text", "on_a_chinese_page", "on_an_english_page"),
    [
        # A link, an email address and acronyms do not make a Chinese comment English (they
        # did: told by letters, the link's outweighed the characters).
        (
            "建议参考 https://www.example.gov.cn/policy/2024/marine-industry-plan.html 的做法，"
            "并把GDP、R&D投入和WiFi覆盖率列入考核。",
            "",
            ' lang="zh-Hans"',
        ),
        ("材料请发 someone.long.name@example.com 邮箱", "", ' lang="zh-Hans"'),
        ("建议参考 Marine Spatial Planning 一书", "", ' lang="zh-Hans"'),
        # Nor do a few Chinese names make an English comment Chinese.
        ("I support clause 二(一)1 on the 潍坊 fisheries, with two changes.", ' lang="en"', ""),
        ("Please see https://例子.中国/路径 for details.", ' lang="en"', ""),
        ("有问题请写信到 info@例子.中国", "", ' lang="zh-Hans"'),
        ("13812345678 2024", "", ""),
        # A link or an address ends where ASCII does: Chinese written around it without
        # spaces is Chinese still.
        ("有问题请发邮件到abc@example.com或者打电话给我", "", ' lang="zh-Hans"'),
        ("https://example.com/a这个链接里的GDP数据和CPI数据已经过时", "", ' lang="zh-Hans"'),
        ("见 example.gov.cn/policy/2024/marine-industry-plan.html", "", ' lang="zh-Hans"'),
        # A quoted title in the other language does not decide; full-width letters are typed
        # only by a Chinese input method.
        ("建议参考《The Economics of Climate Change: The Stern Review》", "", ' lang="zh-Hans"'),
        ("The draft cites 《潍坊市海洋经济发展规划》 and I agree.", ' lang="en"', ""),
        ("ＧＤＰ ＣＰＩ ＰＭＩ 目标", "", ' lang="zh-Hans"'),
        # Neither Chinese nor English: read in its own voice on both pages.
        ("이 계획에 찬성합니다", ' lang="ko"', ' lang="ko"'),
        ("ありがとうございます", ' lang="ja"', ' lang="ja"'),
        ("この計画には反対です", ' lang="ja"', ' lang="ja"'),
        # ・ is written in Chinese too; a word of Korean or Japanese in English is English.
        ("建议参考迈克尔・波特的竞争理论", "", ' lang="zh-Hans"'),
        ("Thank you, ありがとう, I support the plan for 한국 fisheries.", ' lang="en"', ""),
        # A long quotation is most of what was written.
        (
            "我同意“The plan should be adopted as soon as possible by the city government”",
            ' lang="en"',
            "",
        ),
    ],
)
def test_a_text_is_told_chinese_or_english_by_its_words(
    text, on_a_chinese_page, on_an_english_page
):
    from django.utils import translation

    from consult.intake.templatetags.public_site import written_lang

    with translation.override("zh-hans"):
        assert written_lang(text) == on_a_chinese_page
    with translation.override("en"):
        assert written_lang(text) == on_an_english_page
