"""What every public page shows: the site's contact, a clause's number and text as written, and
the language of what was imported."""

import re

from django import template
from django.conf import settings
from django.utils import translation
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

from consult.intake.presenters import (
    clause_body,
    clause_url,
    imported_html,
    imported_text_language,
)
from consult.text import CHINESE_CHARACTERS

register = template.Library()


@register.simple_tag
def site_contact() -> dict:
    """The body running the site, from SITE_CONTACT (name, address, phone, email)."""
    return settings.SITE_CONTACT


register.filter("clause_body", clause_body)
register.simple_tag(clause_url, name="clause_url")


# What a notice brings (titles, clauses, department names) is Chinese whatever the page's
# language: marked so, a screen reader reads it as Chinese on an English page.
@register.simple_tag
def imported_lang() -> str:
    """` lang="zh-Hans"` for an element holding imported text, unless the page is Chinese."""
    language = imported_text_language()
    return format_html(' lang="{}"', language) if language else ""


# Chinese characters: the basic block, its extensions, the compatibility ones and 〇.
_CHINESE = re.compile(f"[\u3007{CHINESE_CHARACTERS}\uf900-\ufaff]")
# Kana, but not ・ and ー, which Chinese writes too ("马克・吐温").
_KANA = re.compile("[\u3040-\u309f\u30a0-\u30fa\u30fd-\u30ff\u31f0-\u31ff\uff66-\uff9d]")
_HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
# Written the same in any language, a link or an email address says nothing of the text's. A
# host may be written in Chinese (例子.中国), but the rest ends where ASCII does: Chinese is
# written without spaces, and "请发邮件到abc@example.com或者打电话" is Chinese around the
# address. (So the Chinese of a link's path counts: "see https://baike.baidu.com/item/海洋经济"
# reads as Chinese when its words are fewer.)
_LABEL = r"(?:[A-Za-z0-9-]+|[^\x00-\x7f\s，。；：！？、（）《》“”「」]+)"
_LINK_OR_ADDRESS = re.compile(
    rf"(?:https?|ftp)://{_LABEL}(?:\.{_LABEL})*(?::\d+)?(?:[/?#][!-~]*)?"
    rf"|(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@{_LABEL}(?:\.{_LABEL})+"
    r"|(?<![A-Za-z0-9.@-])(?:www\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/[!-~]*"
    r"|www\.[!-~]+",
    re.IGNORECASE,
)
# A title, or a few words quoted, in the other language: "建议参考《The Stern Review》" is
# Chinese; a long quotation is most of what the citizen wrote, and counts.
_QUOTED = re.compile('《[^》]{1,80}》|“[^”]{1,40}”|「[^」]{1,40}」|『[^』]{1,40}』|"[^"]{1,40}"')
# A run of letters of none of those scripts: a word of English, or an acronym such as GDP. Not
# full-width letters (ＧＤＰ), which only a Chinese input method types.
_OTHER_WORD = re.compile("[^\\W\\d_\uff21-\uff3a\uff41-\uff5a]+")


def text_language(text: str) -> str:
    """The language a citizen wrote `text` in, for a `lang` attribute: the script most of it
    is in (Chinese characters and words in other letters counted alike), zh-Hans, en, or ko and
    ja for Korean and Japanese (kana in at least a quarter of its characters); "" when it has no
    words. Links, email addresses and, where anything is left outside them, quotations are left
    out."""
    text = _LINK_OR_ADDRESS.sub(" ", text or "")
    outside_quotes = _QUOTED.sub(" ", text)
    if _OTHER_WORD.search(outside_quotes):  # Chinese characters are word characters too
        text = outside_quotes
    chinese, kana, hangul = (len(p.findall(text)) for p in (_CHINESE, _KANA, _HANGUL))
    for script in (_CHINESE, _KANA, _HANGUL):
        text = script.sub(" ", text)
    other_words = len(_OTHER_WORD.findall(text))
    if hangul > max(chinese + kana, other_words):
        return "ko"
    if kana and 4 * kana >= chinese + kana and chinese + kana > other_words:
        return "ja"
    if not chinese and not other_words:
        return ""
    return "zh-Hans" if chinese >= other_words else "en"


@register.simple_tag
def written_lang(text: str) -> str:
    """` lang="…"` for a citizen's text in a language other than the page's (`text_language`):
    an English comment on a Chinese page, or a Chinese one on an English page, is then read in
    its own language's voice. Not by the page it was sent from: Chinese is written from English
    pages too. Words, not letters: a Chinese sentence with a link or "GDP" in it was marked
    English."""
    written = text_language(text)
    page = (translation.get_language() or settings.LANGUAGE_CODE).lower()
    if not written or page.split("-")[0] == written.lower().split("-")[0]:
        return ""
    return format_html(' lang="{}"', written)


@register.filter
def imported(value) -> str:
    """Imported text (a title, a department's name) wrapped in a span marked as Chinese, unless
    the page is Chinese: for where it sits inside a translated sentence or beside site text."""
    return imported_html(value)


@register.filter
def imported_joined(values, separator) -> str:
    """Each of `values` as `imported` marks it, joined by the site's own `separator` (left out
    of the marks: ", " on an English page is English)."""
    # Every part escaped: the separator here, each value by imported_html.
    return mark_safe(  # noqa: S308
        conditional_escape(separator).join(imported_html(value) for value in values)
    )
