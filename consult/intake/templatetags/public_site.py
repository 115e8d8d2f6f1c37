"""What every public page shows: the site's contact, a clause's number and text as written, and
the language of what was imported."""

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


@register.simple_tag
def written_lang(language: str) -> str:
    """` lang="…"` for a citizen's text written in `language` (a comment's), unless the page is
    in that language: an English comment on a Chinese page, or a Chinese one on an English page,
    is read in its own language's voice."""
    page = (translation.get_language() or settings.LANGUAGE_CODE).lower()
    written = (language or settings.LANGUAGE_CODE).lower()
    if written.split("-")[0] == page.split("-")[0]:
        return ""
    return format_html(' lang="{}"', "zh-Hans" if written.startswith("zh") else written)


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
