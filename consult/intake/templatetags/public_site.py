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


# Chinese characters, the basic block and its extensions.
_CHINESE = re.compile("[\u3400-\u9fff\U00020000-\U0003134f]")


@register.simple_tag
def written_lang(text: str) -> str:
    """` lang="…"` for a citizen's text in a language other than the page's, told by its
    letters (a third of them Chinese characters: Chinese; otherwise English): an English
    comment on a Chinese page, or a Chinese one on an English page, is read in its own
    language's voice. Not by the page it was sent from: Chinese is written from English pages
    too."""
    text = text or ""
    letters = sum(char.isalpha() for char in text)
    if not letters:
        return ""
    written = "zh-Hans" if 3 * len(_CHINESE.findall(text)) >= letters else "en"
    page = (translation.get_language() or settings.LANGUAGE_CODE).lower()
    if page.split("-")[0] == written.lower().split("-")[0]:
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
