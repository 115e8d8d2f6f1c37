"""Dates and times as people in each language write them, in Beijing time."""

from django import template
from django.template.defaultfilters import date as date_filter
from django.utils.translation import pgettext_lazy

register = template.Library()

# Format strings are translated like any other text, so English gets "10 November 2024".
FORMATS = {
    "date": pgettext_lazy("date format", "Y年n月j日"),
    "minute": pgettext_lazy("date format", "Y年n月j日 H:i"),
    "second": pgettext_lazy("date format", "Y年n月j日 H:i:s"),
}


@register.filter(expects_localtime=True)
def moment(value, precision="minute"):
    """`precision` "deadline": a deadline at its day's last second (the notice's "X日前") as
    that date, which means through the whole day; any other to the second."""
    if precision == "deadline":
        precision = "date" if (value.hour, value.minute, value.second) == (23, 59, 59) else "second"
    return date_filter(value, str(FORMATS[precision]))
