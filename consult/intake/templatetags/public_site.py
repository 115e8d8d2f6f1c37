"""What every public page shows: the site's contact, and a clause's number and text as written."""

from django import template
from django.conf import settings

from consult.intake.presenters import clause_body

register = template.Library()


@register.simple_tag
def site_contact() -> dict:
    """The body running the site, from SITE_CONTACT (name, address, phone, email)."""
    return settings.SITE_CONTACT


register.filter("clause_body", clause_body)
